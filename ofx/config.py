"""
Reading C{ofx.ini}.

C{read_config(path)} reads the file and hands its text to
C{config_from_string(text, path)}, which checks it against a whitelist of
sections and keys and returns a frozen L{Config}. Every problem raises
L{ConfigError} with one line naming the file and the C{[section] key}, so
C{twistd} can stop with that line instead of a traceback.

This module only reads values; L{ofx.tap} is the only place that builds
objects from them.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Callable
from typing import TypeVar

import attr

T = TypeVar("T")


class ConfigError(Exception):
    """A bad, missing or unknown setting; C{str()} is the whole message."""


@attr.frozen
class Address:
    """A C{host:port} that OFX tells clients to connect to."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@attr.frozen
class FrontConfig:
    """A client-facing port: where it listens and what login advertises."""

    listen: str
    advertise: Address


@attr.frozen
class LoginConfig:
    """
    The login front and the authcodes it issues.

    C{listen} serves logins in this process; C{server} names a login server in
    another process that vouches for authcodes. A gateway has exactly one.
    """

    listen: str | None = None
    server: Address | None = None
    authcode_expires: str = "15:30"
    recheck: float = 2.0
    demo_user: bool = False


@attr.frozen
class FakeConfig:
    """Settings of the in-process simulated counter (docs/fake-counter.md)."""

    seed: int = 1
    interval: float = 3.0
    universe: str | None = None
    stocks: tuple[str, ...] = ()
    cash: float = 1_000_000.0
    positions: tuple[tuple[str, int], ...] = ()
    always_open: bool = False
    holidays: tuple[str, ...] = ()
    replay: str | None = None
    speed: float = 1.0
    commission: float = 0.00025
    min_commission: float = 5.0
    stamp_tax: float = 0.0005
    transfer_fee: float = 0.00001


@attr.frozen
class XTPConfig:
    """Which counter to use (and, for the real one, how to reach it)."""

    backend: str = "fake"
    settings: tuple[tuple[str, str], ...] = ()


ADMIN_LISTEN = "tcp:11028:interface=127.0.0.1"


@attr.frozen
class AdminConfig:
    """
    The web console (C{[admin]}): where it listens, its one operator
    account (an Argon2id hash, never a password), and what the basic
    information page shows about this deployment.
    """

    listen: str = ADMIN_LISTEN
    user: str = "admin"
    password_hash: str = attr.field(default="", repr=False)
    session_minutes: int = 480
    customer: str = ""
    account: str = ""
    deployed: str = ""
    monitor_interval: float = 5.0
    monitor_hours: float = 6.0


@attr.frozen
class Config:
    """Everything C{ofx.ini} says, checked and converted."""

    path: str
    key: str = attr.field(repr=False)
    data: str
    max_line: int = 65536
    brotli_quality: int = 2
    keep_days: int = 30
    journal: bool = True
    login: LoginConfig | None = None
    quote: FrontConfig | None = None
    trade: FrontConfig | None = None
    xtp: XTPConfig = XTPConfig()
    fake: FakeConfig = FakeConfig()
    admin: AdminConfig | None = None

    @property
    def is_gateway(self) -> bool:
        """True when this process holds an XTP account (quote and trade fronts)."""
        return self.quote is not None


# Keys of [xtp] the ctypes backend reads; kept here so the whitelist is whole.
XTP_KEYS = frozenset(
    {
        "backend", "sdk", "quote_host", "quote_port", "quote_protocol", "trade_host",
        "trade_port", "account", "password", "software_key", "client_id", "log_dir",
        "log_level", "heartbeat",
    }
)  # fmt: skip

SECTIONS: dict[str, frozenset[str]] = {
    "ofx": frozenset({"key", "data", "max_line", "brotli_quality", "keep_days", "journal"}),
    "login": frozenset({"listen", "server", "authcode_expires", "recheck", "demo_user"}),
    "quote": frozenset({"listen", "advertise"}),
    "trade": frozenset({"listen", "advertise"}),
    "xtp": XTP_KEYS,
    "fake": frozenset(
        {"seed", "interval", "universe", "stocks", "cash", "positions", "always_open", "holidays",
         "replay", "speed", "commission", "min_commission", "stamp_tax", "transfer_fee"}
    ),  # fmt: skip
    "admin": frozenset(
        {"listen", "user", "password_hash", "session_minutes", "customer", "account", "deployed",
         "monitor_interval", "monitor_hours"}
    ),  # fmt: skip
}

BACKENDS = ("fake", "ctypes")
_TICKER = re.compile(r"^\d{6}$")
_EXPIRES = re.compile(r"^(?:([01]\d|2[0-3]):([0-5]\d)|(\d+)([smh]))$")


def read_config(path: str) -> Config:
    """Read and check the ini file at C{path}."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    return config_from_string(text, path)


def parse_address(text: str) -> Address:
    """C{host:port} to an L{Address}; raises ValueError with the reason."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, got {text.strip()!r}")
    return Address(host.strip("[]"), int(port))


def parse_gateway(text: str) -> tuple[Address, Address]:
    """C{quote-host:port, trade-host:port}: where a user's gateway is."""
    parts = [p for p in text.split(",")]
    if len(parts) != 2:
        raise ValueError(f"expected 'quote-host:port, trade-host:port', got {text!r}")
    return parse_address(parts[0]), parse_address(parts[1])


def config_from_string(text: str, path: str = "<string>") -> Config:
    """Check ini text against the whitelist and build a L{Config}."""
    parser = configparser.ConfigParser(interpolation=None, default_section="\0none")
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text, source=path)
    except configparser.Error as e:
        first = str(e).splitlines()[0]
        raise ConfigError(f"{path}: not a valid ini file: {first}") from None

    def fail(section: str, key: str | None, why: str) -> ConfigError:
        where = f"[{section}] {key}" if key else f"[{section}]"
        return ConfigError(f"{path}: {where}: {why}")

    for section in parser.sections():
        if section not in SECTIONS:
            raise fail(section, None, f"unknown section (known: {', '.join(SECTIONS)})")
        for key in parser[section]:
            if key not in SECTIONS[section]:
                known = ", ".join(sorted(SECTIONS[section]))
                raise fail(section, key, f"unknown key (known in [{section}]: {known})")

    def get(section: str, key: str, convert: Callable[[str], T], default: T | None = None) -> T:
        if not parser.has_option(section, key):
            if default is None:
                raise fail(section, key, "missing")
            return default
        raw = parser[section][key].strip()
        try:
            return convert(raw)
        except ValueError as e:
            raise fail(section, key, str(e)) from None

    def opt(section: str, key: str, convert: Callable[[str], T]) -> T | None:
        if not parser.has_option(section, key):
            return None
        return get(section, key, convert)

    if not parser.has_section("ofx"):
        raise fail("ofx", None, "missing (it holds the shared key)")
    key = get("ofx", "key", _secret)
    base = os.path.dirname(os.path.abspath(path)) if path != "<string>" else os.getcwd()
    data = os.path.join(base, get("ofx", "data", _nonempty, "data"))

    login = None
    if parser.has_section("login"):
        login = LoginConfig(
            listen=opt("login", "listen", _nonempty),
            server=opt("login", "server", parse_address),
            authcode_expires=get("login", "authcode_expires", _expires, "15:30"),
            recheck=get("login", "recheck", _positive_float, 2.0),
            demo_user=get("login", "demo_user", _boolean, False),
        )
        if login.listen and login.server:
            raise fail("login", "server", "give either listen (serve logins here) or server, not both")

    fronts = {}
    for name in ("quote", "trade"):
        if parser.has_section(name):
            fronts[name] = FrontConfig(
                listen=get(name, "listen", _nonempty),
                advertise=get(name, "advertise", parse_address),
            )
    if len(fronts) == 1:
        missing = ({"quote", "trade"} - set(fronts)).pop()
        raise fail(missing, None, "missing: a gateway needs both [quote] and [trade]")
    if not fronts:
        if login is None or login.listen is None:
            raise fail("login", "listen", "missing: configure [login] listen, or [quote] and [trade]")
        for name in ("xtp", "fake"):
            if parser.has_section(name):
                raise fail(name, None, "a login server alone (no [quote]/[trade]) has no counter")
    else:
        if login is None or (login.listen is None and login.server is None):
            raise fail(
                "login", "listen", "missing: a gateway needs [login] listen, or [login] server"
            )
        if not parser.has_section("xtp"):
            raise fail("xtp", "backend", "missing: choose fake or ctypes")

    xtp = XTPConfig()
    if parser.has_section("xtp"):
        xtp = XTPConfig(
            backend=get("xtp", "backend", _choice(BACKENDS)),
            settings=tuple(
                (k, v.strip()) for k, v in parser["xtp"].items() if k != "backend"
            ),
        )

    fake = FakeConfig()
    if parser.has_section("fake"):
        from datetime import datetime

        def rate(value: str) -> float:
            number = float(value)
            if not 0 <= number < 0.1:
                raise ValueError(f"expected a rate such as 0.00025 (that is 0.025 %), got {value}")
            return number

        def dates(value: str) -> tuple[str, ...]:
            days = tuple(v.strip() for v in value.split(",") if v.strip())
            for day in days:
                try:
                    datetime.strptime(day, "%Y%m%d")
                except ValueError:
                    raise ValueError(f"{day!r} is not a date written YYYYMMDD") from None
            return days

        fake = FakeConfig(
            seed=get("fake", "seed", int, 1),
            interval=get("fake", "interval", _positive_float, 3.0),
            universe=opt("fake", "universe", lambda v: os.path.join(base, _nonempty(v))),
            stocks=get("fake", "stocks", _tickers, ()),
            cash=get("fake", "cash", _nonnegative_float, 1_000_000.0),
            positions=get("fake", "positions", _positions, ()),
            always_open=get("fake", "always_open", _boolean, False),
            holidays=get("fake", "holidays", dates, ()),
            replay=opt("fake", "replay", lambda v: os.path.join(base, _nonempty(v))),
            speed=get("fake", "speed", _positive_float, 1.0),
            commission=get("fake", "commission", rate, 0.00025),
            min_commission=get("fake", "min_commission", _nonnegative_float, 5.0),
            stamp_tax=get("fake", "stamp_tax", rate, 0.0005),
            transfer_fee=get("fake", "transfer_fee", rate, 0.00001),
        )

    admin = None
    if parser.has_section("admin"):
        # [admin]: the web console (ofx/web); see docs/admin-api.md.
        from datetime import date

        def argon2id_hash(value: str) -> str:
            if not value.startswith("$argon2id$"):
                raise ValueError("expected an Argon2id hash made by `python -m ofx admin-password`")
            return value

        def deployed(value: str) -> str:
            date.fromisoformat(value)  # ValueError names the problem
            return value

        admin = AdminConfig(
            listen=get("admin", "listen", _nonempty, ADMIN_LISTEN),
            user=get("admin", "user", _nonempty, "admin"),
            password_hash=get("admin", "password_hash", argon2id_hash),
            session_minutes=get("admin", "session_minutes", _int_range(1, 7 * 24 * 60), 480),
            customer=get("admin", "customer", str, ""),
            account=get("admin", "account", str, ""),
            deployed=get("admin", "deployed", deployed, ""),
            monitor_interval=get("admin", "monitor_interval", _positive_float, 5.0),
            monitor_hours=get("admin", "monitor_hours", _positive_float, 6.0),
        )

    return Config(
        path=path,
        key=key,
        data=data,
        max_line=get("ofx", "max_line", _int_range(64, 16 * 1024 * 1024), 65536),
        brotli_quality=get("ofx", "brotli_quality", _int_range(0, 11), 2),
        keep_days=get("ofx", "keep_days", _int_range(1, 100000), 30),
        journal=get("ofx", "journal", _boolean, True),
        login=login,
        quote=fronts.get("quote"),
        trade=fronts.get("trade"),
        xtp=xtp,
        fake=fake,
        admin=admin,
    )


def _nonempty(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


def _secret(value: str) -> str:
    if len(value) < 8:
        raise ValueError("must be at least 8 characters")
    return value


def _boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("yes", "true", "on", "1"):
        return True
    if lowered in ("no", "false", "off", "0"):
        return False
    raise ValueError(f"expected yes or no, got {value!r}")


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError(f"must be greater than 0, got {value}")
    return number


def _nonnegative_float(value: str) -> float:
    number = float(value)
    if not number >= 0:
        raise ValueError(f"must not be negative, got {value}")
    return number


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def convert(value: str) -> int:
        number = int(value)
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}, got {number}")
        return number

    return convert


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def convert(value: str) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    return convert


def _expires(value: str) -> str:
    if not _EXPIRES.match(value):
        raise ValueError(f"expected HH:MM (Beijing time) or a duration like 8h, got {value!r}")
    return value


def _tickers(value: str) -> tuple[str, ...]:
    codes = tuple(v.strip() for v in value.split(",") if v.strip())
    for code in codes:
        if not _TICKER.match(code):
            raise ValueError(f"{code!r} is not a six-digit stock code")
    return codes


def _positions(value: str) -> tuple[tuple[str, int], ...]:
    result = []
    for item in value.split(","):
        if not item.strip():
            continue
        code, sep, qty = item.strip().partition(":")
        if not sep or not _TICKER.match(code.strip()) or not qty.strip().isdigit():
            raise ValueError(f"expected code:quantity items like 600000:1000, got {item.strip()!r}")
        result.append((code.strip(), int(qty)))
    return tuple(result)
