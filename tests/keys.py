"""
One derived key for the whole test run: deriving costs about 60 ms, and a
test that needs a codec should not pay it again.
"""

from __future__ import annotations

from ofx.wire import Codec, derive_key

SECRET = "test-shared-key"
BOX_KEY = derive_key(SECRET)
CODEC = Codec(BOX_KEY)
