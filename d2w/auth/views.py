"""Sign in and out, password links, and a person's own account and sessions."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from d2w.auth import services as auth
from d2w.auth.forms import ActionForm, ChangePasswordForm, ForgotPasswordForm, LoginForm, SetPasswordForm
from d2w.auth.mailers import send_password_link
from d2w.core.access import acting_user, public, signed_in
from d2w.core.errorpages import render_error
from d2w.core.errors import DomainError, NotFound
from d2w.core.extensions import db, limiter
from d2w.core.forms import show_error
from d2w.core.security import is_safe_next, prime_form_token
from d2w.core.templating import format_datetime

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__, url_prefix="/auth")
account_bp = Blueprint("account", __name__, url_prefix="/account")

GENERIC_LOGIN_ERROR = "The e-mail address or password is not right, or the account is not active."


def load_user_from_session(_request):
    """Flask-Login request loader: the user of the live server-side session in the cookie."""
    raw = session.get("sid")
    loaded = auth.load_session(raw)
    if loaded is None:
        if raw:
            session.pop("sid", None)
            g.session_ended = True
        return None
    g.session_id = loaded.session_id
    g.user_id = str(loaded.user.id)  # for the request log
    prime_form_token()
    return loaded.user


def _start_session(token: str) -> None:
    session.clear()  # nothing from before sign-in survives it
    session["sid"] = token
    session.permanent = True
    # A new form token now (not the sign-in form's), so that the cookie is written once, here.
    g.pop("csrf_token", None)
    generate_csrf()


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _reset_limit() -> str:
    return current_app.config["PASSWORD_RESET_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    error = None
    if form.validate_on_submit():
        result = auth.authenticate(
            form.email.data,
            form.password.data,
            ip=request.remote_addr,
            user_agent=request.user_agent.string,
        )
        db.session.commit()
        if result.ok:
            _start_session(result.token)
            target = form.next.data if is_safe_next(form.next.data) else url_for("main.home")
            return redirect(target)
        if result.locked_until is not None:
            return render_error(
                429,
                "Sign-in is paused for this account",
                "There have been too many failed attempts. Try again after "
                f"{format_datetime(result.locked_until, '%H:%M')}, or reset your password.",
                retry_after=60,
            )
        error = GENERIC_LOGIN_ERROR
    elif request.method == "POST" and form.errors:
        error = "Enter your e-mail address and password."
    status = 200 if error is None else 401
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
@signed_in
def logout():
    form = ActionForm()
    if form.validate_on_submit():
        auth.end_session(session.get("sid"), actor=acting_user())
        db.session.commit()
        session.clear()
        flash("You have signed out.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@public
@limiter.limit(_reset_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        found = auth.request_password_reset(form.email.data)
        db.session.commit()
        if found is not None:
            user, raw = found
            send_password_link(user, raw, "reset")
        flash(
            "If there is an active account for that address, we have sent it a link to set a new password. "
            "The link works once, for 60 minutes.",
            "success",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_reset_limit, methods=["POST"])
def set_password(token: str):
    found = auth.find_valid_token(token)
    if found is None:
        return render_error(
            404,
            "This link has expired or has already been used",
            "Links to set a password work once and expire. Ask for a new one from the sign-in page, or ask the candidates department to resend your invitation.",
        )
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            auth.use_token(token, form.password.data)
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            db.session.commit()
            session.clear()
            flash("Your password is set. Sign in with it now.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/set_password.html", form=form, invited=found.purpose == "invite", user=found.user)


# ---------------------------------------------------------------------------------------------
# The signed-in person's own account


@account_bp.route("/")
@signed_in
def overview():
    sessions = auth.live_sessions(acting_user())
    return render_template(
        "account/overview.html", sessions=sessions, current_session_id=g.get("session_id"), action_form=ActionForm()
    )


@account_bp.route("/password", methods=["GET", "POST"])
@signed_in
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            auth.change_password(
                acting_user(),
                current=form.current_password.data,
                new=form.new_password.data,
                keep_session_id=g.get("session_id"),
            )
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            db.session.commit()
            flash("Your password has been changed. Your other devices have been signed out.", "success")
            return redirect(url_for("account.overview"))
    return render_template("account/change_password.html", form=form)


@account_bp.route("/sessions/<int:session_id>/end", methods=["POST"])
@signed_in
def end_session(session_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        return render_error(400)
    try:
        auth.revoke_own_session(acting_user(), session_id)
    except NotFound:
        return render_error(404)
    db.session.commit()
    if session_id == g.get("session_id"):
        session.clear()
        flash("You have signed out.", "success")
        return redirect(url_for("auth.login"))
    flash("That device has been signed out.", "success")
    return redirect(url_for("account.overview"))


@account_bp.route("/sessions/end-others", methods=["POST"])
@signed_in
def end_other_sessions():
    form = ActionForm()
    if form.validate_on_submit():
        n = auth.revoke_sessions(
            acting_user(),
            actor=acting_user(),
            keep_session_id=g.get("session_id"),
            reason="signed out of other devices",
        )
        db.session.commit()
        flash(f"Signed out of {n} other device{'s' if n != 1 else ''}.", "success")
    return redirect(url_for("account.overview"))


@account_bp.route("/sessions/end-all", methods=["POST"])
@signed_in
def end_all_sessions():
    form = ActionForm()
    if form.validate_on_submit():
        auth.revoke_sessions(acting_user(), actor=acting_user(), reason="signed out everywhere")
        db.session.commit()
        session.clear()
        flash("You have been signed out everywhere.", "success")
        return redirect(url_for("auth.login"))
    return redirect(url_for("account.overview"))
