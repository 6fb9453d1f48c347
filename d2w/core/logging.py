"""Structured logs with the request id. JSON lines in production, readable text elsewhere.

Only request metadata is logged (method, route pattern, status, time, user id): never form
values, query strings or path parameters, which may hold personal data or link tokens.
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(g, "request_id", "-") if has_request_context() else "-"
        return True


# PostgreSQL puts the clashing values of a unique key in its error detail ("Key (email)=(…)").
_KEY_DETAIL = re.compile(r"Key \((?P<cols>[^)]*)\)=\((?:[^()]|\([^()]*\))*\)")


def redact(text: str) -> str:
    """Remove values a database error may quote, keeping the column names."""
    return _KEY_DETAIL.sub(lambda m: f"Key ({m.group('cols')})=(…)", text)


class RedactingFormatter(logging.Formatter):
    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return redact(super().formatException(ei))

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(RedactingFormatter):
    FIELDS = ("method", "route", "endpoint", "status", "duration_ms", "user_id")

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key in self.FIELDS:
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(data, ensure_ascii=False))


def configure(app: Flask) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if app.config["LOG_JSON"]:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    logger = logging.getLogger("d2w")
    logger.handlers[:] = [handler]
    logger.setLevel(app.config["LOG_LEVEL"])
    logger.propagate = False
    app.logger.handlers[:] = [handler]
    app.logger.setLevel(app.config["LOG_LEVEL"])

    access = logging.getLogger("d2w.request")

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        started = getattr(g, "request_started", None)
        if started is not None and request.endpoint != "static":
            # the id noted when the session was loaded: asking the user object after the view
            # has committed would load it again
            user_id = g.get("user_id")
            rule = request.url_rule.rule if request.url_rule else "<unmatched>"
            access.info(
                "%s %s %s",
                request.method,
                rule,
                response.status_code,
                extra={
                    "method": request.method,
                    "route": rule,
                    "endpoint": request.endpoint,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": user_id,
                },
            )
        return response
