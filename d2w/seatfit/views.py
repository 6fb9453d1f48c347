"""Seat-fit checks: run, read, rank every seat for a candidate, compare up to three."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import aliased

from d2w.audit import services as audit
from d2w.auth.models import User
from d2w.auth.policy import is_staff
from d2w.candidates.models import CandidateProfile
from d2w.candidates.services import ensure_profile
from d2w.core.access import acting_user, roles
from d2w.core.db import read
from d2w.core.errors import DomainError
from d2w.core.extensions import db
from d2w.core.forms import show_error
from d2w.core.pagination import Page, parse_id, parse_page
from d2w.seatfit import engine, policy, services
from d2w.seatfit.forms import STANCE_CHOICES, CheckForm
from d2w.seatfit.models import WARNING_LIST, SeatFitCheck, SeatFitFactor
from d2w.seats import queries as seat_queries
from d2w.seats.forms import SeatFilterForm
from d2w.seats.models import Seat
from d2w.seats.queries import find_seat

bp = Blueprint("seatfit", __name__, url_prefix="/seat-fit")

STANCE_VALUES = {value for value, _ in STANCE_CHOICES if value}


def _profile_for(actor, raw_id: str | None) -> CandidateProfile:
    """The candidate a page is about: a candidate's own; for staff the ?profile= one (404 if unknown)."""
    if actor.role == "candidate":
        return ensure_profile(actor)
    profile_id = parse_id(raw_id)
    profile = db.session.get(CandidateProfile, profile_id) if profile_id else None
    if profile is None or not policy.can_run_check(actor, profile):
        abort(404)
    return profile


def _stance_arg(raw: str | None) -> str | None:
    return raw if raw in STANCE_VALUES else None


def _audit_stance_seen(actor, profile: CandidateProfile, stance: str | None) -> None:
    """A staff member is shown a candidate's 2016 referendum vote (a political opinion, UK GDPR
    special category data): audited like every other staff read of a self-declared answer, with
    no value in the entry. Committed here: the page only reads."""
    if not is_staff(actor) or stance in (None, "unknown"):
        return
    audit.record(
        actor,
        "sensitive.viewed",
        object_type="candidate_profile",
        object_id=profile.id,
        summary="referendum vote, shown on a seat-fit page",
    )
    db.session.commit()


def _render_audited(actor, profile: CandidateProfile, shown_stance: str | None, template: str, **context) -> str:
    """The page, rendered before the audit of the shown vote is committed: the commit expires
    every loaded object, which the template would otherwise read back one query at a time."""
    page = render_template(template, profile=profile, **context)
    _audit_stance_seen(actor, profile, shown_stance)
    return page


# A row of the list of checks.
_LIST_COLUMNS = (
    SeatFitCheck.id,
    SeatFitCheck.profile_id,
    SeatFitCheck.seat_id,
    SeatFitCheck.run_at,
    SeatFitCheck.band,
    SeatFitCheck.score,
    Seat.name.label("seat_name"),
    Seat.boundary_set.label("seat_boundary_set"),
)


def _list_statements(scope: str, of_profile: bool):
    stmt = policy.checks_within(scope, select(SeatFitCheck), bindparam("actor_id"))
    if of_profile:
        stmt = stmt.where(SeatFitCheck.profile_id == bindparam("profile_id"))
    rows = (
        stmt.with_only_columns(*_LIST_COLUMNS)
        .join(Seat, Seat.id == SeatFitCheck.seat_id)
        .order_by(SeatFitCheck.run_at.desc(), SeatFitCheck.id.desc())
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    return stmt.with_only_columns(func.count(SeatFitCheck.id)), rows


# The list of checks (its count and one page), built once per scope of ``policy.visible_checks``
# and whether it is one candidate's.
_LISTS = {
    (scope, of_profile): _list_statements(scope, of_profile) for scope in policy.SCOPES for of_profile in (False, True)
}


@bp.route("/")
@roles("staff", "candidate")
def mine():
    """A candidate's checks, or (staff) one candidate's checks, or every recent check."""
    actor = acting_user()
    profile = None
    params = {"actor_id": actor.id}
    if actor.role == "candidate" or request.args.get("profile"):
        profile = _profile_for(actor, request.args.get("profile"))
        params["profile_id"] = profile.id
    # Rows of the columns the list shows (no check objects, no factors); the count is of the
    # visible checks alone. The statements are built once (per scope and whether of one candidate).
    count, rows = _LISTS[policy.scope_of(actor), profile is not None]
    total = read(count, params).scalar() or 0
    per_page = current_app.config["PAGE_SIZE"]
    number = min(parse_page(request.args.get("page")), max(1, math.ceil(total / per_page)))
    items = read(rows, {**params, "limit": per_page, "offset": (number - 1) * per_page}).all()
    page = Page(items=items, page=number, per_page=per_page, total=total)
    names = {}
    if profile is None and page.items:
        ids = {c.profile_id for c in page.items}
        rows = read(
            select(CandidateProfile.id, User.name)
            .join(User, User.id == CandidateProfile.user_id)
            .where(CandidateProfile.id.in_(ids))
        )
        names = dict(rows.all())
    return render_template(
        "seatfit/mine.html",
        page=page,
        profile=profile,
        names=names,
        valid_days=services.valid_days(),
        is_current=services.is_current,
    )


@bp.route("/new", methods=["GET", "POST"])
@roles("staff", "candidate")
def new():
    actor = acting_user()
    profile = _profile_for(actor, request.args.get("profile"))
    form = CheckForm()
    if request.method == "GET":
        seat_id = parse_id(request.args.get("seat"))
        seat = db.session.get(Seat, seat_id) if seat_id else None
        if seat is not None:
            form.seat.data = seat.name
            form.boundary_set.data = seat.boundary_set
    suggestions = []
    if form.validate_on_submit():
        seat = find_seat(form.seat.data, form.boundary_set.data)
        if seat is None:
            suggestions = seat_queries.seat_search(form.seat.data, form.boundary_set.data, limit=8)
            form.seat.errors.append(
                f"No seat called or coded {form.seat.data!r} on the {form.boundary_set.data} boundaries: "
                + ("choose one of the seats below, or " if suggestions else "")
                + "check the spelling, or find it in the seat browser."
            )
        else:
            try:
                saved = services.run_check(actor, profile, seat, form.stance.data or None)
            except DomainError as exc:
                db.session.rollback()
                show_error(form, exc)
            else:
                db.session.commit()
                return redirect(url_for("seatfit.detail", check_id=saved.id))
    declared = services.declared_stance(profile)
    _audit_stance_seen(actor, profile, declared)
    return render_template(
        "seatfit/new.html",
        form=form,
        profile=profile,
        declared=engine.STANCE_LABELS[declared],
        own=actor.role == "candidate",
        suggestions=suggestions,
    ), 200 if not form.errors else 400


class CheckRow(NamedTuple):
    """What a check's page shows of the check (a row: the page reads no ORM objects)."""

    id: int
    profile_id: int
    seat_id: int
    run_at: datetime
    stance: str
    home_region: str | None
    home_borough: str | None
    party: str
    ties_count: int
    thresholds: str
    band: str
    score: float
    warnings: str
    seat_name: str
    seat_boundary_set: str
    run_by_name: str

    warning_list = WARNING_LIST


class ProfileRow(NamedTuple):
    """The candidate of a check, as its page and the policies read it."""

    id: int
    user_id: int
    name: str


class FactorRow(NamedTuple):
    name: str
    score: float | None
    reason: str
    figures: str
    warning: bool

    @property
    def figure_lines(self) -> list[tuple[str, str]]:
        return SeatFitFactor.figure_lines.fget(self)


_run_by = aliased(User)
_candidate = aliased(User)
_CHECK_COLUMNS = (
    *(getattr(SeatFitCheck, name) for name in CheckRow._fields[:13]),
    Seat.name,
    Seat.boundary_set,
    _run_by.name,
    CandidateProfile.id,
    CandidateProfile.user_id,
    _candidate.name,
)
_FACTORS = (
    select(SeatFitFactor.name, SeatFitFactor.score, SeatFitFactor.reason, SeatFitFactor.figures, SeatFitFactor.warning)
    .where(SeatFitFactor.check_id == bindparam("check_id"))
    .order_by(SeatFitFactor.position)
)


def _check_statement(scope: str):
    visible = policy.checks_within(scope, select(SeatFitCheck.id), bindparam("actor_id")).where(
        SeatFitCheck.id == bindparam("check_id")
    )
    return (
        select(*_CHECK_COLUMNS, services.declared_stance_sql(CandidateProfile.id))
        .join(Seat, Seat.id == SeatFitCheck.seat_id)
        .join(_run_by, _run_by.id == SeatFitCheck.run_by_id)
        .join(CandidateProfile, CandidateProfile.id == SeatFitCheck.profile_id)
        .join(_candidate, _candidate.id == CandidateProfile.user_id)
        .where(SeatFitCheck.id == bindparam("check_id"), SeatFitCheck.id.in_(visible))
    )


# A check's page, built once per scope of ``policy.visible_checks``.
_CHECK = {scope: _check_statement(scope) for scope in policy.SCOPES}


def _get_check(check_id: int) -> tuple[CheckRow, ProfileRow, str]:
    """A check the actor may see, its candidate and the candidate's declared vote (one query of
    columns); 404 otherwise."""
    actor = acting_user()
    row = read(_CHECK[policy.scope_of(actor)], {"check_id": check_id, "actor_id": actor.id}).first()
    if row is None:
        abort(404)
    check, profile, declared = CheckRow(*row[:16]), ProfileRow(*row[16:19]), row[19]
    if not policy.can_view_check(actor, check, profile):
        abort(404)
    return check, profile, declared if declared in engine.STANCES else "unknown"


@bp.route("/<int(max=2147483647):check_id>")
@roles("staff", "candidate")
def detail(check_id: int):
    check, profile, declared = _get_check(check_id)
    factors = [FactorRow(*r) for r in read(_FACTORS, {"check_id": check.id})]
    return _render_audited(
        acting_user(),
        profile,
        check.stance,
        "seatfit/detail.html",
        check=check,
        factors=factors,
        current=services.is_current(check),
        # False for a what-if check (run against a vote other than the one on the profile): it
        # cannot back an application however new it is (see services.BINDING_STANCES).
        backs_applications=services.stance_binds(declared, check.stance),
        valid_days=services.valid_days(),
        band_labels=engine.BAND_LABELS,
        stance_labels=engine.STANCE_LABELS,
        party_name=engine.party_name,
    )


RANK_PAGE_SIZE = 50
_MARKER = 2147483647  # the largest id a route takes: stands for the id in a URL built once
BAND_TAG_CLASSES = {"good": "tag-green", "caution": "tag-amber", "poor": "tag-red"}


def _urls_by_id(endpoint: str, arg: str, **values) -> Callable[[int], str]:
    """``url_for(endpoint, **values, **{arg: id})`` for the many ids of a list, built once."""
    url = url_for(endpoint, **values, **{arg: _MARKER})
    if url.count(str(_MARKER)) != 1:
        return lambda id_: url_for(endpoint, **values, **{arg: id_})
    head, tail = url.split(str(_MARKER))
    return lambda id_: f"{head}{int(id_)}{tail}"


def _score_text(score: float | None) -> str:
    """The ``score_text`` macro of seatfit/_macros.html, for the many rows of the ranking."""
    return "not scored" if score is None else f"{score:g}/100"


_BAND_TAGS = {
    band: Markup('<span class="tag {}">{}</span>').format(BAND_TAG_CLASSES[band], engine.BAND_LABELS[band])
    for band in engine.BANDS
}


def _band_tag(band: str) -> Markup:
    """The ``band_tag`` macro of seatfit/_macros.html, for the many rows of the ranking."""
    return _BAND_TAGS[band]


@bp.route("/rank/<int(max=2147483647):profile_id>")
@roles("staff")
def rank(profile_id: int):
    """Every seat of a boundary set ranked for one candidate, with the seat browser's filters."""
    actor = acting_user()
    profile = db.session.get(CandidateProfile, profile_id)
    if profile is None or not policy.can_rank(actor, profile):
        abort(404)
    filters = seat_queries.parse_filters(request.args)
    form = SeatFilterForm(request.args)
    form.show_problems(filters.problems)
    seat_ids = None
    if filters.active:
        seat_ids = db.session.scalars(seat_queries.filtered_seats(filters).with_only_columns(Seat.id)).all()
    stance = _stance_arg(request.args.get("stance"))
    declared = services.declared_stance(profile)
    try:
        # The declared vote read once, for the ranking and for the form.
        ranked = services.rank_seats(actor, profile, filters.boundary_set, stance or declared, seat_ids)
    except DomainError as exc:
        abort(400, exc.message)
    band = request.args.get("band")
    if band in engine.BANDS:
        ranked = [pair for pair in ranked if pair[1].band == band]
    counts = dict.fromkeys(engine.BANDS, 0)
    for _, result in ranked:
        counts[result.band] += 1
    number = parse_page(request.args.get("page"))
    start = (number - 1) * RANK_PAGE_SIZE
    page = Page(items=ranked[start : start + RANK_PAGE_SIZE], page=number, per_page=RANK_PAGE_SIZE, total=len(ranked))
    return _render_audited(
        actor,
        profile,
        declared,
        "seatfit/rank.html",
        page=page,
        start=start,
        filters=filters,
        form=form,
        stance=stance or "",
        stance_choices=STANCE_CHOICES,
        declared=engine.STANCE_LABELS[declared],
        band=band if band in engine.BANDS else "",
        counts=counts,
        band_labels=engine.BAND_LABELS,
        party_name=engine.party_name,
        seat_url=_urls_by_id("seats.detail", "seat_id"),
        save_url=_urls_by_id("seatfit.new", "seat", profile=profile.id),
        row_band_tag=_band_tag,
        row_score_text=_score_text,
    )


@bp.route("/compare")
@roles("staff", "candidate")
def compare():
    """Up to three seats side by side for one candidate (nothing is saved)."""
    actor = acting_user()
    profile = _profile_for(actor, request.args.get("profile"))
    ids = []
    for raw in request.args.getlist("seat"):
        seat_id = parse_id(raw)
        if seat_id and seat_id not in ids:
            ids.append(seat_id)
    if len(ids) > 3:
        flash("You can compare up to three seats: showing the first three.", "error")
        ids = ids[:3]
    seats = db.session.scalars(select(Seat).where(Seat.id.in_(ids))).all() if ids else []
    seats.sort(key=lambda s: ids.index(s.id))
    stance = _stance_arg(request.args.get("stance"))
    results = services.compare(actor, profile, seats, stance) if seats else []
    if results and stance is None:  # the referendum factor speaks of the declared vote
        _audit_stance_seen(actor, profile, services.declared_stance(profile))
    return render_template(
        "seatfit/compare.html",
        profile=profile,
        results=results,
        factor_names=[
            ("referendum", "Referendum alignment"),
            ("winnability", "Winnability"),
            ("local_ties", "Local ties"),
            ("context", "Context (not scored)"),
        ],
        band_labels=engine.BAND_LABELS,
        own=actor.role == "candidate",
    )
