"""
Small HTTP helpers shared by the API and the pages: cookies, security
headers, reading a request's arguments, writing JSON. They use only what
both C{twisted.web.server.Request} and the tests' C{DummyRequest} offer.
"""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any

SECURITY_HEADERS = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"),
)


def secure(request: Any) -> None:
    for name, value in SECURITY_HEADERS:
        request.setHeader(name, value)


def cookie(request: Any, name: bytes) -> str | None:
    """The value of cookie C{name}, if the request has it."""
    raw = request.getHeader(b"cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw if isinstance(raw, str) else raw.decode("latin-1"))
    except Exception:
        return None
    morsel = jar.get(name.decode())
    return morsel.value if morsel is not None else None


def set_cookie(request: Any, name: bytes, value: str, max_age: int, secure_only: bool = False) -> None:
    """An HttpOnly, SameSite=Strict cookie for the whole site; C{max_age} 0 deletes it."""
    parts = [f"{name.decode()}={value}", "Path=/", "HttpOnly", "SameSite=Strict", f"Max-Age={max_age}"]
    if secure_only:
        parts.append("Secure")
    request.responseHeaders.addRawHeader(b"set-cookie", "; ".join(parts).encode("ascii"))


def peer(request: Any) -> str:
    address = request.getClientAddress()
    return str(getattr(address, "host", "?"))


def arguments(request: Any) -> dict[str, str]:
    """Query and form arguments, and the fields of a JSON object body, as strings (last wins)."""
    found: dict[str, str] = {}
    for key, values in (request.args or {}).items():
        if values:
            found[key.decode("utf-8", "replace")] = values[-1].decode("utf-8", "replace")
    content_type = (request.getHeader(b"content-type") or b"").split(b";")[0].strip().lower()
    body = getattr(request, "content", None)
    if content_type == b"application/json" and body is not None:
        body.seek(0)
        try:
            data = json.loads(body.read() or b"{}")
        except ValueError:
            raise ValueError("the body is not JSON") from None
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        found.update({str(k): "" if v is None else str(v) for k, v in data.items()})
    return found


def write_json(request: Any, status: int, value: Any) -> None:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json; charset=utf-8")
    request.write(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8"))
    request.finish()
