"""
The bench's child processes: start them, wait for the line that says they
are ready (the event, never a sleep), keep draining their output, and kill
them at the end, on an error or on Ctrl-C.

Every child also exits by itself when its stdin closes, so a bench that dies
without cleaning up (SIGKILL) does not leave servers behind: the workers and
the bare server watch stdin on their reactor, and the gateway is started
through a few lines (L{_GATEWAY_BOOT}) that watch it in a thread.
"""

from __future__ import annotations

import os
import socket
import sys
from collections import deque
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.error import ProcessDone, ProcessExitedAlready, ProcessTerminated
from twisted.internet.interfaces import IProcessTransport
from twisted.internet.protocol import ProcessProtocol
from twisted.python.failure import Failure

import ofx

# Where the ofx package (and twisted/plugins/ofx_plugin.py) lives, so children
# run the same code as the bench even when it is not installed.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(ofx.__file__)))
SECRET_ENV = "OFX_BENCH_SECRET"

_GATEWAY_BOOT = (
    "import os, sys, threading\n"
    "def _watch():\n"
    "    sys.stdin.buffer.read()\n"
    "    os._exit(0)\n"
    "threading.Thread(target=_watch, daemon=True).start()\n"
    "from twisted.scripts.twistd import run\n"
    "run()\n"
)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (login must advertise ports before they listen)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stat(pid: int | str) -> list[bytes]:
    """The fields of C{/proc/PID/stat} from field 3 on (after the command name)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        return f.read().rsplit(b")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """
    User plus system CPU time so far of a process and its descendants (the
    gateway's journal writer is a child process), from C{/proc/PID/stat}
    (Linux).
    """
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                parents[int(name)] = int(_stat(name)[1])  # field 4, ppid
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
    family = {pid}
    grew = True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in family and child not in family:
                family.add(child)
                grew = True
    total = 0.0
    for member in family:
        try:
            fields = _stat(member)
        except OSError:
            if member == pid:
                raise
            continue
        # Fields 14 and 15 (utime, stime) of proc(5); the split starts at field 3.
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all CPUs, any process or interrupt), from C{/proc/stat}."""
    with open("/proc/stat", "rb") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class Child(ProcessProtocol):
    """
    One child process and its output, read line by line.

    L{wait_for} returns a Deferred that fires with the first line containing
    a marker; it fails if the process ends first. Only a tail of the output
    is kept (the gateway logs every order), for error messages.
    """

    transport: IProcessTransport

    def __init__(self, name: str, reactor: Any) -> None:
        self.name = name
        self._reactor = reactor
        self._partial = b""
        self.tail: deque[bytes] = deque(maxlen=60)
        self._waiters: list[tuple[bytes, Deferred[bytes]]] = []
        self.ended: Deferred[int | None] = Deferred()
        self.exit_code: int | None = None
        self.done = False

    @property
    def pid(self) -> int:
        assert self.transport is not None
        return int(self.transport.pid)

    def wait_for(self, marker: bytes, timeout: float) -> Deferred[bytes]:
        """Fire with the next output line containing C{marker}, or fail after C{timeout} seconds."""
        d: Deferred[bytes] = Deferred()
        if self.done:
            d.errback(self._died(f"waiting for {marker!r}"))
            return d
        self._waiters.append((marker, d))
        call = self._reactor.callLater(timeout, self._time_out, marker, d, timeout)

        def settled(result: Any) -> Any:
            if call.active():
                call.cancel()
            return result

        return d.addBoth(settled)

    def _time_out(self, marker: bytes, d: Deferred[bytes], timeout: float) -> None:
        self._forget(d)
        d.errback(
            RuntimeError(f"{self.name}: no {marker.decode()!r} within {timeout:g} s{self._tail_text()}")
        )

    def _forget(self, d: Deferred[bytes]) -> None:
        self._waiters = [(m, w) for m, w in self._waiters if w is not d]

    def send(self, line: bytes) -> None:
        """Write one line to the child's stdin."""
        if not self.done:
            self.transport.write(line + b"\n")

    def outReceived(self, data: bytes) -> None:
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            self.tail.append(line)
            if not self._waiters:
                continue
            for marker, d in list(self._waiters):
                if marker in line:
                    self._forget(d)
                    d.callback(line)

    errReceived = outReceived

    def processEnded(self, reason: Failure) -> None:
        self.done = True
        if reason.check(ProcessDone, ProcessTerminated):
            self.exit_code = getattr(reason.value, "exitCode", None)
        waiters, self._waiters = self._waiters, []
        for marker, d in waiters:
            d.errback(self._died(f"waiting for {marker!r}"))
        self.ended.callback(self.exit_code)

    def _tail_text(self) -> str:
        text = b"\n".join(list(self.tail)[-25:]).decode(errors="replace")
        return f"; its last output:\n{text}" if text else ""

    def _died(self, doing: str) -> RuntimeError:
        return RuntimeError(f"{self.name} exited ({self.exit_code}) while {doing}{self._tail_text()}")

    def stop(self, timeout: float) -> Deferred[int | None]:
        """Ask the process to stop (SIGTERM); kill it if it has not ended within C{timeout} seconds."""
        try:
            self.transport.signalProcess("TERM")
        except (ProcessExitedAlready, AttributeError):
            return self.ended
        call = self._reactor.callLater(timeout, self.kill)

        def ended(code: int | None) -> int | None:
            if call.active():
                call.cancel()
            return code

        return self.ended.addCallback(ended)

    def kill(self) -> Deferred[int | None]:
        """Kill the process (if it still runs); fires when it has ended."""
        try:
            self.transport.signalProcess("KILL")
        except (ProcessExitedAlready, AttributeError):
            pass
        return self.ended


def spawn(reactor: Any, name: str, args: list[str], folder: str, secret: str) -> Child:
    """Run C{python args...} in C{folder} with the bench secret in the environment."""
    child = Child(name, reactor)
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env[SECRET_ENV] = secret
    env.pop("PYTHONSTARTUP", None)
    reactor.spawnProcess(child, sys.executable, [sys.executable, *args], env=env, path=folder)
    return child


def spawn_gateway(reactor: Any, ini_path: str, folder: str, secret: str, profile: str | None = None) -> Child:
    """
    C{twistd -n --logger=ofx.logs.observer ofx --config ini_path}, logging to
    its stdout as the README starts it; under cProfile
    (C{twistd --profile}) if C{profile} names a file for the stats, which
    twistd writes when it is stopped with SIGTERM (see L{Child.stop}).
    """
    profiling = ["--profile", profile, "--profiler", "cprofile", "--savestats"] if profile else []
    args = ["-c", _GATEWAY_BOOT, "-n", "--pidfile=", "--logger=ofx.logs.observer", *profiling, "ofx", "--config", ini_path]
    return spawn(reactor, "gateway (twistd ofx)", args, folder, secret)


def gateway_ini(
    secret: str, login: int, quote: int, trade: int, interval: float, journal: bool = True
) -> str:
    """
    The gateway's ini: fake counter, loopback ports, demo user, cash enough
    for any run, and a counter that is always in continuous trading (so that
    the figures do not depend on the hour: outside trading hours the fake
    would hold or refuse every order); with C{journal} false, C{[ofx]
    journal = no} (entries kept in memory only, to see what writing them
    costs).
    """
    no_journal = "" if journal else "journal = no\n"
    return (
        f"[ofx]\nkey = {secret}\ndata = data\n{no_journal}"
        f"[login]\nlisten = tcp:{login}:interface=127.0.0.1\ndemo_user = yes\n"
        f"[quote]\nlisten = tcp:{quote}:interface=127.0.0.1\nadvertise = 127.0.0.1:{quote}\n"
        f"[trade]\nlisten = tcp:{trade}:interface=127.0.0.1\nadvertise = 127.0.0.1:{trade}\n"
        "[xtp]\nbackend = fake\n"
        f"[fake]\nseed = 1\ninterval = {interval:g}\ncash = 100000000000\npositions = 600000:10000\n"
        "always_open = yes\n"
    )
