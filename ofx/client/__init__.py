"""
The Python client for OFX/1, in two flavours over one command list.

L{OFXClient} (L{ofx.client.twisted_client}) runs on a Twisted reactor: every method returns a L{Deferred},
and requests on one connection may be pipelined (the gateway answers each
line with exactly one line, in order, so a FIFO of Deferreds is all the
matching needed). L{BlockingClient}
(L{ofx.client.blocking_client}) is the same surface over plain sockets,
for scripts and for the manual's users, who write one request and read one
answer. Both log in on the login port, follow the routing the gateway hands
back to its quote and trade ports, and attach the authcode to every trade
command, so callers never handle the authcode themselves.

An answer that is an object with a C{stat} other than 200 becomes
L{OFXClientError}; arrays and other objects are returned exactly as the
gateway sent them. The command line lives in L{ofx.client_cli}
(C{python -m ofx.client --help}).
"""

from __future__ import annotations

from ofx.client.blocking_client import BlockingClient, LineSocket
from ofx.client.common import (
    LOGIN,
    LOGIN_PORT,
    QUOTE,
    QUOTE_PORT,
    TRADE,
    TRADE_PORT,
    NotLoggedIn,
    OFXClientError,
    OFXProtocolError,
    StockRef,
    check_answer,
    routing,
    stock,
)
from ofx.client.twisted_client import OFXClient, OFXClientProtocol

__all__ = [
    "LOGIN", "LOGIN_PORT", "QUOTE", "QUOTE_PORT", "TRADE", "TRADE_PORT",
    "BlockingClient", "LineSocket", "NotLoggedIn", "OFXClient", "OFXClientError",
    "OFXClientProtocol", "OFXProtocolError", "StockRef", "check_answer", "main", "routing", "stock",
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """C{python -m ofx.client}: see L{ofx.client_cli.main}."""
    from ofx.client_cli import main as cli_main

    return cli_main(argv)
