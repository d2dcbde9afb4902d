"""
Errors as values.

Every failure a client can cause or meet is an L{OFXError} carrying the wire
status and a message that names what was wrong. Only the dispatcher turns one
into a response line, so the mapping from failure to answer lives in one place.
"""

from __future__ import annotations

from typing import Any


class OFXError(Exception):
    """
    A failure answered to the client as C{{"stat": stat, "error": message}}.
    """

    __slots__ = ("stat", "message")

    def __init__(self, stat: int, message: str) -> None:
        super().__init__(stat, message)
        self.stat = stat
        self.message = message

    def as_answer(self) -> dict[str, Any]:
        return {"stat": self.stat, "error": self.message}

    def __repr__(self) -> str:
        return f"OFXError({self.stat}, {self.message!r})"


def bad_request(message: str) -> OFXError:
    """The line could not be read as a request (400)."""
    return OFXError(400, message)


def unauthorized(message: str) -> OFXError:
    """Wrong credentials or a missing, unknown or expired authcode (401)."""
    return OFXError(401, message)


def not_found(message: str) -> OFXError:
    """Unknown command or no such record (404)."""
    return OFXError(404, message)


def wrong_port(message: str) -> OFXError:
    """The command exists but is not served on this port (405)."""
    return OFXError(405, message)


def line_too_long(message: str) -> OFXError:
    """The line is longer than C{[ofx] max_line}; the connection closes (413)."""
    return OFXError(413, message)


def invalid(message: str) -> OFXError:
    """The params do not fit the command (422)."""
    return OFXError(422, message)


def unavailable(message: str) -> OFXError:
    """The counter (or a service the command needs) is not up (503)."""
    return OFXError(503, message)


INTERNAL = OFXError(500, "internal error; the gateway logged the details")
