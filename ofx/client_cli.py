"""
C{python -m ofx.client}: one gateway command from the shell, answer as JSON.

Every sub-command logs in first (the login answer carries the routing and
the authcode the trade port needs), runs its command on a L{BlockingClient}
and prints the answer as one line of JSON on stdout. Exit status: 0 for an
accepted command or data, 1 when the gateway answers with an error (the
error JSON is printed on stdout too, so scripts read one stream), 2 for a
usage error, 3 when the gateway cannot be reached or speaks something other
than OFX/1.

The password comes from a prompt, or from the first line of stdin with
C{--password-stdin}; the shared key from C{--key-file}, C{OFX_KEY} or
C{--key} (visible to other local users in the process list: prefer the
others). Neither is ever printed.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass as _getpass
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

import attr

from ofx import xtp_types as xtp
from ofx.client import (
    LOGIN_PORT,
    BlockingClient,
    OFXClientError,
    OFXProtocolError,
    stock,
)

EXIT_OK, EXIT_ERROR_ANSWER, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
EXIT_INTERRUPTED = 130

PRICE_TYPES = {
    "limit": xtp.XTP_PRICE_LIMIT,
    "best-or-cancel": xtp.XTP_PRICE_BEST_OR_CANCEL,
    "best5-or-limit": xtp.XTP_PRICE_BEST5_OR_LIMIT,
    "best5-or-cancel": xtp.XTP_PRICE_BEST5_OR_CANCEL,
    "all-or-cancel": xtp.XTP_PRICE_ALL_OR_CANCEL,
    "forward-best": xtp.XTP_PRICE_FORWARD_BEST,
    "reverse-best-limit": xtp.XTP_PRICE_REVERSE_BEST_LIMIT,
    "limit-or-cancel": xtp.XTP_PRICE_LIMIT_OR_CANCEL,
}
SIDES = {"buy": xtp.XTP_SIDE_BUY, "sell": xtp.XTP_SIDE_SELL}

# client_factory(host, port, secret=..., timeout=...) -> a BlockingClient-like
ClientFactory = Callable[..., Any]


def parse_stock(text: str) -> dict[str, str]:
    """C{600000.SH} as an argument; a bad one is a usage error (exit 2)."""
    try:
        return stock(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _named_int(names: Mapping[str, int], what: str) -> Callable[[str], int]:
    """An argument given by name (C{buy}) or by its XTP number (C{1})."""

    lowered = {name.lower(): number for name, number in names.items()}

    def parse(text: str) -> int:
        if text.lower() in lowered:
            return lowered[text.lower()]
        if text.isdigit() and int(text) in names.values():
            return int(text)
        raise argparse.ArgumentTypeError(f"{what} must be one of {', '.join(names)}, not {text!r}")

    parse.__name__ = what
    return parse


def _no_args(parser: argparse.ArgumentParser) -> None:
    pass


def _one_stock(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stock", type=parse_stock, metavar="CODE.MARKET", help="e.g. 600000.SH")


def _stocks(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "stocks", type=parse_stock, nargs="+", metavar="CODE.MARKET", help="e.g. 600000.SH"
    )


def _reqid(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reqid", type=int, help="only what the counter returned for this reqid")


def _insert(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ticker", required=True)
    parser.add_argument(
        "--market", required=True, type=_named_int(xtp.MARKET_BY_NAME, "market"), help="SH or SZ"
    )
    parser.add_argument("--price", required=True, type=float)
    parser.add_argument("--quantity", required=True, type=int)
    parser.add_argument("--side", required=True, type=_named_int(SIDES, "side"), help="buy or sell")
    parser.add_argument(
        "--price-type",
        default=xtp.XTP_PRICE_LIMIT,
        type=_named_int(PRICE_TYPES, "price type"),
        help="limit (default), " + ", ".join(list(PRICE_TYPES)[1:]),
    )
    parser.add_argument("--order-client-id", type=int)
    parser.add_argument("--business-type", type=int)


def _insert_fields(args: argparse.Namespace) -> dict[str, Any]:
    fields = {
        "ticker": args.ticker,
        "market": args.market,
        "price": args.price,
        "quantity": args.quantity,
        "price_type": args.price_type,
        "side": args.side,
    }
    if args.order_client_id is not None:
        fields["order_client_id"] = args.order_client_id
    if args.business_type is not None:
        fields["business_type"] = args.business_type
    return fields


def _cancel(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("order_xtp_id", type=int, metavar="ORDER_XTP_ID")


@attr.frozen
class SubCommand:
    """A sub-command: its arguments and the client call it makes."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Any, argparse.Namespace], Any]


def _one(method: str) -> Callable[[Any, argparse.Namespace], Any]:
    return lambda client, args: getattr(client, method)(args.stock)


def _many(method: str) -> Callable[[Any, argparse.Namespace], Any]:
    return lambda client, args: getattr(client, method)(args.stocks)


def _plain(method: str) -> Callable[[Any, argparse.Namespace], Any]:
    return lambda client, args: getattr(client, method)()


def _by_reqid(method: str) -> Callable[[Any, argparse.Namespace], Any]:
    return lambda client, args: getattr(client, method)(args.reqid)


SUBCOMMANDS: tuple[SubCommand, ...] = (
    SubCommand("login", "log in and print the routing and authcode", _no_args,
               lambda client, args: client.login_answer),
    SubCommand("subscribe", "110001 subscribe to market data", _stocks, _many("subscribe")),
    SubCommand("quote", "100001 latest snapshot of one stock", _one_stock, _one("quote")),
    SubCommand("quotes-today", "100002 every snapshot today of one stock", _one_stock,
               _one("quotes_today")),
    SubCommand("quotes", "100003 latest snapshots of several stocks", _stocks, _many("quotes")),
    SubCommand("request-asset", "210001 ask the counter for the asset", _no_args,
               _plain("request_asset")),
    SubCommand("request-positions", "210002 ask the counter for positions", _no_args,
               _plain("request_positions")),
    SubCommand("request-orders", "210003 ask the counter for orders", _no_args,
               _plain("request_orders")),
    SubCommand("request-trades", "210004 ask the counter for trades", _no_args,
               _plain("request_trades")),
    SubCommand("order-events", "200001 order events of one stock", _one_stock,
               _one("order_events")),
    SubCommand("trade-events", "200002 trade events of one stock", _one_stock,
               _one("trade_events")),
    SubCommand("asset", "200003 latest asset", _no_args, _plain("asset")),
    SubCommand("positions", "200004 positions the counter returned", _reqid,
               _by_reqid("positions")),
    SubCommand("orders", "200005 orders the counter returned", _reqid, _by_reqid("orders")),
    SubCommand("trades", "200006 trades the counter returned", _reqid, _by_reqid("trades")),
    SubCommand("insert", "210005 insert an order", _insert,
               lambda client, args: client.insert_order(_insert_fields(args))),
    SubCommand("cancel", "210006 cancel an order", _cancel,
               lambda client, args: client.cancel_order(args.order_xtp_id)),
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, built from L{SUBCOMMANDS}."""
    parser = argparse.ArgumentParser(
        prog="python -m ofx.client",
        description="Send one command to an OFX gateway and print the JSON answer.",
        epilog="exit status: 0 answered, 1 error answer, 2 usage error, 3 unreachable",
    )
    parser.add_argument("--host", default="127.0.0.1", help="login server (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=LOGIN_PORT, help=f"default {LOGIN_PORT}")
    parser.add_argument("--user", required=True)
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin's first line"
    )
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--key-file", metavar="FILE", help="file holding the shared key")
    keys.add_argument("--key", help="the shared key (prefer --key-file or OFX_KEY)")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for sub in SUBCOMMANDS:
        sub_parser = subs.add_parser(sub.name, help=sub.help, description=sub.help)
        sub.arguments(sub_parser)
        sub_parser.set_defaults(sub=sub)
    return parser


def read_key(
    args: argparse.Namespace, environ: Mapping[str, str], parser: argparse.ArgumentParser
) -> str:
    """The shared key from --key-file, --key or OFX_KEY, stripped as the gateway's config is."""
    if args.key_file is not None:
        try:
            with open(args.key_file, encoding="utf-8") as f:
                key = f.read()
        except OSError as e:
            parser.error(f"cannot read key file {args.key_file}: {e.strerror}")
    elif args.key is not None:
        key = args.key
    else:
        key = environ.get("OFX_KEY", "")
    key = key.strip()
    if not key:
        parser.error("no shared key: give --key-file FILE, set OFX_KEY, or --key")
    return key


def read_password(
    args: argparse.Namespace,
    stdin: TextIO,
    getpass: Callable[[str], str],
    parser: argparse.ArgumentParser,
) -> str:
    """The password from stdin's first line or a prompt that does not echo."""
    if args.password_stdin:
        password = stdin.readline().rstrip("\r\n")
        if not password:
            parser.error("--password-stdin given but stdin has no password line")
        return password
    try:
        return getpass(f"Password for {args.user} at {args.host}:{args.port}: ")
    except EOFError:
        parser.error("no password (use --password-stdin when stdin is not a terminal)")


def _print(answer: Any, out: TextIO) -> None:
    out.write(json.dumps(answer, ensure_ascii=False) + "\n")


def main(
    argv: Sequence[str] | None = None,
    *,
    client_factory: ClientFactory = BlockingClient,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    getpass: Callable[[str], str] = _getpass.getpass,
) -> int:
    """
    Run the command line and return the exit status.

    Everything that touches the outside (the network client, streams, the
    environment, the password prompt) is a parameter so tests can replace it.
    """
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr
    environ = environ if environ is not None else os.environ
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            args = parser.parse_args(argv)
            key = read_key(args, environ, parser)
            password = read_password(args, stdin, getpass, parser)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    try:
        with client_factory(args.host, args.port, secret=key, timeout=args.timeout) as client:
            client.login(args.user, password)
            answer = args.sub.run(client, args)
    except OFXClientError as e:
        _print(e.as_answer(), stdout)
        return EXIT_ERROR_ANSWER
    except (OSError, OFXProtocolError) as e:
        stderr.write(f"ofx.client: {args.host}:{args.port}: {e}\n")
        return EXIT_UNREACHABLE
    _print(answer, stdout)
    return EXIT_OK
