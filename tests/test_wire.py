"""The OFX/1 codec: what a client and the gateway put on the line."""

from __future__ import annotations

import base64
import json

import brotli
from hypothesis import given
from hypothesis import strategies as st
from nacl.secret import SecretBox
from twisted.trial.unittest import TestCase

from ofx.errors import OFXError
from ofx.wire import Codec, compress, derive_key, extract, key_fingerprint, seal
from tests.keys import BOX_KEY, CODEC
from tests.strategies import commands, json_values

# Known answers, also printed in docs/protocol.md.
DEMO_BOX_KEY_HEX = "78333f88620945fd8b8d6ff408abc82e07826e517f34c024f63f29764b14e786"
KNOWN_REQUEST_LINE = b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXKFUJDkMGPsW3LI548fryPZHMz17BM/W/0Ulzr/4YrEsei3jrv90sGIZEnmYSidBrMSpM+s+0uTf6T76lN1fuziquV5uftXKNzmyTz/U77A=="


class KeyDerivationTests(TestCase):
    def test_known_answer(self) -> None:
        """
        The box key for a secret is fixed by the spec (Argon2id13, salt
        OFX-OCTKEYPASS-1, ops 2, mem 64 MiB), so clients in any language can
        derive the same one: the vector in docs/protocol.md holds.
        """
        key = derive_key("ofx-demo-key-change-me")
        self.assertEqual(key.hex(), DEMO_BOX_KEY_HEX)
        self.assertNotEqual(key, derive_key("ofx-demo-key-change-mE"))

    def test_known_request_line(self) -> None:
        """
        The request vector of docs/protocol.md (fixed nonce) decodes to its
        JSON, so an implementation in another language can test against it.
        """
        request = Codec(bytes.fromhex(DEMO_BOX_KEY_HEX)).decode_request(KNOWN_REQUEST_LINE)
        self.assertEqual((request.cmd, request.params), (1, {"username": "demo", "password": "demo"}))

    def test_fingerprint_hides_key(self) -> None:
        """A key's fingerprint is short, stable, and is not the key."""
        self.assertEqual(key_fingerprint(BOX_KEY), key_fingerprint(BOX_KEY))
        self.assertNotIn(key_fingerprint(BOX_KEY), BOX_KEY.hex())
        self.assertEqual(len(key_fingerprint(BOX_KEY)), 12)


class RequestTests(TestCase):
    def test_decode_manual_style_request(self) -> None:
        """
        A request written as in the original manual (capitalised keys, cmd as
        a six-digit string) decodes to lower-case keys and an integer cmd.
        """
        line = seal(SecretBox(BOX_KEY), json.dumps(
            {"Cmd": "000001", "Params": {"UserName": "demo", "PassWord": "x"}}
        ))  # fmt: skip
        request = CODEC.decode_request(line)
        self.assertEqual(request.cmd, 1)
        self.assertEqual(request.params, {"username": "demo", "password": "x"})
        self.assertIsNone(request.authcode)

    def test_nested_keys_folded(self) -> None:
        """Key names are case-insensitive at every level, inside arrays too."""
        line = CODEC.encode_request({"cmd": 110001, "params": [{"Code": "600000", "MARKET": "SH"}]})
        self.assertEqual(CODEC.decode_request(line).params, [{"code": "600000", "market": "SH"}])

    @given(commands, json_values, st.none() | st.text(max_size=40))
    def test_round_trip(self, cmd: int, params: object, authcode: str | None) -> None:
        """Whatever a client encodes, the server decodes to the same command, params and authcode."""
        params = _lower(params)
        line = CODEC.encode_request({"cmd": cmd, "params": params, "authcode": authcode})
        self.assertNotIn(b"\n", line)
        request = CODEC.decode_request(line)
        self.assertEqual((request.cmd, request.params, request.authcode), (cmd, params, authcode))

    @given(st.binary(max_size=300))
    def test_random_bytes_are_400(self, junk: bytes) -> None:
        """Random bytes never raise anything but a 400 error."""
        with self.assertRaises(OFXError) as caught:
            CODEC.decode_request(junk)
        self.assertEqual(caught.exception.stat, 400)

    def _error(self, line: bytes) -> OFXError:
        with self.assertRaises(OFXError) as caught:
            CODEC.decode_request(line)
        self.assertEqual(caught.exception.stat, 400)
        return caught.exception

    def test_errors_say_which_step_failed(self) -> None:
        """Each way a line can be unreadable gets a message naming that way."""
        box = SecretBox(BOX_KEY)
        self.assertIn("base64", self._error(b"not base64!").message)
        self.assertIn("shorter", self._error(base64.b64encode(b"short")).message)
        other = Codec(derive_key("another-shared-key"))
        self.assertIn("decrypt", self._error(other.encode_request({"cmd": 1})).message)
        self.assertIn("not JSON", self._error(seal(box, "{nope")).message)
        self.assertIn("not an object", self._error(seal(box, "[1, 2]")).message)
        self.assertIn("no cmd", self._error(seal(box, '{"params": {}}')).message)
        self.assertIn("cmd must be", self._error(seal(box, '{"cmd": "abc"}')).message)
        self.assertIn("cmd must be", self._error(seal(box, '{"cmd": true}')).message)
        self.assertIn("empty", self._error(b"").message)

    def test_deep_nesting_is_400(self) -> None:
        """A maliciously deep JSON document is a 400, not a crash."""
        self.assertIn("not JSON", self._error(seal(SecretBox(BOX_KEY), "[" * 100000)).message)


class AnswerTests(TestCase):
    @given(json_values)
    def test_answer_round_trip(self, value: object) -> None:
        """An answer line is base64 of Brotli of the JSON, one line, readable by any client."""
        line = CODEC.encode_answer(value)
        self.assertNotIn(b"\n", line)
        self.assertEqual(json.loads(brotli.decompress(base64.b64decode(line))), value)
        self.assertEqual(CODEC.decode_answer(line), value)

    def test_known_answer_line(self) -> None:
        """The answer vector of docs/protocol.md: quality 2 Brotli of a small answer."""
        self.assertEqual(CODEC.encode_answer({"stat": 200, "reqid": 1}), b"iwqAeyJzdGF0IjoyMDAsInJlcWlkIjoxfQM=")

    def test_chinese_text(self) -> None:
        """Chinese text survives compress and extract unchanged."""
        text = '{"ticker_name": "浦发银行"}'
        self.assertEqual(extract(compress(text)), text)
        self.assertEqual(extract(compress(text).decode() + "\r\n"), text)


def _lower(value: object) -> object:
    if isinstance(value, dict):
        return {k.lower(): _lower(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower(v) for v in value]
    return value

