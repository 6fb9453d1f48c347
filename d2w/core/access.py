"""Default-deny access control.

Every endpoint is classified with exactly one of these decorators:

* ``@public``: anyone, signed in or not (login, password reset, health checks);
* ``@signed_in``: any signed-in user (their own home and account);
* ``@roles("staff", ...)``: signed-in users with one of the roles;
* ``@admin_only``: staff who are admins.

A ``before_request`` hook enforces the classification for every request. An endpoint with no
classification is refused (403) and logged, and a test walks ``app.url_map`` so that none can
ship. Object-level rules (which rows a user may see) live in each domain's ``policy.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, abort, current_app, flash, g, redirect, request, url_for
from flask_login import current_user

log = logging.getLogger(__name__)

# Endpoints registered by Flask or extensions rather than our views.
BUILTIN_PUBLIC_ENDPOINTS = frozenset({"static"})


@dataclass(frozen=True)
class Access:
    kind: str  # "public", "signed_in", "roles", "admin"
    roles: frozenset[str] = frozenset()

    def describe(self) -> str:
        if self.kind == "roles":
            return "roles:" + ",".join(sorted(self.roles))
        return self.kind


def _mark(access: Access) -> Callable:
    def decorator(view: Callable) -> Callable:
        if hasattr(view, "d2w_access"):
            raise RuntimeError(f"{view.__name__} is classified twice")
        view.d2w_access = access
        return view

    return decorator


public = _mark(Access("public"))
signed_in = _mark(Access("signed_in"))
admin_only = _mark(Access("admin"))


def roles(*names: str) -> Callable:
    if not names:
        raise ValueError("name at least one role")
    return _mark(Access("roles", frozenset(names)))


def access_of(app: Flask, endpoint: str) -> Access | None:
    if endpoint in BUILTIN_PUBLIC_ENDPOINTS:
        return Access("public")
    view = app.view_functions.get(endpoint)
    return getattr(view, "d2w_access", None)


def allows(access: Access, user) -> bool:
    """Whether a (possibly anonymous) user passes an endpoint's classification."""
    if access.kind == "public":
        return True
    if not user.is_authenticated:
        return False
    if access.kind == "signed_in":
        return True
    if access.kind == "roles":
        return user.role in access.roles
    if access.kind == "admin":
        return user.role == "staff" and bool(user.is_admin)
    return False


def enforce() -> None:
    """before_request: apply the endpoint's classification (default deny)."""
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: let Flask answer 404/405
        return None
    access = access_of(current_app, endpoint)
    if access is None:
        log.error("endpoint %s has no access classification; refused", endpoint)
        abort(403)
    if access.kind == "public":
        return None
    if not current_user.is_authenticated:
        if g.get("session_ended"):
            flash("Your session has ended. Please sign in again.", "info")
        target = request.full_path if request.method == "GET" else None
        if target and target.endswith("?"):
            target = target[:-1]
        return redirect(url_for("auth.login", next=target))
    if not allows(access, current_user):
        abort(403)
    return None


def acting_user():
    """The signed-in user as a plain model object, to hand to services and policies."""
    return current_user._get_current_object()
