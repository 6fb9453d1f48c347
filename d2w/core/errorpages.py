"""Friendly error pages. No traceback or internal detail ever reaches the browser."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Something was wrong with that request", "Go back, check what you entered and try again."),
    403: (
        "You cannot use this page",
        "Your account does not have access to it. If you think it should, ask the candidates department.",
    ),
    404: ("Page not found", "Check the address, or go back to your home page."),
    405: ("That action is not available here", "Go back and use the buttons on the page."),
    413: ("That upload is too large", "Choose a smaller file and try again."),
    429: ("Too many attempts", "Please wait a few minutes before you try again."),
    500: ("Sorry, something went wrong", "The problem has been logged. Try again in a moment."),
}


BARE_PAGE = (
    '<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>{title}</title>'
    '<link rel="stylesheet" href="/static/css/app.css"></head><body><main id="main" class="wrap">'
    '<h1>{title}</h1><p>{message}</p><p><a href="/">Go to the home page</a></p></main></body></html>'
)


def render_error(code: int, title: str | None = None, message: str | None = None, retry_after: int | None = None):
    default_title, default_message = MESSAGES.get(code, MESSAGES[500])
    title, message = title or default_title, message or default_message
    try:
        body = render_template("errors/error.html", code=code, title=title, message=message)
    except Exception:  # noqa: BLE001 - e.g. the database is down: still answer with a page
        log.exception("could not render the error page; sending the bare one")
        body = BARE_PAGE.format(title=escape(title), message=escape(message))
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return body, code, headers


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(
            400,
            "This form has expired",
            "For your security, forms stop working after a while or when you sign out. Go back, reload the page and try again.",
        )

    @app.errorhandler(429)
    def too_many(exc):
        log.warning("rate limit hit on %s", request.endpoint)
        return render_error(429, retry_after=60)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        if code not in MESSAGES:
            return exc
        return render_error(code)

    @app.errorhandler(Exception)
    def unhandled(exc):
        log.exception("unhandled error on %s", request.endpoint)
        from d2w.core.extensions import db

        try:
            db.session.rollback()  # a failed transaction must not break the error page too
        except Exception:  # noqa: BLE001
            log.exception("rollback after an error failed")
        return render_error(500)
