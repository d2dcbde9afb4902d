"""
The command table: every OFX/1 command, the port that serves it, how its
params are read, the handler that answers it, and the counter session it
needs. The dispatcher is driven by this table alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attr

from ofx import params
from ofx.backends.interface import QUOTE_SESSION, TRADE_SESSION

LOGIN, QUOTE, TRADE = "login", "quote", "trade"


@attr.frozen
class Command:
    code: int
    name: str
    port: str
    parse: Callable[[Any], Any]
    handler: str
    needs: str | None = None  # the counter session that must be up

    @property
    def label(self) -> str:
        return f"{self.code:06d} ({self.name})"


COMMANDS: dict[int, Command] = {
    c.code: c
    for c in (
        Command(1, "login", LOGIN, params.login, "cmd_login"),
        Command(2, "verify authcode", LOGIN, params.verify, "cmd_verify"),
        Command(110001, "subscribe", QUOTE, params.stock_list, "cmd_subscribe", QUOTE_SESSION),
        Command(100001, "latest quote", QUOTE, params.stock_on_day, "cmd_quote"),
        Command(100002, "quotes of the day", QUOTE, params.stock_on_day, "cmd_quotes_today"),
        Command(100003, "latest quotes", QUOTE, params.stocks_on_day, "cmd_quotes"),
        Command(210001, "request asset", TRADE, params.nothing, "cmd_request_asset", TRADE_SESSION),
        Command(210002, "request positions", TRADE, params.nothing, "cmd_request_positions", TRADE_SESSION),
        Command(210003, "request orders", TRADE, params.nothing, "cmd_request_orders", TRADE_SESSION),
        Command(210004, "request trades", TRADE, params.nothing, "cmd_request_trades", TRADE_SESSION),
        Command(200001, "order events", TRADE, params.stock_on_day, "cmd_order_events"),
        Command(200002, "trade events", TRADE, params.stock_on_day, "cmd_trade_events"),
        Command(200003, "asset", TRADE, params.day_only, "cmd_asset"),
        Command(200004, "positions", TRADE, params.reqid_on_day, "cmd_positions"),
        Command(200005, "orders", TRADE, params.reqid_on_day, "cmd_orders"),
        Command(200006, "trades", TRADE, params.reqid_on_day, "cmd_trades"),
        Command(210005, "insert order", TRADE, params.order_insert, "cmd_insert_order", TRADE_SESSION),
        Command(210006, "cancel order", TRADE, params.order_cancel, "cmd_cancel_order", TRADE_SESSION),
    )
}  # fmt: skip


def commands_for(port: str) -> list[Command]:
    return [c for c in COMMANDS.values() if c.port == port]
