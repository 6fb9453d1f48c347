"""The user directory and account management (staff read; admins change)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from d2w.audit.models import AuditEvent
from d2w.audit.policy import can_view_audit_log
from d2w.auth.forms import ActionForm
from d2w.auth.mailers import send_password_link
from d2w.auth.models import User
from d2w.core.access import acting_user, admin_only, roles
from d2w.core.errors import Conflict, DomainError
from d2w.core.extensions import db
from d2w.core.forms import show_error
from d2w.core.pagination import parse_page, parse_sort
from d2w.users import policy, services
from d2w.users.forms import EditUserForm, InviteUserForm, UserFilterForm

bp = Blueprint("users", __name__, url_prefix="/users")


def _get_visible_user(user_id: int) -> User:
    user = db.session.scalar(policy.visible_users(acting_user()).where(User.id == user_id))
    if user is None:
        abort(404)
    return user


@bp.route("/")
@roles("staff")
def index():
    form = UserFilterForm(request.args or None)
    valid = form.validate()
    sort = parse_sort(request.args.get("sort"), request.args.get("dir"), services.DIRECTORY_SORTS, "name")
    page = services.directory_page(
        acting_user(),
        q=form.q.data if valid else "",
        role=form.role.data if valid else "",
        status=form.status.data if valid else "",
        sort=sort,
        page=parse_page(request.args.get("page")),
        per_page=current_app.config["PAGE_SIZE"],
    )
    return render_template("users/index.html", page=page, form=form, sort=sort)


@bp.route("/invite", methods=["GET", "POST"])
@admin_only
def invite():
    form = InviteUserForm()
    if form.validate_on_submit():
        try:
            user, raw = services.invite_user(
                acting_user(),
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                is_admin=form.is_admin.data,
            )
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            db.session.commit()
            if send_password_link(user, raw, "invite"):
                flash(f"Invitation sent to {user.email}.", "success")
            else:
                flash(
                    "The account was created but the invitation e-mail could not be sent. Use “Resend invitation”.",
                    "error",
                )
            return redirect(url_for("users.detail", user_id=user.id))
    return render_template("users/invite.html", form=form)


@bp.route("/<int:user_id>")
@roles("staff")
def detail(user_id: int):
    user = _get_visible_user(user_id)
    events = []
    if can_view_audit_log(acting_user()):
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "user", AuditEvent.object_id == str(user.id))
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(10)
        ).all()
    return render_template("users/detail.html", user=user, events=events, action_form=ActionForm())


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@admin_only
def edit(user_id: int):
    user = _get_visible_user(user_id)
    form = EditUserForm(obj=user)
    if request.method == "GET":
        form.version.data = str(user.version)
    if form.validate_on_submit():
        try:
            version = int(form.version.data)
        except (TypeError, ValueError):
            version = -1
        try:
            services.update_user(
                acting_user(),
                user,
                name=form.name.data,
                role=form.role.data,
                is_admin=form.is_admin.data,
                version=version,
            )
        except Conflict as exc:
            db.session.rollback()
            user = _get_visible_user(user_id)
            form = EditUserForm(obj=user, formdata=None)
            form.version.data = str(user.version)
            form.form_errors.append(exc.message)
            return render_template("users/edit.html", form=form, user=user), 409
        except DomainError as exc:
            db.session.rollback()
            user = _get_visible_user(user_id)
            show_error(form, exc)
        else:
            db.session.commit()
            flash("Changes saved.", "success")
            return redirect(url_for("users.detail", user_id=user.id))
    return render_template("users/edit.html", form=form, user=user)


def _post_action(user_id: int, action, done: str):
    """Run an admin button's service; return its result, or None if it was refused."""
    user = _get_visible_user(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        result = action(acting_user(), user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return None
    db.session.commit()
    flash(done, "success")
    return user, result


@bp.route("/<int:user_id>/deactivate", methods=["POST"])
@admin_only
def deactivate(user_id: int):
    _post_action(user_id, services.deactivate_user, "Account deactivated. Their sessions have ended.")
    return redirect(url_for("users.detail", user_id=user_id))


@bp.route("/<int:user_id>/reactivate", methods=["POST"])
@admin_only
def reactivate(user_id: int):
    _post_action(user_id, services.reactivate_user, "Account reactivated.")
    return redirect(url_for("users.detail", user_id=user_id))


@bp.route("/<int:user_id>/resend-invitation", methods=["POST"])
@admin_only
def resend_invitation(user_id: int):
    done = _post_action(
        user_id, services.resend_invitation, "A new invitation link has been sent; earlier links no longer work."
    )
    if done is not None:
        user, raw = done
        if not send_password_link(user, raw, "invite"):
            flash("The e-mail could not be sent. Try again later.", "error")
    return redirect(url_for("users.detail", user_id=user_id))
