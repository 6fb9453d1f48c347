"""Each role's home page, and the health endpoints for load balancers and monitors."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from d2w.audit.models import AuditEvent
from d2w.audit.policy import can_view_audit_log
from d2w.core.access import acting_user, public, signed_in
from d2w.core.extensions import db
from d2w.main import services

bp = Blueprint("main", __name__)


@bp.route("/")
@public
def index():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    return redirect(url_for("auth.login"))


@bp.route("/home")
@signed_in
def home():
    role = current_user.role
    if role == "staff":
        events = []
        if can_view_audit_log(current_user):
            events = db.session.scalars(
                select(AuditEvent)
                .options(joinedload(AuditEvent.actor))
                .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                .limit(8)
            ).all()
        from d2w.cohorts.models import Cohort
        from d2w.programme import services as programme

        cohorts = db.session.scalars(
            select(Cohort).where(Cohort.status == "open").order_by(Cohort.intake_start.desc(), Cohort.name)
        ).all()
        return render_template(
            "main/home_staff.html",
            people=services.people_summary(),
            expired_invitations=services.expired_invitations(),
            events=events,
            cohorts=cohorts,
            cohort_rates=programme.cohort_rates(c.id for c in cohorts),
            week=programme.this_week_sessions(),
            at_risk=programme.at_risk_candidates(limit=10),
        )
    if role == "candidate":
        return candidate_home()
    if role == "mentor":
        from d2w.mentoring.views import render_mentor_home

        return render_mentor_home(greeting=True)
    return render_template(f"main/home_{role}.html")


def candidate_home():
    from d2w.candidates.services import profile_of
    from d2w.programme import services as programme

    profile = profile_of(acting_user())
    upcoming = programme.upcoming_for(profile, limit=3) if profile else []
    rate = programme.candidate_rate(profile.id) if profile else None
    return render_template("main/home_candidate.html", profile=profile, upcoming=upcoming, rate=rate)


@bp.route("/healthz")
@public
def healthz():
    """Liveness: the process answers. No database call."""
    return jsonify(status="ok")


@bp.route("/readyz")
@public
def readyz():
    """Readiness: the database answers and is migrated to head."""
    ready, checks = services.readiness(current_app.extensions["migrate"].directory)
    return jsonify(status="ok" if ready else "unavailable", checks=checks), (200 if ready else 503)
