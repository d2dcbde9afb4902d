"""
The cost of one message on the gateway's hot path, in process, no sockets.

A gateway is built with L{ofx.tap.build_service} on the running reactor and
every service of it is started except the listening ports (C{login},
C{quote}, C{trade}); the dispatchers of those ports are then called
directly. For one request line of each command this times:

  - decode: L{Codec.decode_request} (base64, SecretBox, JSON);
  - encode: L{Codec.encode_answer} of that command's answer (JSON, Brotli,
    base64);
  - total: L{Dispatcher.handle} of the line, which is decode, dispatch and
    encode. Every 256 messages the loop waits for the answers still pending
    (an answer may be a Deferred) and lets the reactor run once, so the
    counter's events are delivered and counted in.

dispatch is total - decode - encode: routing, the authcode check, the params
schema, the handler and the (fake) counter call -- what the gateway adds to
the work the bare server also does. Log events are formatted by whatever
observer the process has (C{python -m ofx.bench} formats them as text, as
twistd does, into /dev/null).

Each figure is the best of five runs of C{n / 5} iterations, as C{timeit}
advises: slower runs measure other programs, not this code.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

from twisted.internet import task
from twisted.internet.defer import Deferred, gatherResults

from ofx.bench.children import gateway_ini
from ofx.config import config_from_string
from ofx.dispatch import Held
from ofx.heap import CollectorTuning
from ofx.tap import build_service
from ofx.wire import Codec, derive_key

BATCH = 256
REPEATS = 5
LISTENERS = ("login", "quote", "trade")
SECRET = "ofx-bench-in-process"


class InProcessGateway:
    """A gateway built by C{build_service}, driven by calling its port dispatchers."""

    def __init__(self, reactor: Any, folder: str, interval: float = 3600, journal: bool = True) -> None:
        ini = gateway_ini(SECRET, 1, 2, 3, interval, journal)
        config = config_from_string(ini, os.path.join(folder, "ofx.ini"))
        self.reactor = reactor
        self.top = build_service(config, reactor=reactor)
        CollectorTuning().setServiceParent(self.top)  # as twistd's makeService adds it
        self.codec = Codec(derive_key(SECRET), config.brotli_quality)
        self.dispatchers = {name: self.top.getServiceNamed(name).factory.dispatcher for name in LISTENERS}
        self._started: list[Any] = []

    async def start(self) -> None:
        """Start every service but the listeners, and wait until the counter is up."""
        for service in self.top:
            if service.name not in LISTENERS:
                await _maybe(service.startService())
                self._started.append(service)
        gateway = self.top.getServiceNamed("gateway")
        for _ in range(500):
            if gateway.backend.is_up("trade") and gateway.backend.is_up("quote"):
                return
            await task.deferLater(self.reactor, 0.01)
        raise RuntimeError("the in-process fake counter did not log in")

    async def stop(self) -> None:
        while self._started:
            await _maybe(self._started.pop().stopService())

    async def ask(self, port: str, message: dict[str, Any]) -> Any:
        """Send one request through a port's dispatcher; its answer, decoded."""
        line = await _maybe(self.dispatchers[port].handle(self.codec.encode_request(message)))
        await task.deferLater(self.reactor, 0)  # let the counter's events arrive
        return self.codec.decode_answer(line)


async def _maybe(value: Any) -> Any:
    if isinstance(value, Held):
        line: Deferred[bytes] = Deferred()
        value.when_sendable(line.callback)
        value = line
    return (await value) if isinstance(value, Deferred) else value


def _best_of(n: int, run: Callable[[int], float]) -> float:
    """Microseconds per message: the best of C{REPEATS} runs of C{n // REPEATS} messages."""
    each = max(1, n // REPEATS)
    return min(run(each) for _ in range(REPEATS)) / each * 1e6


def _loop(step: Callable[[], Any]) -> Callable[[int], float]:
    def run(count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            step()
        return time.perf_counter() - start

    return run


async def _handle_costs(gw: InProcessGateway, dispatcher: Any, line: bytes, n: int) -> float:
    """Microseconds per message of C{dispatcher.handle}, answers and counter events included."""
    each = max(1, n // REPEATS)
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        done = 0
        while done < each:
            pending = []
            held = []
            for _ in range(min(BATCH, each - done)):
                answer = dispatcher.handle(line)
                if type(answer) is Held:
                    held.append(answer)
                elif isinstance(answer, Deferred):
                    pending.append(answer)
            done += BATCH
            if held:
                # One Deferred for the batch: the connection's cost per held answer is one call.
                batch: Deferred[None] = Deferred()
                left = [len(held)]

                def sent(_line: bytes, left: list[int] = left, batch: Deferred[None] = batch) -> None:
                    left[0] -= 1
                    if not left[0]:
                        batch.callback(None)

                for answer in held:
                    answer.when_sendable(sent)
                pending.append(batch)
            if pending:
                await gatherResults(pending)
            await task.deferLater(gw.reactor, 0)
        best = min(best, time.perf_counter() - start)
    return best / each * 1e6


async def _costs(gw: InProcessGateway, port: str, line: bytes, answer: Any, n: int) -> dict[str, float]:
    codec = gw.codec
    decode = _best_of(n, _loop(lambda: codec.decode_request(line)))
    encode = _best_of(n, _loop(lambda: codec.encode_answer(answer)))
    total = await _handle_costs(gw, gw.dispatchers[port], line, n)
    if total < decode + encode:
        # The dispatcher sent the line it encoded before (a quote is encoded
        # once per snapshot, see ofx.dispatch.Reusable): no encode per message.
        return {"decode": decode, "dispatch": total - decode, "encode": 0.0, "total": total, "reused": 1.0}
    return {"decode": decode, "dispatch": total - decode - encode, "encode": encode, "total": total}


async def measure(
    reactor: Any,
    n: int,
    stock: dict[str, str],
    order_for: Callable[[dict[str, Any]], dict[str, Any]],
    journal: bool = True,
) -> dict[str, dict[str, float]]:
    """
    Microseconds per message of decode, dispatch, encode and total for
    C{100001} and C{210005}. C{order_for(quote)} makes the order params from
    the latest quote, as the bench's clients do.
    """
    with tempfile.TemporaryDirectory(prefix="ofx-bench-hot-") as folder:
        gw = InProcessGateway(reactor, folder, journal=journal)
        await gw.start()
        try:
            login = {"cmd": 1, "params": {"username": "demo", "password": "demo"}}
            authcode = (await gw.ask("login", login))["authcode"]
            await gw.ask("quote", {"cmd": 110001, "params": [stock]})
            quote: dict[str, Any] = {}
            for _ in range(200):
                quote = await gw.ask("quote", {"cmd": 100001, "params": stock})
                if quote.get("stat") == 200:
                    break
                await task.deferLater(reactor, 0.01)
            else:
                raise RuntimeError(f"the in-process gateway has no quote: {quote}")
            messages = {
                ("quote", 100001): {"cmd": 100001, "params": stock},
                ("trade", 210005): {"cmd": 210005, "authcode": authcode, "params": order_for(quote)},
            }
            costs: dict[str, dict[str, float]] = {}
            for (port, cmd), message in messages.items():
                answer = await gw.ask(port, message)
                if answer.get("stat") != 200:
                    raise RuntimeError(f"the in-process gateway refused {cmd:06d}: {answer}")
                costs[f"{cmd:06d}"] = await _costs(gw, port, gw.codec.encode_request(message), answer, n)
            return costs
        finally:
            await gw.stop()
