"""
The basic-information and settings pages' content: pure functions of the
L{Config}. Secrets (the key, passwords, the software key, the operator's
hash) are masked here, the one place settings become an answer.
"""

from __future__ import annotations

import os
import platform
from typing import Any

import attr

from ofx import __version__
from ofx.config import Config
from ofx.wire import derive_key, key_fingerprint

MASK = "******"
SECRET_KEYS = frozenset({"key", "password", "software_key", "password_hash"})


def basic_info(config: Config) -> dict[str, Any]:
    """Software version, machine, deployment and addresses; the key only as its fingerprint."""
    xtp = dict(config.xtp.settings)
    admin = config.admin
    login = config.login

    def server(host: str, port: str) -> str:
        if config.xtp.backend == "fake":
            return "fake counter (built in)"
        return f"{xtp.get(host, '?')}:{xtp.get(port, '?')}"

    return {
        "version": f"OFX {__version__} for XTP",
        "architecture": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "folder": os.getcwd(),
        "data": config.data,
        "customer": admin.customer if admin else "",
        "account": (admin.account if admin and admin.account else xtp.get("account", "")),
        "deployed": admin.deployed if admin else "",
        "login": (login.listen if login and login.listen else str(login.server) if login and login.server else ""),
        "quote": str(config.quote.advertise) if config.quote else "",
        "trade": str(config.trade.advertise) if config.trade else "",
        "xtp_backend": config.xtp.backend,
        "xtp_quote": server("quote_host", "quote_port"),
        "xtp_trade": server("trade_host", "trade_port"),
        "key_version": key_fingerprint(derive_key(config.key)),
    }


def _mask(name: str, value: Any) -> Any:
    if name in SECRET_KEYS:
        return MASK if value else ""
    return value


def settings(config: Config) -> list[dict[str, Any]]:
    """The effective configuration as C{section, key, value} rows, every secret masked."""
    rows: list[dict[str, Any]] = [{"section": "ofx", "key": "path", "value": config.path}]
    for name in ("key", "data", "max_line", "brotli_quality", "keep_days", "journal"):
        rows.append({"section": "ofx", "key": name, "value": _mask(name, getattr(config, name))})
    for section in ("login", "quote", "trade", "fake", "admin"):
        value = getattr(config, section)
        if value is None:
            continue
        for field in attr.fields(type(value)):
            item = getattr(value, field.name)
            if isinstance(item, tuple):
                item = ", ".join(":".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in item)
            elif item is not None and not isinstance(item, bool | int | float | str):
                item = str(item)
            rows.append({"section": section, "key": field.name, "value": _mask(field.name, item)})
    rows.append({"section": "xtp", "key": "backend", "value": config.xtp.backend})
    for name, item in config.xtp.settings:
        rows.append({"section": "xtp", "key": name, "value": _mask(name, item)})
    return rows
