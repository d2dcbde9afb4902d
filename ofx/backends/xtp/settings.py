"""
The C{[xtp]} settings of the ctypes backend.

L{settings_from_config} checks the raw C{(key, value)} pairs that
L{ofx.config} keeps in C{XTPConfig.settings} and returns a frozen
L{XTPSettings}; every problem raises L{ConfigError} as
C{"<path>: [xtp] <key>: <why>"}. L{refuse_demo} refuses the shipped demo key
and demo passwords. The password and software key never appear in a repr or
a message.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from typing import TypeVar

import attr

from ofx.backends.xtp.api import LOG_LEVELS, XTP_PROTOCOL_TCP, XTP_PROTOCOL_UDP
from ofx.config import ConfigError, XTPConfig

T = TypeVar("T")

PROTOCOLS = {"tcp": XTP_PROTOCOL_TCP, "udp": XTP_PROTOCOL_UDP}
DEFAULT_SDK = "sdk"
DEFAULT_LOG_DIR = "xtp-log"
DEFAULT_HEARTBEAT = 15

# Passwords that only ever appear in examples; compared without case.
DEMO_PASSWORDS: frozenset[str] = frozenset(
    {"demo", "password", "changeme", "change-me", "123456", "xtp", "test"}
)


@attr.frozen
class XTPSettings:
    """How to reach one XTP account, checked and converted."""

    sdk: str
    quote_host: str
    quote_port: int
    trade_host: str
    trade_port: int
    account: str
    password: str = attr.field(repr=False)
    software_key: str = attr.field(repr=False)
    quote_protocol: int = XTP_PROTOCOL_TCP
    client_id: int = 1
    log_dir: str = DEFAULT_LOG_DIR
    log_level: int = LOG_LEVELS["info"]
    heartbeat: int = DEFAULT_HEARTBEAT


def settings_from_config(xtp: XTPConfig, path: str) -> XTPSettings:
    """
    Check C{[xtp]} of the file at C{path} (relative directories are taken
    from the file's directory, as C{[ofx] data} is) and build L{XTPSettings}.
    """
    raw = dict(xtp.settings)
    base = os.path.dirname(os.path.abspath(path)) if path != "<string>" else os.getcwd()

    def fail(key: str, why: str) -> ConfigError:
        return ConfigError(f"{path}: [xtp] {key}: {why}")

    def get(key: str, convert: Callable[[str], T], default: T | None = None) -> T:
        if key not in raw:
            if default is None:
                raise fail(key, "missing (the ctypes backend needs it)")
            return default
        try:
            return convert(raw[key].strip())
        except ValueError as e:
            raise fail(key, str(e)) from None

    def directory(value: str) -> str:
        return os.path.join(base, _nonempty(value))

    return XTPSettings(
        sdk=get("sdk", directory, os.path.join(base, DEFAULT_SDK)),
        quote_host=get("quote_host", _host),
        quote_port=get("quote_port", _port),
        quote_protocol=get("quote_protocol", _lookup(PROTOCOLS), XTP_PROTOCOL_TCP),
        trade_host=get("trade_host", _host),
        trade_port=get("trade_port", _port),
        account=get("account", _nonempty),
        password=get("password", _secret),
        software_key=get("software_key", _secret),
        client_id=get("client_id", _int_range(1, 99), 1),
        log_dir=get("log_dir", directory, os.path.join(base, DEFAULT_LOG_DIR)),
        log_level=get("log_level", _lookup(LOG_LEVELS), LOG_LEVELS["info"]),
        heartbeat=get("heartbeat", _int_range(1, 3600), DEFAULT_HEARTBEAT),
    )


def refuse_demo(
    settings: XTPSettings,
    ofx_key: str,
    path: str,
    demo_keys: Collection[str],
    demo_passwords: Collection[str] = DEMO_PASSWORDS,
) -> None:
    """
    Refuse to run a real counter with a shipped demo value: C{[ofx] key} in
    C{demo_keys}, or an XTP password in C{demo_passwords} (without case).
    Raises L{ConfigError}; the message never quotes the secret.
    """
    if ofx_key in demo_keys:
        raise ConfigError(
            f"{path}: [ofx] key: is the shipped demo key; choose your own before using a real counter"
        )
    lowered = {p.lower() for p in demo_passwords}
    if settings.password.lower() in lowered:
        raise ConfigError(f"{path}: [xtp] password: is a demo password; set the account's real one")


def _nonempty(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


def _secret(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


def _host(value: str) -> str:
    value = _nonempty(value)
    if any(c.isspace() for c in value):
        raise ValueError(f"not a host name or address: {value!r}")
    if value.count(":") == 1:
        raise ValueError(f"give the port in its own key, got {value!r}")
    return value.strip("[]")


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"expected a port number 1..65535, got {value!r}")
    return int(value)


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def convert(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"expected a whole number, got {value!r}") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}, got {number}")
        return number

    return convert


def _lookup(table: dict[str, int]) -> Callable[[str], int]:
    def convert(value: str) -> int:
        key = value.lower()
        if key not in table:
            raise ValueError(f"must be one of {', '.join(table)}, got {value!r}")
        return table[key]

    return convert
