"""Views of the programme domain: skills sessions, registers, the candidate's schedule and their
calendar feed."""

from __future__ import annotations

import re
from types import SimpleNamespace
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from d2w.auth.forms import ActionForm
from d2w.candidates.services import ensure_profile
from d2w.cohorts.models import Cohort
from d2w.core import generations
from d2w.core.access import acting_user, public, roles
from d2w.core.db import read, utcnow
from d2w.core.errors import Conflict, DomainError
from d2w.core.extensions import db
from d2w.core.forms import choices, show_error
from d2w.core.pagination import parse_page, parse_sort
from d2w.programme import ical, mailers, policy, rendering, rules, services
from d2w.programme.forms import EditSessionForm, RegisterForm, ScheduleForm, SessionFilterForm
from d2w.programme.models import ProgrammeSession
from d2w.programme.skills import ATTENDANCE, ATTENDANCE_LABELS

bp = Blueprint("programme", __name__, url_prefix="/sessions")
# The session table's rows, drawn by every page that includes programme/_session_table.html.
bp.add_app_template_global(rendering.session_rows, "session_rows")
# A session's time and place as programme/_macros.html's when() and where() draw them, and a
# form's hidden fields as form.hidden_tag() draws them.
bp.add_app_template_global(rendering.when, "session_when")
bp.add_app_template_global(rendering.where, "session_where")
bp.add_app_template_global(rendering.hidden_tag, "hidden_fields")
# A candidate's own attendance rows on their schedule.
bp.add_app_template_global(rendering.history_rows, "schedule_history_rows")
# Session ids in paths are capped at the largest 32-bit integer: bigger ones cannot exist, and
# answer 404 instead of overflowing the database driver.

_FEED_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@bp.context_processor
def _programme_templates():
    return {
        "programme_policy": policy,
        "attendance_choices": ATTENDANCE,
        "attendance_label": lambda status: ATTENDANCE_LABELS.get(status, "Not marked"),
        "register_fieldsets": rendering.register_fieldsets,
        "roster_rows": rendering.roster_rows,
    }


def _get_session(session_id: int) -> ProgrammeSession:
    s = db.session.scalar(policy.visible_sessions(acting_user()).where(ProgrammeSession.id == session_id))
    if s is None:
        abort(404)
    return s


def _get_session_view(session_id: int) -> services.SessionView:
    """The session's columns for pages that only show it (404 as ``_get_session``)."""
    s = services.session_view(acting_user(), session_id)
    if s is None:
        abort(404)
    return s


def _fields(form) -> services.SessionFields:
    return services.SessionFields(
        title=form.title.data,
        skill_area=form.skill_area.data,
        day=form.day.data,
        starts=form.starts.data,
        ends=form.ends.data,
        place=form.place.data,
        online_url=form.online_url.data,
        facilitator=form.facilitator.data,
        notes=form.notes.data,
    )


def _form_values(s: ProgrammeSession) -> SimpleNamespace:
    starts, ends = rules.to_london(s.starts_at), rules.to_london(s.ends_at)
    return SimpleNamespace(
        title=s.title,
        skill_area=s.skill_area,
        facilitator=s.facilitator,
        day=starts.date(),
        starts=starts.time().replace(tzinfo=None),
        ends=ends.time().replace(tzinfo=None),
        place=s.place,
        online_url=s.online_url,
        notes=s.notes,
    )


def _tell_cohort(sent: mailers.Sent, what: str) -> None:
    if sent.failed:
        flash(
            f"The {what} is saved, but {sent.failed} of {sent.sent + sent.failed} e-mails to the cohort could not "
            "be sent. Tell those candidates another way.",
            "warning",
        )
    elif sent.sent:
        flash(f"{sent.sent} candidate{'s were' if sent.sent != 1 else ' was'} told by e-mail.", "info")


# ---------------------------------------------------------------------------------------------
# Staff: the list, scheduling, editing and cancelling


@bp.route("/")
@roles("staff")
def index():
    actor = acting_user()
    # The same for everyone of the actor's kind (all staff): drawn once per query and kept until
    # the data changes, for a minute at most (a session counts as upcoming until it ends). The
    # key names the kind, not the person (staff only: see candidates.views.index).
    minute = utcnow().replace(second=0, microsecond=0)
    key = ("programme.index", actor.role, actor.is_admin, request.query_string, minute)
    body = generations.kept_markup(key, lambda: _draw_index(actor))
    return render_template("programme/index.html", body=body)


def _draw_index(actor) -> str:
    form = SessionFilterForm(request.args or None)
    cohorts = read(select(Cohort.id, Cohort.name).order_by(func.lower(Cohort.name), Cohort.id)).all()
    form.cohort.choices = choices([("", "Any cohort"), *((str(cid), name) for cid, name in cohorts)])
    when, cohort_id, skill = "upcoming", None, None
    if form.validate():
        when = form.when.data or "upcoming"
        cohort_id = int(form.cohort.data) if form.cohort.data else None
        skill = form.skill.data or None
    else:
        form = SessionFilterForm(formdata=None)
        form.cohort.choices = choices([("", "Any cohort"), *((str(cid), name) for cid, name in cohorts)])
    default_dir = "desc" if when == "past" else "asc"
    sort = parse_sort(
        request.args.get("sort"), request.args.get("dir") or default_dir, services.SESSION_SORTS, "starts"
    )
    page = services.session_page(
        actor,
        when=when,
        cohort_id=cohort_id,
        skill=skill,
        sort=sort,
        page=parse_page(request.args.get("page")),
        per_page=current_app.config["PAGE_SIZE"],
    )
    return render_template("programme/_index_body.html", form=form, page=page, rows=page.items, sort=sort, when=when)


@bp.route("/new", methods=["GET", "POST"])
@roles("staff")
def new():
    form = ScheduleForm()
    cohorts = read(
        select(Cohort.id, Cohort.name).where(Cohort.status == "open").order_by(func.lower(Cohort.name), Cohort.id)
    ).all()
    form.cohort.choices = choices([("", "Choose a cohort"), *((str(cid), name) for cid, name in cohorts)])
    preselect = request.args.get("cohort") or request.args.get("cohort_id")
    if request.method == "GET" and preselect:
        form.cohort.data = preselect
    if form.validate_on_submit():
        cohort = db.session.get(Cohort, int(form.cohort.data))
        try:
            sessions = services.schedule_sessions(acting_user(), cohort, _fields(form), weeks=form.weeks.data)
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            first, last = sessions[0], sessions[-1]
            db.session.commit()
            if len(sessions) == 1:
                flash("Session scheduled.", "success")
                return redirect(url_for("programme.detail", session_id=first.id))
            flash(
                f"{len(sessions)} weekly sessions scheduled, from {rules.to_london(first.starts_at):%-d %B} "
                f"to {rules.to_london(last.starts_at):%-d %B %Y}.",
                "success",
            )
            return redirect(url_for("programme.index", cohort=cohort.id, when="all"))
    return render_template("programme/new.html", form=form, has_cohorts=bool(cohorts))


@bp.route("/<int(max=2147483647):session_id>")
@roles("staff", "candidate")
def detail(session_id: int):
    actor = acting_user()
    if policy.can_view_roster(actor):
        s = _get_session_view(session_id)
        roster = services.session_roster(s)
        return render_template(
            "programme/detail.html",
            s=s,
            rows=roster.rows,
            summary=roster.summary,
            departed=roster.departed,
            threshold=services.at_risk_threshold(),
            register_open=policy.can_take_register(actor, s),
            mark_tags=rendering.MARK_TAGS,
        )
    # A candidate sees a session only through their own profile (policy.visible_sessions), with
    # their own mark.
    found = services.own_session_view(actor, session_id)
    if found is None:
        abort(404)
    s, mark = found
    return render_template("programme/detail_candidate.html", s=s, mark=ATTENDANCE_LABELS.get(mark) if mark else None)


@bp.route("/<int(max=2147483647):session_id>/edit", methods=["GET", "POST"])
@roles("staff")
def edit(session_id: int):
    actor = acting_user()
    s = _get_session(session_id)
    if not policy.can_edit_session(actor, s):
        flash("This session was cancelled and can no longer be changed.", "error")
        return redirect(url_for("programme.detail", session_id=s.id))
    form = EditSessionForm(obj=_form_values(s))
    if request.method == "GET":
        form.version.data = str(s.version)
    if form.validate_on_submit():
        try:
            version = int(form.version.data)
        except (TypeError, ValueError):
            version = -1
        try:
            change = services.update_session(actor, s, _fields(form), version=version)
        except Conflict as exc:
            db.session.rollback()
            s = _get_session(session_id)
            form = EditSessionForm(obj=_form_values(s), formdata=None)
            form.version.data = str(s.version)
            form.form_errors.append(exc.message)
            return render_template("programme/edit.html", form=form, s=s), 409
        except DomainError as exc:
            db.session.rollback()
            s = _get_session(session_id)
            show_error(form, exc)
        else:
            db.session.commit()
            flash("Changes saved.", "success")
            if change.notify:
                _tell_cohort(mailers.notify_changed(change), "change")
            return redirect(url_for("programme.detail", session_id=session_id))
    return render_template("programme/edit.html", form=form, s=s)


@bp.route("/<int(max=2147483647):session_id>/cancel", methods=["POST"])
@roles("staff")
def cancel(session_id: int):
    s = _get_session(session_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        change = services.cancel_session(acting_user(), s)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("Session cancelled.", "success")
        if change.notify:
            _tell_cohort(mailers.notify_cancelled(change), "cancellation")
    return redirect(url_for("programme.detail", session_id=session_id))


# ---------------------------------------------------------------------------------------------
# The register


def _posted_marks() -> dict[int, str]:
    marks = {}
    for key, value in request.form.items():
        if key.startswith("status-"):
            try:
                marks[int(key.removeprefix("status-"))] = value
            except ValueError:
                continue
    return marks


def _render_register(s, form, rows, *, lost=(), status=200):
    actor = acting_user()
    return (
        render_template(
            "programme/register.html",
            s=s,
            form=form,
            rows=rows,
            row_errors=[row for row in rows if row.error],
            lost=lost,
            can_take=policy.can_take_register(actor, s),
            opens_at=rules.register_opens_at(s.starts_at),
            threshold=services.at_risk_threshold(),
        ),
        status,
    )


@bp.route("/<int(max=2147483647):session_id>/register", methods=["GET", "POST"])
@roles("staff")
def register(session_id: int):
    actor = acting_user()
    form = RegisterForm()
    if request.method == "GET":
        s = _get_session_view(session_id)
        form.register_version.data = str(s.register_version)
        return _render_register(s, form, services.register_rows(s))
    s = _get_session(session_id)

    raw = form.register_version.data or ""
    seen = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else -1
    marks = _posted_marks()
    try:
        changed = services.save_register(actor, s, marks, seen_version=seen)
    except Conflict as exc:
        db.session.rollback()
        s = _get_session(session_id)
        rows = services.register_rows(s)
        lost = [
            (row.name, ATTENDANCE_LABELS[marks[row.profile_id]], ATTENDANCE_LABELS.get(row.saved, "Not marked"))
            for row in rows
            if marks.get(row.profile_id) in ATTENDANCE_LABELS and marks[row.profile_id] != row.saved
        ]
        form = RegisterForm(formdata=None)
        form.register_version.data = str(s.register_version)
        form.form_errors.append(exc.message)
        return _render_register(s, form, rows, lost=lost, status=409)
    except DomainError as exc:
        db.session.rollback()
        s = _get_session(session_id)
        rows = services.register_rows(s)
        for row in rows:
            chosen = marks.get(row.profile_id)
            row.chosen = chosen if chosen in ATTENDANCE_LABELS else None
            if exc.field == row.field_name:
                row.error = exc.message
        if not exc.field:
            form.form_errors.append(exc.message)
        return _render_register(s, form, rows)
    db.session.commit()
    flash(f"Register saved ({changed} mark{'s' if changed != 1 else ''} changed).", "success")
    return redirect(url_for("programme.detail", session_id=session_id))


# ---------------------------------------------------------------------------------------------
# The candidate's schedule and calendar feed


def _feed_url(token: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + url_for("programme.calendar_feed", token=token)


@bp.route("/mine")
@roles("candidate")
def mine():
    actor = acting_user()
    page, per_page = parse_page(request.args.get("page")), current_app.config["PAGE_SIZE"]
    schedule = services.own_schedule(actor, page, per_page)
    if schedule is None or not schedule.calendar_token:  # no profile yet, or no calendar: made on first use
        services.calendar_token(ensure_profile(actor))
        db.session.commit()
        schedule = services.own_schedule(actor, page, per_page)
    token = schedule.calendar_token
    feed_url = _feed_url(token)
    parts = urlsplit(feed_url)
    return render_template(
        "programme/mine.html",
        upcoming=schedule.upcoming,
        history=schedule.history,
        rate=schedule.rate,
        feed_url=feed_url,
        feed_path=url_for("programme.calendar_feed", token=token),
        webcal_url=parts._replace(scheme="webcal").geturl(),
    )


@bp.route("/mine/calendar/reset", methods=["POST"])
@roles("candidate")
def reset_calendar():
    if not ActionForm().validate_on_submit():
        abort(400)
    actor = acting_user()
    services.reset_calendar_token(actor, ensure_profile(actor))
    db.session.commit()
    flash(
        "Your calendar address has changed and the old one no longer works. Add the new address to your calendar app.",
        "success",
    )
    return redirect(url_for("programme.mine"))


@bp.route("/calendar/<token>.ics")
@public
def calendar_feed(token: str):
    """A candidate's sessions as iCalendar, for calendar apps. The token is the only key."""
    if not _FEED_TOKEN.match(token):
        abort(404)
    profile = services.profile_for_token(token)
    if profile is None:
        abort(404)
    domain = urlsplit(current_app.config["BASE_URL"]).hostname or "d2w.invalid"
    body = ical.build_calendar(services.feed_sessions(profile), uid_domain=domain, now=utcnow())
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": 'attachment; filename="diversity-to-win-sessions.ics"',
            "X-Robots-Tag": "noindex",
        },
    )
