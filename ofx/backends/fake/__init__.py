"""
The fake counter: an in-process, deterministic stand-in for XTP.

C{FakeBackend(clock, config)} implements L{ofx.backends.interface.IXTPBackend}
over the stocks of L{universe}: a market source (L{source}: the seeded walk
of L{market} or a recording replayed by L{replay}), the exchanges' trading
day (L{sessions}), the order flow through it (L{exchange}: exchange rules in
L{rules}, matching against the book in L{matching}), a cash account
(L{account}, L{fees}) and the day's records (L{orders}), which L{restore}
rebuilds from the gateway's journal after a restart. docs/fake-counter.md
describes it for users.
"""

from ofx.backends.fake.backend import FakeBackend

__all__ = ["FakeBackend"]
