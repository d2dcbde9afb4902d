"""
C{python -m ofx.bench}: options, the run, and the report.

L{bench} is the whole run as one coroutine on a reactor: start the gateway, read a quote from it, start the bare
server with that quote as its canned answer, run the same load against
each, time the hot path in process, and return the report as a dict.
Children are killed when it ends, fails, or the reactor stops (Ctrl-C).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable
from math import gcd
from typing import Any

from twisted.internet import task
from twisted.internet.defer import Deferred, FirstError, gatherResults
from twisted.python import usage

from ofx.bench import hotpath
from ofx.bench.bare import READY as BARE_READY
from ofx.bench.children import Child, free_port, gateway_ini, spawn, spawn_gateway
from ofx.bench.load import ORDER_CMD, QUOTE_CMD, READY, RESULT, LoadSpec
from ofx.bench.report import format_report, machine, median_round, paired_ratio, summarize
from ofx.client import OFXClient, OFXClientError
from ofx.wire import DEFAULT_QUALITY, Codec, derive_key
from ofx.xtp_types import XTP_PRICE_BEST5_OR_CANCEL, XTP_PRICE_LIMIT

STOCK = {"code": "600000", "market": "SH"}
ORDER_KINDS = ("ioc", "limit")
START_TIMEOUT = 60.0


def order_for(kind: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """
    The order every C{210005} sends, made from the latest quote: a buy of
    100 shares at the best bid. C{ioc} sends it as BEST5_OR_CANCEL (it takes
    what the book offers and the rest is cancelled at once, so the fake
    counter keeps no state per order); C{limit} sends a limit order that
    queues (the fake counter then holds every order, see docs/benchmarks.md).
    """
    price_type = {"ioc": XTP_PRICE_BEST5_OR_CANCEL, "limit": XTP_PRICE_LIMIT}[kind]

    def make(quote: dict[str, Any]) -> dict[str, Any]:
        return {
            "ticker": quote["ticker"], "market": STOCK["market"], "price": quote["bid"][0],
            "quantity": 100, "side": 1, "price_type": price_type,
        }  # fmt: skip

    return make


def parse_mix(text: str) -> tuple[int, ...]:
    """C{100001:1,210005:1} to one cycle of commands, interleaved (smooth weighted round robin)."""
    weights: dict[int, int] = {}
    for item in text.split(","):
        cmd, _, weight = item.strip().partition(":")
        if not cmd.isdigit() or int(cmd) not in (QUOTE_CMD, ORDER_CMD):
            raise ValueError(f"the mix names 100001 and 210005, not {cmd!r}")
        if weight and not weight.isdigit():
            raise ValueError(f"the weight of {cmd} must be a whole number, not {weight!r}")
        weights[int(cmd)] = int(weight or 1)
    divisor = 0
    for w in weights.values():
        divisor = gcd(divisor, w)
    if not divisor:
        raise ValueError("the mix needs a positive weight")
    weights = {c: w // divisor for c, w in weights.items() if w}
    current = dict.fromkeys(weights, 0)
    cycle = []
    for _ in range(sum(weights.values())):
        for c, w in weights.items():
            current[c] += w
        pick = max(current, key=lambda c: current[c])
        current[pick] -= sum(weights.values())
        cycle.append(pick)
    return tuple(cycle)


class Options(usage.Options):
    synopsis = "python -m ofx.bench [options]"
    longdesc = (
        "Benchmark the OFX gateway against a bare Twisted line server doing the same crypto, JSON and Brotli."
    )
    optFlags = [
        ["json", None, "Print the report as JSON instead of a table."],
        [
            "no-journal",
            None,
            "Run the gateway with [ofx] journal = no, to see what writing the journal costs.",
        ],
    ]
    optParameters = [
        ["clients", "n", 50, "Clients (each logs in and opens a quote and a trade connection).", int],
        ["seconds", "s", 10.0, "Measured seconds per target.", float],
        ["warmup", None, 2.0, "Seconds of load before measuring.", float],
        ["rounds", "r", 1, "Measure each target this many times, alternating; report the median round and the median of the rounds' ratios.", int],
        ["window", "w", 8, "Requests in flight per client.", int],
        ["mix", None, "100001:1,210005:1", "Commands and their weights."],
        ["load-procs", "p", 1, "Load worker processes the clients are spread over.", int],
        ["order", None, "ioc", f"The 210005 order: {' or '.join(ORDER_KINDS)} (see docs/benchmarks.md)."],
        ["interval", None, 0.5, "The fake counter's market data interval, seconds.", float],
        ["profile-gateway", None, None, "Run the gateway under cProfile and save its stats to this file."],
        ["hotpath", None, 20000, "Iterations per command of the in-process hot path timing (0: skip).", int],
    ]

    def postOptions(self) -> None:
        for name in ("clients", "window", "load-procs", "rounds"):
            if self[name] < 1:
                raise usage.UsageError(f"--{name} must be at least 1, not {self[name]}")
        if self["load-procs"] > self["clients"]:
            raise usage.UsageError("--load-procs cannot exceed --clients")
        if not self["seconds"] > 0 or self["warmup"] < 0 or not self["interval"] > 0:
            raise usage.UsageError("--seconds and --interval must be positive and --warmup not negative")
        if self["hotpath"] < 0:
            raise usage.UsageError("--hotpath must not be negative")
        if self["order"] not in ORDER_KINDS:
            raise usage.UsageError(f"--order must be one of {', '.join(ORDER_KINDS)}, not {self['order']!r}")
        try:
            self["pattern"] = parse_mix(self["mix"])
        except ValueError as e:
            raise usage.UsageError(f"--mix: {e}") from None


def _unwrap(error: BaseException) -> BaseException:
    """The first failure inside a L{FirstError} (from L{gatherResults}), or the error itself."""
    if isinstance(error, FirstError) and error.subFailure.value is not None:
        return error.subFailure.value
    return error


async def prepare(
    reactor: Any, box_key: bytes, login_port: int, make_order: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """
    Log in to the gateway, subscribe to the stock, read its snapshot (asking
    again, a bounded number of times, until the counter has pushed one) and
    check that the order is accepted. Returns (snapshot, order params).
    """
    client = OFXClient(reactor, "127.0.0.1", login_port, box_key=box_key)
    await client.login("demo", "demo")
    try:
        await client.subscribe([STOCK])
        quote = None
        for _ in range(200):
            try:
                quote = await client.quote(STOCK)
                break
            except OFXClientError as e:
                if e.stat != 404:
                    raise
                await task.deferLater(reactor, 0.05)
        if quote is None:
            raise RuntimeError(
                f"the gateway has no quote of {STOCK['code']}.{STOCK['market']} ten seconds after subscribing"
            )
        snapshot = {k: v for k, v in quote.items() if k != "stat"}
        order = make_order(snapshot)
        await client.insert_order(order)
        return snapshot, order
    finally:
        await client.close()


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


async def run_load(
    reactor: Any,
    opts: Options,
    folder: str,
    secret: str,
    login_port: int,
    server_pid: int,
    order: dict[str, Any],
    children: list[Child],
) -> list[dict[str, Any]]:
    """
    Start the load workers, let them log in, start them together, and
    collect their results. The workers are listed in C{children} while they
    run, so an interrupted bench kills them too.
    """
    workers: list[Child] = []
    try:
        offset = 0
        for i, clients in enumerate(_split(opts["clients"], opts["load-procs"])):
            spec = LoadSpec(
                host="127.0.0.1", login_port=login_port, clients=clients, window=opts["window"],
                pattern=opts["pattern"], warmup=opts["warmup"], seconds=opts["seconds"],
                stock=STOCK, order=order, index=offset, watch=(server_pid,) if i == 0 else (),
            )  # fmt: skip
            offset += clients
            workers.append(
                spawn(reactor, f"load worker {i}", ["-m", "ofx.bench.load", spec.to_json()], folder, secret)
            )
            children.append(workers[-1])
        results = [w.wait_for(RESULT, START_TIMEOUT + opts["warmup"] + opts["seconds"]) for w in workers]
        await gatherResults([w.wait_for(READY, START_TIMEOUT) for w in workers], consumeErrors=True)
        for w in workers:
            w.send(b"go")
        lines = await gatherResults(results, consumeErrors=True)
        return [json.loads(line.split(b" ", 1)[1]) for line in lines]
    finally:
        await gatherResults([w.kill() for w in workers])
        for w in workers:
            children.remove(w)


async def bench(reactor: Any, opts: Options) -> dict[str, Any]:
    """The whole run; the report as a dict (see L{format_report})."""
    folder = tempfile.mkdtemp(prefix="ofx-bench-")
    children: list[Child] = []

    def interrupted() -> None:  # Ctrl-C: the reactor stops and the finally below never runs
        for child in children:
            child.kill()
        shutil.rmtree(folder, ignore_errors=True)

    trigger = reactor.addSystemEventTrigger("before", "shutdown", interrupted)
    make_order = order_for(opts["order"])
    measured_on = machine()
    try:
        secret = secrets.token_urlsafe(24)
        ports: dict[str, int] = {}
        while len(set(ports.values())) < 3:
            ports = {name: free_port() for name in ("login", "quote", "trade")}
        ini = os.path.join(folder, "ofx.ini")
        with open(ini, "w") as f:
            journal = not opts["no-journal"]
            f.write(
                gateway_ini(secret, ports["login"], ports["quote"], ports["trade"], opts["interval"], journal)
            )
        profile = os.path.abspath(opts["profile-gateway"]) if opts["profile-gateway"] else None
        gateway = spawn_gateway(reactor, ini, folder, secret, profile)
        children.append(gateway)
        await gatherResults(
            [gateway.wait_for(f"ofx-{name} starting on".encode(), START_TIMEOUT) for name in ports],
            consumeErrors=True,
        )
        box_key = derive_key(secret)
        snapshot, order = await prepare(reactor, box_key, ports["login"], make_order)
        snapshot_path = os.path.join(folder, "snapshot.json")
        with open(snapshot_path, "w") as f:
            json.dump(snapshot, f)
        bare = spawn(
            reactor,
            "bare server",
            ["-m", "ofx.bench.bare", snapshot_path, str(DEFAULT_QUALITY)],
            folder,
            secret,
        )
        children.append(bare)
        bare_port = int((await bare.wait_for(BARE_READY, START_TIMEOUT)).split()[-1])
        rounds: dict[str, list[dict[str, Any]]] = {"gateway": [], "bare": []}
        for _ in range(opts["rounds"]):
            for name, login_port, pid in (
                ("gateway", ports["login"], gateway.pid),
                ("bare", bare_port, bare.pid),
            ):
                results = await run_load(reactor, opts, folder, secret, login_port, pid, order, children)
                rounds[name].append(summarize(results))
        targets = {name: median_round(summaries) for name, summaries in rounds.items()}
        answer_sizes = {
            "100001": len(Codec(box_key).encode_answer({**snapshot, "stat": 200})),
        }
    except FirstError as e:
        raise _unwrap(e) from None
    finally:
        reactor.removeSystemEventTrigger(trigger)
        if opts["profile-gateway"] and children:
            await children[0].stop(START_TIMEOUT)  # twistd writes the stats as it stops
        await gatherResults([c.kill() for c in children])
        shutil.rmtree(folder, ignore_errors=True)
    hot = None
    if opts["hotpath"]:
        hot = await hotpath.measure(
            reactor, opts["hotpath"], STOCK, make_order, journal=not opts["no-journal"]
        )
    return {
        "machine": measured_on,
        "settings": {
            "clients": opts["clients"],
            "window": opts["window"],
            "mix": opts["mix"],
            "seconds": opts["seconds"],
            "warmup": opts["warmup"],
            "load_procs": opts["load-procs"],
            "rounds": opts["rounds"],
            "order": opts["order"],
            "journal": not opts["no-journal"],
            "interval": opts["interval"],
            "brotli_quality": DEFAULT_QUALITY,
            "answer_line_bytes": answer_sizes,
        },
        "targets": targets,
        "ratio": paired_ratio(rounds["gateway"], rounds["bare"]),
        "ratio_of_medians": targets["gateway"]["commands_per_s"] / targets["bare"]["commands_per_s"],
        "hotpath_us": hot,
    }


def main(argv: list[str] | None = None) -> None:
    opts = Options()
    try:
        opts.parseOptions(sys.argv[1:] if argv is None else argv)
    except usage.UsageError as e:
        sys.stderr.write(f"{opts}\nofx.bench: {e}\n")
        raise SystemExit(2) from None

    from twisted.logger import globalLogBeginner

    from ofx.logs import BufferedLogObserver

    # Format log events as the gateway's twistd does (--logger
    # ofx.logs.observer), but keep them off the report.
    devnull = open(os.devnull, "w")  # noqa: SIM115
    globalLogBeginner.beginLoggingTo([BufferedLogObserver(devnull)], redirectStandardIO=False)

    async def run(reactor: Any) -> None:
        try:
            report = await bench(reactor, opts)
        except Exception as e:
            sys.stderr.write(f"ofx.bench: {type(e).__name__}: {e}\n")
            raise SystemExit(1) from None
        if opts["json"]:
            print(json.dumps(report, indent=2))
        else:
            print(format_report(report))

    task.react(lambda reactor: Deferred.fromCoroutine(run(reactor)))
