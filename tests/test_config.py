"""Reading ofx.ini: good files give a Config, bad ones one line naming [section] key."""

from __future__ import annotations

import os

from twisted.trial.unittest import TestCase

from ofx.config import Address, ConfigError, config_from_string, read_config

HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED = os.path.join(HERE, "..", "etc", "ofx.ini")

GATEWAY = """
[ofx]
key = 12345678
[login]
listen = tcp:0
[quote]
listen = tcp:0
advertise = 127.0.0.1:11025
[trade]
listen = tcp:0
advertise = 127.0.0.1:11026
[xtp]
backend = fake
"""


class ConfigTests(TestCase):
    def assertConfigError(self, text: str, *fragments: str) -> str:
        with self.assertRaises(ConfigError) as caught:
            config_from_string(text, "test.ini")
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        self.assertTrue(message.startswith("test.ini: "), message)
        for fragment in fragments:
            self.assertIn(fragment, message)
        return message

    def test_shipped_config(self) -> None:
        """The shipped etc/ofx.ini is a complete gateway on the fake counter with the demo user."""
        config = read_config(SHIPPED)
        self.assertTrue(config.is_gateway)
        self.assertEqual(config.xtp.backend, "fake")
        self.assertEqual(config.quote.advertise, Address("127.0.0.1", 11025))
        self.assertTrue(config.login.demo_user)
        self.assertEqual(os.path.normpath(config.data), os.path.normpath(os.path.join(HERE, "..", "data")))

    def test_data_relative_to_ini(self) -> None:
        """A relative [ofx] data is relative to the ini file, not to the working folder."""
        config = config_from_string(GATEWAY + "\n", "/srv/ofx/etc/ofx.ini")
        self.assertEqual(config.data, "/srv/ofx/etc/data")

    def test_defaults(self) -> None:
        """Keys left out take their documented defaults."""
        config = config_from_string(GATEWAY, "test.ini")
        self.assertEqual((config.max_line, config.brotli_quality), (65536, 2))
        self.assertEqual(config.login.authcode_expires, "15:30")

    def test_key_never_in_repr(self) -> None:
        """The shared key does not appear when a Config is printed or logged."""
        self.assertNotIn("12345678", repr(config_from_string(GATEWAY, "test.ini")))

    def test_short_key(self) -> None:
        """A key shorter than 8 characters is refused, naming [ofx] key."""
        self.assertConfigError(GATEWAY.replace("12345678", "1234"), "[ofx] key", "at least 8")

    def test_missing_key(self) -> None:
        """A missing key is named."""
        self.assertConfigError(GATEWAY.replace("key = 12345678", ""), "[ofx] key", "missing")

    def test_unknown_key(self) -> None:
        """A misspelt key is refused with the keys that section knows."""
        self.assertConfigError(GATEWAY.replace("[quote]", "[quote]\nlisten_on = x"), "[quote] listen_on", "unknown key")

    def test_unknown_section(self) -> None:
        """An unknown section is named."""
        self.assertConfigError(GATEWAY + "[qoute]\n", "[qoute]", "unknown section")

    def test_bad_values(self) -> None:
        """Bad values name their key and say what was expected."""
        self.assertConfigError(GATEWAY.replace("127.0.0.1:11025", "nowhere"), "[quote] advertise", "host:port")
        self.assertConfigError(GATEWAY.replace("backend = fake", "backend = real"), "[xtp] backend", "fake, ctypes")
        self.assertConfigError(GATEWAY + "[fake]\nstocks = 60000\n", "[fake] stocks", "six-digit")
        self.assertConfigError(GATEWAY.replace("key = 12345678", "key = 12345678\nmax_line = 1"), "[ofx] max_line")
        self.assertConfigError(GATEWAY.replace("listen = tcp:0\n[quote]", "listen = tcp:0\nauthcode_expires = 25:00\n[quote]"), "[login] authcode_expires")

    def test_half_a_gateway(self) -> None:
        """A gateway needs both [quote] and [trade]."""
        text = GATEWAY.replace("[trade]\nlisten = tcp:0\nadvertise = 127.0.0.1:11026\n", "")
        self.assertConfigError(text, "[trade]", "both")

    def test_login_server_alone(self) -> None:
        """Only [ofx] and [login] make a login server that routes users elsewhere."""
        config = config_from_string("[ofx]\nkey = 12345678\n[login]\nlisten = tcp:0\n", "test.ini")
        self.assertFalse(config.is_gateway)

    def test_gateway_with_remote_login(self) -> None:
        """A gateway may rely on a login server elsewhere ([login] server) instead of its own."""
        text = GATEWAY.replace("listen = tcp:0\n[quote]", "server = 10.0.0.1:11027\n[quote]")
        config = config_from_string(text, "test.ini")
        self.assertEqual(config.login.server, Address("10.0.0.1", 11027))
        self.assertIsNone(config.login.listen)

    def test_unreadable_file(self) -> None:
        """A missing file is one line naming it."""
        with self.assertRaises(ConfigError) as caught:
            read_config("/nonexistent/ofx.ini")
        self.assertIn("/nonexistent/ofx.ini", str(caught.exception))

    def test_not_ini(self) -> None:
        """Text that is not ini at all is one line, not a traceback."""
        self.assertConfigError("key = value\n", "not a valid ini file")


class FakeSectionTests(TestCase):
    """The [fake] keys of the simulated counter: sessions, replay, fees."""

    assertConfigError = ConfigTests.assertConfigError

    def test_fake_defaults(self) -> None:
        """Without the new keys the fake keeps the exchanges' hours, walks, and charges the usual fees."""
        fake = config_from_string(GATEWAY + "[fake]\nseed = 2\n", "test.ini").fake
        self.assertEqual((fake.always_open, fake.holidays, fake.replay, fake.speed), (False, (), None, 1.0))
        self.assertEqual((fake.commission, fake.min_commission, fake.stamp_tax, fake.transfer_fee), (0.00025, 5.0, 0.0005, 0.00001))

    def test_fake_keys(self) -> None:
        """Every [fake] key is read and converted; replay is relative to the ini file."""
        text = GATEWAY + (
            "[fake]\nalways_open = yes\nholidays = 20261001, 20261002\nreplay = day.csv\nspeed = 10\n"
            "commission = 0.0003\nmin_commission = 0.1\nstamp_tax = 0.001\ntransfer_fee = 0\n"
        )
        fake = config_from_string(text, "/srv/ofx/etc/ofx.ini").fake
        self.assertTrue(fake.always_open)
        self.assertEqual(fake.holidays, ("20261001", "20261002"))
        self.assertEqual((fake.replay, fake.speed), ("/srv/ofx/etc/day.csv", 10.0))
        self.assertEqual((fake.commission, fake.min_commission, fake.stamp_tax, fake.transfer_fee), (0.0003, 0.1, 0.001, 0.0))

    def test_bad_fake_values(self) -> None:
        """A bad switch, date, speed or rate is one line naming its [fake] key."""
        self.assertConfigError(GATEWAY + "[fake]\nalways_open = maybe\n", "[fake] always_open", "yes or no")
        self.assertConfigError(GATEWAY + "[fake]\nholidays = 2026-10-01\n", "[fake] holidays", "YYYYMMDD")
        self.assertConfigError(GATEWAY + "[fake]\nspeed = 0\n", "[fake] speed")
        self.assertConfigError(GATEWAY + "[fake]\ncommission = 2.5\n", "[fake] commission", "0.00025")
        self.assertConfigError(GATEWAY + "[fake]\nmin_commission = -1\n", "[fake] min_commission")
        self.assertConfigError(GATEWAY + "[fake]\nreplay =\n", "[fake] replay")

    def test_shipped_config_always_open(self) -> None:
        """The shipped demo ini trades around the clock."""
        self.assertTrue(read_config(SHIPPED).fake.always_open)
