"""
OFX (Octopus for XTP): one process holds the single XTP connection of an
account and lets any number of clients share it over plain TCP.
"""

__version__ = "0.1.0"
