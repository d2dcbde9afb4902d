"""
The fake counter: an in-process, deterministic stand-in for XTP.

C{FakeBackend(clock, config)} implements L{ofx.backends.interface.IXTPBackend}
from seeded market data (L{market}), exchange rules (L{rules}), a matcher
against the simulated book (L{matching}), a cash account (L{account}, L{fees})
and the day's records (L{orders}), over the stocks of L{universe}.
"""

from ofx.backends.fake.backend import FakeBackend

__all__ = ["FakeBackend"]
