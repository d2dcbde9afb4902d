"""
Running C{twistd -n ofx} as a real process for integration tests.

L{start_ofx} writes an ini file, starts the gateway and fires once every port
it listens on has logged "starting on" (the event, not a sleep). Ports are
picked free on 127.0.0.1 beforehand because login must advertise them.
Every process is killed at the end of the test, and waits are bounded by
trial's own timeout.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.error import ProcessDone, ProcessExitedAlready, ProcessTerminated
from twisted.internet.protocol import ProcessProtocol
from twisted.trial.unittest import TestCase

from tests.keys import SECRET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gateway_ini(
    quote: int, trade: int, login: int | None = None, login_server: int | None = None, extra: str = "",
    admin: int | None = None, admin_hash: str = "",
) -> str:
    lines = [f"[ofx]\nkey = {SECRET}\ndata = data\n", "[login]\n"]
    if login is not None:
        lines.append(f"listen = tcp:{login}:interface=127.0.0.1\ndemo_user = yes\n")
    if login_server is not None:
        lines.append(f"server = 127.0.0.1:{login_server}\nrecheck = 1\n")
    lines.append(
        f"[quote]\nlisten = tcp:{quote}:interface=127.0.0.1\nadvertise = 127.0.0.1:{quote}\n"
        f"[trade]\nlisten = tcp:{trade}:interface=127.0.0.1\nadvertise = 127.0.0.1:{trade}\n"
        "[xtp]\nbackend = fake\n"
        "[fake]\nseed = 7\ninterval = 0.2\nalways_open = yes\ncash = 1000000\npositions = 600000:10000, 000001:5000\n"
    )
    if admin is not None:  # the web console, its operator signing in with admin_hash's password
        lines.append(
            f"[admin]\nlisten = tcp:{admin}:interface=127.0.0.1\nuser = admin\npassword_hash = {admin_hash}\n"
            "monitor_interval = 1\ncustomer = 演示基金 Demo Fund\ndeployed = 2026-01-05\n"
        )
    return "".join(lines) + extra


class OFXProcess(ProcessProtocol):
    """Collects the output of one twistd process and tells when it is ready and when it ends."""

    def __init__(self, ports: list[str]) -> None:
        self.output = b""
        self._ports = ports
        self.ready: Deferred[OFXProcess] = Deferred()
        self.ended: Deferred[int] = Deferred()

    def outReceived(self, data: bytes) -> None:
        self.output += data
        if not self.ready.called and all(
            f"ofx-{p} starting on".encode() in self.output for p in self._ports
        ):
            self.ready.callback(self)

    errReceived = outReceived

    def processEnded(self, reason: Any) -> None:
        code = reason.value.exitCode if reason.check(ProcessDone, ProcessTerminated) else None
        if not self.ready.called:
            self.ready.errback(RuntimeError(f"twistd ofx exited ({code}) before it was ready:\n{self.output.decode(errors='replace')}"))
        self.ended.callback(code)

    def stop(self) -> Deferred[int]:
        try:
            self.transport.signalProcess("KILL")
        except ProcessExitedAlready:
            pass
        return self.ended


def run_twistd(test: TestCase, ini_text: str, ports: list[str], folder: str | None = None) -> Deferred[OFXProcess]:
    """Start C{twistd -n ofx} on C{ini_text}; fires when C{ports} listen."""
    folder = os.path.abspath(folder or test.mktemp())
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "ofx.ini")
    with open(path, "w") as f:
        f.write(ini_text)
    process = OFXProcess(ports)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    args = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
            "-n", "--pidfile=", "--logger=ofx.logs.observer", "ofx", "--config", path]  # fmt: skip
    reactor.spawnProcess(process, sys.executable, args, env=env, path=folder)
    test.addCleanup(process.stop)
    return process.ready
