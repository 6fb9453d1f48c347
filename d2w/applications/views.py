"""Applications to seats: a candidate's own, staff's board, moves, overrides."""

from __future__ import annotations

import math

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import bindparam, func, or_, select

from d2w.applications import policy, rendering, rules, services
from d2w.applications.forms import (
    BoardFilterForm,
    CandidateLookupForm,
    MoveForm,
    NewApplicationForm,
    OverrideForm,
    SeatLookupForm,
)
from d2w.applications.models import STATUS_LABELS, Application
from d2w.auth.models import User
from d2w.candidates import policy as candidates_policy
from d2w.candidates.models import CandidateProfile
from d2w.candidates.services import ensure_profile
from d2w.cohorts.models import Cohort
from d2w.core import generations
from d2w.core.access import acting_user, roles
from d2w.core.db import read, utcnow
from d2w.core.errors import Conflict, DomainError
from d2w.core.extensions import db
from d2w.core.forms import choices, show_error
from d2w.core.pagination import Page, apply_sort, paginate, parse_id, parse_page, parse_sort
from d2w.seats.models import Seat

bp = Blueprint("applications", __name__, url_prefix="/applications")

# Applications per status column on the board; a column with more links to its full list.
BOARD_COLUMN_LIMIT = 12
MINE_SORTS = {"since": "since", "seat": func.lower(Seat.name), "status": Application.status}
LIST_SORTS = {"since": "since", "candidate": func.lower(User.name), "seat": func.lower(Seat.name)}


# for templates/applications/_macros.html, which pages import without their context
bp.add_app_template_global(STATUS_LABELS, "application_status_labels")
bp.add_app_template_global(rendering.status_tag, "application_status_tag")
bp.add_app_template_global(rendering.band_tag, "application_band_tag")


@bp.context_processor
def _applications_templates():
    return {
        "applications_policy": policy,
        "application_rules": rules,
        "status_labels": STATUS_LABELS,
    }


def _sorted(stmt, sort, allowed, tiebreak):
    key = allowed[sort.key]
    if isinstance(key, str):  # a labelled column of the statement
        column = stmt.selected_columns[key]
        return stmt.order_by(column.desc() if sort.descending else column.asc(), tiebreak)
    return apply_sort(stmt, sort, allowed, tiebreak)


def _version(raw) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return -1


def _shown(application_id: int) -> services.Shown:
    """The application with what its page shows, or 404 when the reader may not see it."""
    shown = services.shown(acting_user(), application_id)
    if shown is None:
        abort(404)
    return shown


# ---------------------------------------------------------------------------------------------
# A candidate's own applications


@bp.route("/mine")
@roles("candidate")
def mine():
    actor = acting_user()
    profile = ensure_profile(actor)
    sort = parse_sort(request.args.get("sort"), request.args.get("dir") or "desc", MINE_SORTS, "since")
    count, rows = _mine_statements(policy.scope_of(actor), sort)
    params = {"actor_id": actor.id, "profile_id": profile.id}
    total = read(count, params).scalar() or 0
    per_page = current_app.config["PAGE_SIZE"]
    number = min(parse_page(request.args.get("page")), max(1, math.ceil(total / per_page)))
    items = read(
        rows, {**params, "cutoff": services.check_cutoff(), "limit": per_page, "offset": (number - 1) * per_page}
    ).all()
    page = Page(items=items, page=number, per_page=per_page, total=total)
    return render_template("applications/mine.html", page=page, rows=services.rows_of(page.items), sort=sort)


# The candidate's list (its count and one page in each order), built once per scope of
# ``policy.visible_applications`` and order, when first asked for.
_MINE: dict[tuple, tuple] = {}


def _mine_statements(scope: str, sort) -> tuple:
    key = (scope, sort.key, sort.descending)
    found = _MINE.get(key)
    if found is None:
        visible = policy.applications_within(scope, select(Application), bindparam("actor_id")).where(
            Application.profile_id == bindparam("profile_id")
        )
        # Counted without the list's joins and subqueries (every application has its seat and candidate).
        count = visible.with_only_columns(func.count()).select_from(Application)
        rows = (
            _sorted(services.list_columns(visible, bindparam("cutoff")), sort, MINE_SORTS, Application.id.desc())
            .limit(bindparam("limit"))
            .offset(bindparam("offset"))
        )
        found = _MINE[key] = (count, rows)
    return found


# ---------------------------------------------------------------------------------------------
# Staff: the board


@bp.route("/")
@roles("staff")
def board():
    actor = acting_user()
    # The same for everyone of the actor's scope (all staff): drawn once per query and kept until
    # the data changes, for a minute at most (a fit check stops backing its band after
    # SEATFIT_CHECK_VALID_DAYS, to the minute).
    minute = utcnow().replace(second=0, microsecond=0)
    key = ("applications.board", policy.scope_of(actor), request.query_string, minute)
    body = generations.kept_markup(key, lambda: _draw_board(actor), topics=(generations.PROGRAMME, generations.SEATS))
    return render_template("applications/board.html", body=body)


def _draw_board(actor) -> str:
    form = BoardFilterForm(request.args or None)
    cohorts = read(select(Cohort.id, Cohort.name).order_by(Cohort.status.desc(), Cohort.name)).all()
    cohort_choices = choices([("", "Any cohort"), *[(str(c.id), c.name) for c in cohorts]])
    form.cohort.choices = cohort_choices
    filters = services.BoardFilters()
    if form.validate():
        filters = services.BoardFilters(
            cohort_id=parse_id(form.cohort.data), region=form.region.data or None, status=form.status.data or None
        )
    else:
        form = BoardFilterForm(formdata=None)
        form.cohort.choices = cohort_choices
    counts = services.status_counts(actor, filters)
    context = {"form": form, "filters": filters, "counts": counts, "total": sum(counts.values())}
    if filters.status is None:
        columns = services.board(actor, filters, BOARD_COLUMN_LIMIT, counts)
        return render_template("applications/_board_body.html", columns=columns, **context)
    stmt = services.filtered(services.list_statement(policy.visible_applications(actor)), filters)
    sort = parse_sort(request.args.get("sort"), request.args.get("dir") or "desc", LIST_SORTS, "since")
    stmt = _sorted(stmt, sort, LIST_SORTS, Application.id.desc())
    # The status's count (same filters) is the list's total.
    page = paginate(
        stmt,
        parse_page(request.args.get("page")),
        current_app.config["PAGE_SIZE"],
        scalars=False,
        total=counts[filters.status],
    )
    return render_template(
        "applications/_board_body.html", page=page, rows=services.rows_of(page.items), sort=sort, **context
    )


# ---------------------------------------------------------------------------------------------
# Starting an application


def _chosen_profile(actor) -> CandidateProfile | None:
    """The candidate the new application is for: a candidate themselves; for staff, the
    ``profile`` in the address (None until chosen). Unknown or hidden profiles answer 404."""
    raw = request.args.get("profile")
    if policy.is_candidate(actor):
        profile = ensure_profile(actor)
        if raw and parse_id(raw) != profile.id:
            abort(404)
        return profile
    if not raw:
        return None
    profile_id = parse_id(raw)
    profile = None
    if profile_id is not None:
        profile = db.session.scalar(candidates_policy.visible_profiles(actor).where(CandidateProfile.id == profile_id))
    if profile is None:
        abort(404)
    return profile


def _chosen_seat() -> Seat | None:
    raw = request.args.get("seat")
    if not raw:
        return None
    seat_id = parse_id(raw)
    seat = db.session.get(Seat, seat_id) if seat_id is not None else None
    if seat is None:
        abort(404)
    return seat


def _candidate_matches(actor, text: str | None) -> list[CandidateProfile]:
    text = (text or "").strip().lower()
    if not text:
        return []
    like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(
        db.session.scalars(
            candidates_policy.visible_profiles(actor)
            .join(User, User.id == CandidateProfile.user_id)
            .where(User.role == "candidate")
            .where(or_(func.lower(User.name).like(like, escape="\\"), User.email.like(like, escape="\\")))
            .order_by(func.lower(User.name), CandidateProfile.id)
            .limit(20)
        )
    )


@bp.route("/new", methods=["GET", "POST"])
@roles("staff", "candidate")
def new():
    actor = acting_user()
    profile = _chosen_profile(actor)
    seat = _chosen_seat()
    who = CandidateLookupForm(request.args)
    lookup = SeatLookupForm(request.args)
    if not lookup.validate():
        lookup = SeatLookupForm(formdata=None)
    form = NewApplicationForm()
    if request.method == "GET":
        form.on.data = services.today()
    status = 200
    if request.method == "POST":
        if profile is None or seat is None:
            abort(400)
        if form.validate_on_submit():
            try:
                application = services.create_application(actor, profile, seat, form.notes.data, on=form.on.data)
            except DomainError as exc:
                db.session.rollback()
                profile, seat = _chosen_profile(actor), _chosen_seat()
                show_error(form, exc)
            else:
                db.session.commit()
                flash(f"Application for {seat.name} started.", "success")
                return redirect(url_for("applications.detail", application_id=application.id))
        elif form.csrf_token.errors:
            abort(400)
        status = 400
    existing = services.open_application_for(profile.id, seat.id) if profile and seat else None
    check = services.usable_check(profile.id, seat.id) if profile and seat else None
    return (
        render_template(
            "applications/new.html",
            profile=profile,
            seat=seat,
            who=who,
            candidates=_candidate_matches(actor, who.who.data) if profile is None and who.validate() else [],
            lookup=lookup,
            seats=services.find_seats(lookup.q.data, lookup.boundaries.data or "2024") if seat is None else [],
            form=form,
            existing=existing,
            check=check,
        ),
        status,
    )


# ---------------------------------------------------------------------------------------------
# One application: its history, moves and the override


def _move_form(application: Application, *, submitted: bool = False) -> MoveForm:
    """The move form, with the next statuses this application may take as its choices."""
    form = MoveForm() if submitted else MoveForm(formdata=None)
    form.to_status.choices = choices(
        [("", "Choose what happened"), *((s, rules.move_label(s)) for s in rules.allowed_moves(application.status))]
    )
    return form


def _render_detail(shown: services.Shown, *, move_form=None, override_form=None, status=200):
    actor = acting_user()
    application, profile, check = shown.application, shown.applicant, shown.check
    # The forms are made only when the page shows them.
    can_edit = policy.can_edit_application(actor, application, profile.user_id) and application.is_open
    can_override = policy.can_override(actor) and services.override_needed(application, check)
    if can_edit:
        if move_form is None:
            move_form = _move_form(application)
            move_form.on.data = services.today()
        move_form.version.data = str(application.version)
    if can_override:
        if override_form is None:
            override_form = OverrideForm(formdata=None)
        override_form.version.data = str(application.version)
    block = None
    if application.status in rules.BEFORE_SUBMISSION:
        block = rules.submission_block(check.band if check else None, services.override_covers(application, check))
    return (
        render_template(
            "applications/detail.html",
            a=application,
            profile=profile,
            events=services.history(application),
            check=check,
            recorded=shown.recorded,
            override_by=shown.override_by,
            block=block,
            valid_days=services.valid_days(),
            can_edit=can_edit,
            can_override=can_override,
            # Whether the override covers the newest check (the "Next step" line should use this
            # rather than ``a.override_at is not none``).
            overridden=services.override_covers(application, check),
            move_form=move_form,
            override_form=override_form,
        ),
        status,
    )


@bp.route("/<int(max=2147483647):application_id>")
@roles("staff", "candidate")
def detail(application_id: int):
    return _render_detail(_shown(application_id))


@bp.route("/<int(max=2147483647):application_id>/move", methods=["POST"])
@roles("staff", "candidate")
def move(application_id: int):
    actor = acting_user()
    shown = _shown(application_id)
    application = shown.application
    form = _move_form(application, submitted=True)
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _render_detail(shown, move_form=form, status=400)
    to_status = form.to_status.data
    try:
        services.move(
            actor, application, to_status, on=form.on.data, note=form.note.data, version=_version(form.version.data)
        )
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("applications.detail", application_id=application_id))
    except DomainError as exc:
        db.session.rollback()
        shown = _shown(application_id)
        form.to_status.choices = _move_form(shown.application).to_status.choices
        show_error(form, exc)
        return _render_detail(shown, move_form=form, status=400)
    db.session.commit()
    flash(f"Recorded: {rules.move_label(to_status).lower()}.", "success")
    return redirect(url_for("applications.detail", application_id=application_id))


@bp.route("/<int(max=2147483647):application_id>/override", methods=["POST"])
@roles("staff")
def override(application_id: int):
    actor = acting_user()
    shown = _shown(application_id)
    application = shown.application
    form = OverrideForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _render_detail(shown, override_form=form, status=400)
    try:
        services.override(actor, application, form.reason.data, version=_version(form.version.data))
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("applications.detail", application_id=application_id))
    except DomainError as exc:
        db.session.rollback()
        shown = _shown(application_id)
        show_error(form, exc)
        return _render_detail(shown, override_form=form, status=400)
    db.session.commit()
    flash("Override recorded. The application can now be submitted with this fit check.", "success")
    return redirect(url_for("applications.detail", application_id=application_id))
