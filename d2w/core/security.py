"""Security headers, request ids and safe redirects."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask, g, request

from d2w.core.context import new_request_id

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


# Control characters other than tab and line breaks have no place in typed text; PostgreSQL
# cannot even store NUL. Refusing them once here spares every form and filter.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def refuse_control_characters():
    """before_request: a 400 page for query strings or form fields with control characters."""
    from werkzeug.exceptions import BadRequest

    for source in (request.args, request.form):
        for value in source.values():
            if _CONTROL.search(value):
                raise BadRequest("control characters in the request")
    return None


def assign_request_id() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else new_request_id()


def set_headers(app: Flask):
    def after_request(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        if app.config["HSTS_ENABLED"]:
            h.setdefault("Strict-Transport-Security", f"max-age={app.config['HSTS_SECONDS']}; includeSubDomains")
        if request.endpoint != "static":
            # Pages can hold personal data: never keep them in a shared or browser cache.
            h["Cache-Control"] = "no-store"
            h.setdefault("Vary", "Cookie")
        rid = getattr(g, "request_id", None)
        if rid:
            h["X-Request-ID"] = rid
        return response

    return after_request


def is_safe_next(target: str | None) -> bool:
    """Only a path on this site: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or len(target) > 2000:
        return False
    if any(ord(c) < 32 or c == "\\" for c in target):
        return False
    if not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
