"""
Tests for L{ofx.octkeypass}: the manual's four functions, checked against
the gateway's side of the codec (L{ofx.wire.Codec}).
"""

from __future__ import annotations

import json
import socket

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from ofx import octkeypass, wire
from ofx.errors import OFXError

SECRET = "octkeypass-test-secret"
# Derived once for the module: Argon2id costs about 60 ms a time.
GATEWAY = wire.Codec(wire.derive_key(SECRET))

LOGIN_ANSWER = {
    "stat": 200,
    "tradeserver": "218.57.111.30",
    "authcode": "66227638",
    "tradeport": 11026,
    "uname": "demo",
    "quoteserver": "218.57.111.30",
    "quoteport": 11025,
}


class ManualSampleTests(SynchronousTestCase):
    """The sample program of the manual's section 九, run against the codec."""

    def test_sample_login_round_trip(self) -> None:
        """
        The manual's sample, with only its import changed (and made Python 3:
        print calls, the line encoded for sendall), sends a login the gateway
        can read and prints the gateway's answer.
        """
        client, gateway = socket.socketpair()
        self.addCleanup(client.close)
        self.addCleanup(gateway.close)

        # --- the manual's test_000001, as a Python 3 user would run it ---
        # (kept as the manual writes it, hence the noqa comments)
        cmd: dict[str, object] = dict()  # noqa: C408
        cmd["cmd"] = 1
        p = dict()  # noqa: C408
        p["username"] = "demo"
        p["password"] = "demo"
        cmd["params"] = p
        cstr = json.dumps(cmd)
        cstr = octkeypass.encrypt(SECRET, cstr)
        client.sendall(("%s\r\n" % cstr).encode("ascii"))  # noqa: UP031

        # --- the gateway's side ---
        line = gateway.makefile("rb").readline()
        self.assertTrue(line.endswith(b"\r\n"))
        request = GATEWAY.decode_request(line.rstrip(b"\r\n"))
        self.assertEqual(
            (request.cmd, request.params), (1, {"username": "demo", "password": "demo"})
        )
        gateway.sendall(GATEWAY.encode_answer(LOGIN_ANSWER) + b"\r\n")

        # --- back in the sample ---
        c = client.makefile().readline()
        self.assertEqual(json.loads(octkeypass.extract(c)), LOGIN_ANSWER)

    def test_encrypt_gives_one_ascii_line(self) -> None:
        """
        C{encrypt} returns text the sample can format into C{"%s\\r\\n"}:
        a str, pure ASCII, with no line ending of its own.
        """
        line = octkeypass.encrypt(SECRET, '{"cmd": 1}')
        self.assertIsInstance(line, str)
        self.assertTrue(line.isascii())
        self.assertNotIn("\n", line)
        self.assertNotIn("\r", line)

    def test_encrypt_is_what_the_gateway_reads(self) -> None:
        """A request sealed by C{encrypt} decodes on the gateway to the same JSON."""
        text = json.dumps({"cmd": "100001", "params": {"code": "600000", "market": "SH"}})
        request = GATEWAY.decode_request(octkeypass.encrypt(SECRET, text).encode("ascii"))
        self.assertEqual(request, wire.Request(100001, None, {"code": "600000", "market": "SH"}))

    def test_same_request_never_repeats_on_the_wire(self) -> None:
        """Sealing the same JSON twice gives two different lines (a fresh nonce each time)."""
        text = '{"cmd": 1}'
        self.assertNotEqual(octkeypass.encrypt(SECRET, text), octkeypass.encrypt(SECRET, text))

    def test_chinese_text_survives(self) -> None:
        """Chinese text in a request and in an answer arrives unchanged."""
        text = json.dumps({"cmd": 1, "params": {"username": "张三"}}, ensure_ascii=False)
        self.assertEqual(octkeypass.decrypt(SECRET, octkeypass.encrypt(SECRET, text)), text)
        answer = json.dumps({"stat": 200, "ticker_name": "浦发银行"}, ensure_ascii=False)
        self.assertEqual(octkeypass.extract(octkeypass.compress(answer)), answer)

    def test_extract_reads_the_gateways_answer_line(self) -> None:
        """C{extract} decodes the gateway's answer line, as bytes or str, with CRLF or LF."""
        line = GATEWAY.encode_answer(LOGIN_ANSWER)
        for received in (line + b"\r\n", line + b"\n", (line + b"\r\n").decode("ascii")):
            self.assertEqual(json.loads(octkeypass.extract(received)), LOGIN_ANSWER)

    def test_compress_is_what_a_gateway_sends(self) -> None:
        """A line made by C{compress} is read by a client's codec as the same answer."""
        self.assertEqual(
            GATEWAY.decode_answer(octkeypass.compress(json.dumps([1, "二"])).encode()), [1, "二"]
        )

    def test_decrypt_with_the_wrong_key_says_so(self) -> None:
        """Decrypting with another secret fails with a 400 naming the key, as the gateway answers."""
        line = octkeypass.encrypt(SECRET, '{"cmd": 1}')
        with self.assertRaises(OFXError) as caught:
            octkeypass.decrypt("some-other-secret", line)
        self.assertEqual(caught.exception.stat, 400)
        self.assertIn("wrong key", caught.exception.message)

    def test_key_is_derived_once_per_secret(self) -> None:
        """
        Calling C{encrypt} for every message (as the sample does) derives the
        slow box key only once per secret.
        """
        calls = []

        def derive(secret: str) -> bytes:
            calls.append(secret)
            return b"k" * 32

        self.patch(wire, "derive_key", derive)
        for _ in range(3):
            octkeypass.encrypt("cache-test-secret-1", "{}")
        octkeypass.decrypt("cache-test-secret-1", octkeypass.encrypt("cache-test-secret-1", "{}"))
        octkeypass.encrypt("cache-test-secret-2", "{}")
        self.assertEqual(calls, ["cache-test-secret-1", "cache-test-secret-2"])


class RoundTripTests(SynchronousTestCase):
    """Any text goes through both directions unchanged."""

    @given(st.text())
    def test_encrypt_decrypt(self, text: str) -> None:
        """Whatever JSON text a client seals, the gateway opens exactly that text."""
        self.assertEqual(octkeypass.decrypt(SECRET, octkeypass.encrypt(SECRET, text)), text)

    @given(st.text())
    def test_compress_extract(self, text: str) -> None:
        """Whatever answer text the gateway compresses, C{extract} gives back exactly."""
        self.assertEqual(octkeypass.extract(octkeypass.compress(text) + "\r\n"), text)
