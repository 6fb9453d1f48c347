"""Security headers, request ids and safe redirects."""

from __future__ import annotations

import re
import time
from contextlib import suppress
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature

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


# A signed-in person's form token (the session's CSRF secret, signed with a timestamp) is signed
# again for a page only once a minute per worker: every page carries one (the sign-out button),
# and signing it cost more than some pages' own query. The token is as good as one signed for the
# page: the same secret, and at most FORM_TOKEN_REUSE_SECONDS older within its 12-hour limit.
FORM_TOKEN_REUSE_SECONDS = 60
FORM_TOKENS_KEPT = 4096  # per worker; the oldest go first


def prime_form_token() -> None:
    """Put the session's recently signed form token where Flask-WTF looks for this request's token
    (``g.csrf_token``), or sign one now and keep it. For signed-in requests only: the session's
    secret is set at sign-in."""
    from flask_wtf.csrf import generate_csrf

    secret = session.get("csrf_token")
    if not isinstance(secret, str) or "csrf_token" in g:
        return
    config = current_app.config
    limit = config.get("WTF_CSRF_TIME_LIMIT")
    reuse = FORM_TOKEN_REUSE_SECONDS if limit is None else min(FORM_TOKEN_REUSE_SECONDS, limit / 10)
    kept = current_app.extensions.setdefault("d2w_form_tokens", {})
    now = time.monotonic()
    hit = kept.get(secret)
    if hit is not None and now - hit[1] < reuse:
        g.csrf_token = hit[0]
        return
    token = generate_csrf()
    kept.pop(secret, None)
    kept[secret] = (token, now)
    if len(kept) > FORM_TOKENS_KEPT:
        _drop_oldest(kept)


class KeptCookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, except that each worker remembers the cookies it has checked
    lately (their signature and their contents), so that a person's every page does not check the
    same cookie again: that took as long as some pages' own query.

    Only what was verified is remembered, keyed by the whole cookie; a remembered cookie still
    expires at the same moment (``PERMANENT_SESSION_LIFETIME`` after it was signed), and only
    cookies holding plain values (text, numbers, flags) are remembered, so no request can change
    another's copy. The cookie here holds the server-side session's token and the form secret;
    signing out ends the server-side session whatever the cookie says."""

    kept_limit = 4096  # cookies per worker; the oldest go first

    def __init__(self) -> None:
        self._kept: dict[str, tuple[dict, float]] = {}

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:
        val = request.cookies.get(self.get_cookie_name(app))
        if not val:
            return super().open_session(app, request)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        hit = self._kept.get(val)
        if hit is not None and 0 <= time.time() - hit[1] <= max_age:
            return self.session_class(hit[0])
        signer = self.get_signing_serializer(app)
        if signer is None:
            return None
        try:
            data, signed_at = signer.loads(val, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if isinstance(data, dict) and all(type(v) in _PLAIN for v in data.values()):
            self._keep(val, (dict(data), signed_at.timestamp()))
        return self.session_class(data)

    def _keep(self, val: str, entry: tuple[dict, float]) -> None:
        kept = self._kept
        kept.pop(val, None)
        kept[val] = entry
        if len(kept) > self.kept_limit:
            _drop_oldest(kept)


def _drop_oldest(kept: dict) -> None:
    with suppress(StopIteration, RuntimeError, KeyError):  # another thread of the worker got there first
        del kept[next(iter(kept))]


_PLAIN = frozenset({str, int, bool, float, type(None)})


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
