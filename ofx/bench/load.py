"""
A load worker: N clients pipelining a mix of commands at one server, timed.

Each client logs in on the login port (command C{000001}, as any client
does), opens the quote and trade connections the answer routes it to, and
then keeps C{window} requests in flight over the two: every answer sends the
next command of the mix. Requests are sealed before the clock starts (a pool
of lines per command, each with its own nonce), so the worker spends its CPU
on reading answers, not on encryption; an answer counts as good when its
Brotli-decompressed JSON carries C{"stat":200}.

Latency is the time from writing a request to reading its answer, taken with
C{time.perf_counter} in this process; with requests pipelined it includes
the time a request queues behind the others on its connection, as a real
pipelining client sees it.

C{python -m ofx.bench.load SPEC} (SPEC is L{LoadSpec} as JSON) prints
C{READY} once its clients are logged in, starts on a C{go} line on stdin,
warms up, measures, prints C{RESULT} and a JSON object, and exits. It also
exits if its stdin closes. The key comes from C{$OFX_BENCH_SECRET}.
"""

from __future__ import annotations

import binascii
import json
import os
import sys
import time
from collections import deque
from typing import Any

import attr
import brotli
from twisted.internet import stdio, task
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import ITransport
from twisted.protocols.basic import LineReceiver

from ofx.bench.children import SECRET_ENV, cpu_seconds, machine_busy_seconds
from ofx.client import OFXClientProtocol, routing
from ofx.wire import Codec, derive_key

QUOTE_CMD, ORDER_CMD = 100001, 210005
READY = b"READY"
RESULT = b"RESULT "
FAILED = b"FAILED "
POOL = 16  # sealed lines per command and client
_OK = b'"stat":200'


@attr.frozen
class LoadSpec:
    """What one worker process does."""

    host: str
    login_port: int
    clients: int
    window: int
    pattern: tuple[int, ...]  # the mix, as one cycle of command codes
    warmup: float
    seconds: float
    stock: dict[str, str]
    order: dict[str, Any]
    username: str = "demo"
    password: str = "demo"
    index: int = 0
    watch: tuple[int, ...] = ()  # pids whose CPU time to report (the server)

    def to_json(self) -> str:
        return json.dumps(attr.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LoadSpec:
        raw = json.loads(text)
        raw["pattern"] = tuple(raw["pattern"])
        raw["watch"] = tuple(raw["watch"])
        return cls(**raw)


class Recorder:
    """Counts and latencies of the answers read inside the measured window."""

    def __init__(self) -> None:
        self.measuring = False
        self.latencies: list[float] = []
        self.by_cmd: dict[int, int] = {}
        self.errors = 0
        self.first_error: str | None = None

    def start(self) -> None:
        self.measuring = True
        self.latencies = []
        self.by_cmd = {}
        self.errors = 0

    def answered(self, cmd: int, latency: float, line: bytes) -> None:
        if not self.measuring:
            return
        self.latencies.append(latency)
        self.by_cmd[cmd] = self.by_cmd.get(cmd, 0) + 1
        if _OK not in brotli.decompress(binascii.a2b_base64(line)):
            self.errors += 1
            if self.first_error is None:
                self.first_error = brotli.decompress(binascii.a2b_base64(line))[:200].decode(errors="replace")


class BenchConnection(LineReceiver):
    """One pipelined connection: a FIFO of (command, send time), one per request in flight."""

    delimiter = b"\n"
    MAX_LENGTH = 16 * 1024 * 1024
    transport: ITransport

    def __init__(self) -> None:
        self.client: LoadClient | None = None
        self._sent: deque[tuple[int, float]] = deque()

    def send(self, cmd: int, line: bytes) -> None:
        self._sent.append((cmd, time.perf_counter()))
        self.transport.write(line)

    def lineReceived(self, line: bytes) -> None:
        now = time.perf_counter()
        cmd, sent = self._sent.popleft()
        assert self.client is not None
        self.client.answered(cmd, now - sent, line)


class LoadClient:
    """One logged-in client: C{window} requests in flight over its quote and trade connections."""

    def __init__(
        self,
        recorder: Recorder,
        conns: dict[int, BenchConnection],
        lines: dict[int, list[bytes]],
        pattern: tuple[int, ...],
        offset: int,
        window: int,
    ) -> None:
        self.recorder = recorder
        self.conns = conns
        self.lines = lines
        self.pattern = pattern
        self.window = window
        self.running = False
        self._i = offset
        for conn in conns.values():
            conn.client = self

    def start(self) -> None:
        self.running = True
        for _ in range(self.window):
            self._send_next()

    def _send_next(self) -> None:
        i = self._i
        self._i = i + 1
        cmd = self.pattern[i % len(self.pattern)]
        pool = self.lines[cmd]
        self.conns[cmd].send(cmd, pool[i % len(pool)])

    def answered(self, cmd: int, latency: float, line: bytes) -> None:
        self.recorder.answered(cmd, latency, line)
        if self.running:
            self._send_next()

    def close(self) -> None:
        self.running = False
        for conn in self.conns.values():
            if conn.transport is not None:
                conn.transport.loseConnection()


def _sealed(codec: Codec, message: dict[str, Any]) -> list[bytes]:
    return [codec.encode_request(message) + b"\r\n" for _ in range(POOL)]


async def connect_client(
    reactor: Any, spec: LoadSpec, codec: Codec, recorder: Recorder, quote_lines: list[bytes], offset: int
) -> LoadClient:
    """Log in as a client would, then open the quote and trade connections it is routed to."""
    login = await connectProtocol(
        TCP4ClientEndpoint(reactor, spec.host, spec.login_port, timeout=30), OFXClientProtocol(codec)
    )
    try:
        answer = await login.request(1, {"username": spec.username, "password": spec.password})
    finally:
        login.close()
    (qhost, qport), (thost, tport), authcode = routing(answer, spec.host)
    quote = await connectProtocol(TCP4ClientEndpoint(reactor, qhost, qport, timeout=30), BenchConnection())
    trade = await connectProtocol(TCP4ClientEndpoint(reactor, thost, tport, timeout=30), BenchConnection())
    order = {"cmd": ORDER_CMD, "authcode": authcode, "params": spec.order}
    return LoadClient(
        recorder,
        {QUOTE_CMD: quote, ORDER_CMD: trade},
        {QUOTE_CMD: quote_lines, ORDER_CMD: _sealed(codec, order)},
        spec.pattern,
        offset,
        spec.window,
    )


class _Control(LineReceiver):
    """
    Our stdin and stdout, talking to the bench: a C{go} line starts the run,
    and the lines we print go through here (L{stdio.StandardIO} makes stdout
    non-blocking, so it must be written through its transport). C{closed}
    fires when the bench closes our stdin or we close stdout.
    """

    delimiter = b"\n"
    transport: ITransport

    def __init__(self) -> None:
        self.go: Deferred[None] = Deferred()
        self.closed: Deferred[None] = Deferred()

    def lineReceived(self, line: bytes) -> None:
        if line.strip() == b"go" and not self.go.called:
            self.go.callback(None)

    def connectionLost(self, reason: object = None) -> None:
        if not self.closed.called:
            self.closed.callback(None)


def _cpu(pids: tuple[int, ...]) -> dict[str, float]:
    """CPU seconds of the watched processes, and of the whole machine (as "machine") if any."""
    return {
        **{str(pid): cpu_seconds(pid) for pid in pids},
        **({"machine": machine_busy_seconds()} if pids else {}),
    }


async def run(reactor: Any, spec: LoadSpec, out: Any, go: Deferred[None]) -> dict[str, Any]:
    """Set up, report READY, wait for C{go}, warm up, measure; the result as a JSON-able dict."""
    codec = Codec(derive_key(os.environ[SECRET_ENV]))
    recorder = Recorder()
    quote_lines = _sealed(codec, {"cmd": QUOTE_CMD, "params": spec.stock})
    offset = spec.index * spec.clients
    clients = await gatherResults(
        [
            Deferred.fromCoroutine(connect_client(reactor, spec, codec, recorder, quote_lines, offset + i))
            for i in range(spec.clients)
        ],
        consumeErrors=True,
    )
    out(READY)
    await go
    for client in clients:
        client.start()
    await task.deferLater(reactor, spec.warmup)
    wall0, cpu0, watch0 = time.perf_counter(), time.process_time(), _cpu(spec.watch)
    recorder.start()
    await task.deferLater(reactor, spec.seconds)
    recorder.measuring = False
    wall1, cpu1, watch1 = time.perf_counter(), time.process_time(), _cpu(spec.watch)
    for client in clients:
        client.close()
    return {
        "index": spec.index,
        "clients": spec.clients,
        "elapsed": wall1 - wall0,
        "count": len(recorder.latencies),
        "by_cmd": {str(k): v for k, v in recorder.by_cmd.items()},
        "errors": recorder.errors,
        "first_error": recorder.first_error,
        "cpu": cpu1 - cpu0,
        "watch_cpu": {key: watch1[key] - watch0[key] for key in watch0},
        "latencies_us": [round(x * 1e6) for x in recorder.latencies],
    }


def main() -> None:
    spec = LoadSpec.from_json(sys.argv[1])
    control = _Control()
    finishing = False

    async def body(reactor: Any) -> None:
        nonlocal finishing
        try:
            result = await run(reactor, spec, control.sendLine, control.go)
        except Exception as e:  # the bench shows this line with the worker's exit
            line, code = FAILED + f"{type(e).__name__}: {e}".encode(errors="replace"), 1
        else:
            line, code = RESULT + json.dumps(result).encode(), 0
        finishing = True
        control.sendLine(line)
        control.transport.loseConnection()  # flushes stdout, then fires closed
        await control.closed
        raise SystemExit(code)

    def gone(_: None) -> None:
        if not finishing and reactor.running:
            reactor.stop()  # the bench closed our stdin: it is gone or gave up

    from twisted.internet import reactor

    stdio.StandardIO(control, reactor=reactor)
    control.closed.addCallback(gone)
    task.react(lambda r: Deferred.fromCoroutine(body(r)))


if __name__ == "__main__":
    main()
