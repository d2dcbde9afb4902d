"""
OFX's tests. Run them with C{trial tests} (what C{tox} does).

The hypothesis "ci" profile (no deadline: CI machines are slow and shared) is
loaded when the environment variable C{CI} is set, as C{.ci/run} does.
"""

import os

from hypothesis import settings

settings.register_profile("ci", deadline=None, max_examples=50)
settings.register_profile("dev", deadline=None, max_examples=25)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
