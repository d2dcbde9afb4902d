"""
The XTP SDK binding (ctypes), selected by C{[xtp] backend = ctypes}.

L{settings_from_config} reads C{[xtp]}; L{CtypesBackend} is the
L{ofx.backends.interface.IXTPBackend} over the SDK. See C{docs/xtp.md}.
"""

from ofx.backends.xtp.api import SDKNotFound, find_sdk
from ofx.backends.xtp.backend import CtypesBackend
from ofx.backends.xtp.settings import XTPSettings, refuse_demo, settings_from_config

__all__ = [
    "CtypesBackend",
    "SDKNotFound",
    "XTPSettings",
    "find_sdk",
    "refuse_demo",
    "settings_from_config",
]
