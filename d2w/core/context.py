"""What the current request says about itself, for audit rows and logs.

Only request metadata (id and client address) is read here; services never read the acting
user from the request: they are given it.
"""

from __future__ import annotations

import uuid

from flask import g, has_request_context, request


def request_id() -> str | None:
    if has_request_context():
        return getattr(g, "request_id", None)
    return None


def client_ip() -> str | None:
    if has_request_context():
        return request.remote_addr
    return None


def new_request_id() -> str:
    return uuid.uuid4().hex
