"""Seat-fit verbs: gather the facts, run the engine, save a check with its inputs, rank seats.

Services take the acting user, flush and never commit. The seat figures of a boundary set are
read once and kept for SEATFIT_FACTS_CACHE_SECONDS (0 turns the cache off): seat data changes only
when ``flask d2w seats import`` runs, which clears it in its own process. Beside them are kept the
seats prepared for ranking (``engine.prepare_seats``) for each stance and set of thresholds: the
factors that depend on the seat only, the same for every candidate, so they hold nothing personal.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, func, or_, select

from d2w.audit import services as audit
from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile, SensitiveAnswer
from d2w.core.db import none_of, read, utcnow
from d2w.core.errors import DomainError, NotFound
from d2w.core.extensions import db
from d2w.engagement.services import verified_ties
from d2w.seatfit import engine, policy
from d2w.seatfit.models import SeatFitCheck, SeatFitFactor
from d2w.seats.models import Seat, SeatPartyShare, SeatResult

# The latest election on each boundary set: winnability is judged on it.
LATEST_ELECTION = {"2010": "2019", "2024": "2024"}

# (database, boundary set) -> (when read, facts, medians, {(stance, thresholds): prepared seats})
_cache: dict[
    tuple[str, str],
    tuple[float, list[engine.SeatFacts], engine.Medians, dict[tuple[str, engine.Thresholds], engine.PreparedSeats]],
] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def thresholds() -> engine.Thresholds:
    return engine.Thresholds.from_config(current_app.config)


def _load_facts(boundary_set: str, seat_ids: list[int] | None = None) -> list[engine.SeatFacts]:
    """Seat figures with the latest result and its party shares, in two queries (columns, not
    ORM objects: 650 seats are read faster so)."""
    election = LATEST_ELECTION[boundary_set]
    stmt = (
        select(
            Seat.id,
            Seat.ons_code,
            Seat.name,
            Seat.boundary_set,
            Seat.country,
            Seat.region,
            Seat.county,
            Seat.leave_pct,
            Seat.leave_basis,
            Seat.bme_pct,
            Seat.young_adult_pct,
            Seat.young_adult_band,
            Seat.age_65plus_pct,
            SeatResult.id,
            SeatResult.election,
            SeatResult.winner,
            SeatResult.second,
            SeatResult.majority_pct,
        )
        .outerjoin(SeatResult, (SeatResult.seat_id == Seat.id) & (SeatResult.election == election))
        .where(Seat.boundary_set == boundary_set)
        .order_by(Seat.name)
    )
    if seat_ids is not None:
        stmt = stmt.where(Seat.id.in_(seat_ids))
    rows = read(stmt).tuples().all()
    shares: dict[int, dict[str, float]] = {}
    if any(row[13] is not None for row in rows):
        share_stmt = (
            select(SeatPartyShare.result_id, SeatPartyShare.party, SeatPartyShare.share_pct)
            .join(SeatResult, SeatResult.id == SeatPartyShare.result_id)
            .join(Seat, Seat.id == SeatResult.seat_id)
            .where(Seat.boundary_set == boundary_set, SeatResult.election == election)
        )
        if seat_ids is not None:
            share_stmt = share_stmt.where(Seat.id.in_(seat_ids))
        for result_id, party, share in read(share_stmt).tuples():
            shares.setdefault(result_id, {})[party] = share
    facts = []
    for (
        seat_id,
        code,
        name,
        seat_boundary_set,
        country,
        region,
        county,
        leave_pct,
        leave_basis,
        bme_pct,
        young_adult_pct,
        young_adult_band,
        age_65plus_pct,
        result_id,
        result_election,
        winner,
        second,
        majority_pct,
    ) in rows:
        latest = None
        if result_id is not None:
            latest = engine.ResultFacts(
                election=result_election,
                winner=winner,
                second=second,
                majority_pct=majority_pct,
                shares=shares.get(result_id, {}),
            )
        facts.append(
            engine.SeatFacts(
                code=code,
                name=name,
                boundary_set=seat_boundary_set,
                country=country,
                region=region,
                county=county,
                leave_pct=leave_pct,
                leave_basis=leave_basis,
                bme_pct=bme_pct,
                young_adult_pct=young_adult_pct,
                young_adult_band=young_adult_band,
                age_65plus_pct=age_65plus_pct,
                latest=latest,
                seat_id=seat_id,
            )
        )
    return facts


def _cached_facts(boundary_set: str):
    """The cache entry of a boundary set: (when read, facts, medians, prepared seats by stance
    and thresholds), read now when the cache is off or the entry is missing or too old."""
    if boundary_set not in LATEST_ELECTION:
        raise DomainError("Choose the 2010 or 2024 boundaries.", field="boundary_set")
    ttl = float(current_app.config.get("SEATFIT_FACTS_CACHE_SECONDS", 0))
    key = (str(db.engine.url), boundary_set)
    now = time.monotonic()
    if ttl > 0:
        with _cache_lock:
            hit = _cache.get(key)
        if hit and now - hit[0] < ttl:
            return hit
    facts = _load_facts(boundary_set)
    entry = (now, facts, engine.national_medians(facts), {})
    if ttl > 0:
        with _cache_lock:
            _cache[key] = entry
    return entry


def seat_facts(boundary_set: str) -> tuple[list[engine.SeatFacts], engine.Medians]:
    """Every seat of a boundary set as engine facts, and the national medians over them."""
    _, facts, medians, _ = _cached_facts(boundary_set)
    return facts, medians


def prepared_seats(boundary_set: str, stance: str, t: engine.Thresholds) -> engine.PreparedSeats:
    """Every seat of a boundary set prepared for ranking candidates of this stance (see
    ``engine.prepare_seats``), kept with the seat figures. The key is the stance value and the
    thresholds, never a person: the entry is the same for everyone who gives that stance."""
    _, facts, medians, prepared = _cached_facts(boundary_set)
    key = (stance, t)
    with _cache_lock:
        hit = prepared.get(key)
    if hit is None:
        hit = engine.prepare_seats(facts, stance, t, medians)
        with _cache_lock:
            prepared[key] = hit
    return hit


def facts_for_seat(seat: Seat) -> tuple[engine.SeatFacts, engine.Medians]:
    facts, medians = seat_facts(seat.boundary_set)
    for fact in facts:
        if fact.seat_id == seat.id:
            return fact, medians
    raise NotFound()


def declared_stance(profile: CandidateProfile) -> str:
    """The candidate's self-declared 2016 vote (saved with consent), or "unknown"."""
    value = db.session.scalar(
        select(SensitiveAnswer.value).where(
            SensitiveAnswer.profile_id == profile.id, SensitiveAnswer.field == "eu_ref_vote"
        )
    )
    return value if value in engine.STANCES else "unknown"


def candidate_facts(profile: CandidateProfile, stance: str | None = None) -> engine.CandidateFacts:
    """What the engine may know of a candidate. Never their ethnic group."""
    ties = verified_ties(profile.id)
    codes = {tie.seat_code for tie in ties if tie.seat_code}
    names = {}
    if codes:
        names = dict(read(select(Seat.ons_code, Seat.name).where(Seat.ons_code.in_(codes))).tuples().all())
    return engine.CandidateFacts(
        stance=stance if stance is not None else declared_stance(profile),
        home_region=profile.home_region,
        home_borough=profile.home_borough,
        ties=tuple(
            engine.TieFacts(
                type_name=tie.type_name,
                region=tie.region,
                borough=tie.borough,
                seat_code=tie.seat_code,
                seat_name=names.get(tie.seat_code),
                community=tie.community,
            )
            for tie in ties
        ),
        languages=tuple(profile.language_list),
    )


def _check_stance(stance: str | None) -> str | None:
    if stance in (None, ""):
        return None
    if stance not in engine.STANCES:
        raise DomainError("Choose Leave, Remain, did not vote or prefer not to say.", field="stance")
    return stance


# The same person running the same check again this soon, with the same inputs and the same
# outcome, gets the check already saved.
DUPLICATE_WINDOW = timedelta(seconds=60)


def _same_recent_check(
    actor: User,
    profile: CandidateProfile,
    seat: Seat,
    candidate: engine.CandidateFacts,
    t: engine.Thresholds,
    result: engine.FitResult,
) -> SeatFitCheck | None:
    check = db.session.scalar(
        select(SeatFitCheck)
        .where(
            SeatFitCheck.profile_id == profile.id,
            SeatFitCheck.seat_id == seat.id,
            SeatFitCheck.run_by_id == actor.id,
            SeatFitCheck.run_at > utcnow() - DUPLICATE_WINDOW,
        )
        .order_by(SeatFitCheck.run_at.desc(), SeatFitCheck.id.desc())
        .limit(1)
    )
    if check is None:
        return None
    inputs = (candidate.stance, candidate.home_region, candidate.home_borough, t.party, len(candidate.ties))
    outcome = (t.describe(), result.band, result.score, "\n".join(result.warnings))
    saved = (check.stance, check.home_region, check.home_borough, check.party, check.ties_count)
    saved_outcome = (check.thresholds, check.band, check.score, check.warnings)
    factors = [
        (f.name, f.score, f.reason, "\n".join(f"{a}: {b}" for a, b in f.figures), f.warning) for f in result.factors
    ]
    saved_factors = [(f.name, f.score, f.reason, f.figures, f.warning) for f in check.factors]
    if (inputs, outcome, factors) == (saved, saved_outcome, saved_factors):
        return check
    return None


def run_check(actor: User, profile: CandidateProfile, seat: Seat, stance: str | None = None) -> SeatFitCheck:
    """Run a check for a candidate and a seat and save it with the inputs it used.

    ``stance`` is the referendum vote to use; None uses the candidate's declared answer."""
    if not policy.can_run_check(actor, profile):
        raise NotFound()
    stance = _check_stance(stance)
    candidate = candidate_facts(profile, stance)
    seat_fact, medians = facts_for_seat(seat)
    t = thresholds()
    result = engine.check(candidate, seat_fact, t, medians)
    same = _same_recent_check(actor, profile, seat, candidate, t, result)
    if same is not None:
        return same  # a double-click (or a resubmitted form) saves and audits one check, not two
    saved = SeatFitCheck(
        profile_id=profile.id,
        seat_id=seat.id,
        run_by_id=actor.id,
        run_at=utcnow(),
        stance=candidate.stance,
        home_region=candidate.home_region,
        home_borough=candidate.home_borough,
        party=t.party,
        ties_count=len(candidate.ties),
        thresholds=t.describe(),
        band=result.band,
        score=result.score,
        warnings="\n".join(result.warnings),
    )
    saved.factors = [
        SeatFitFactor(
            position=i,
            name=factor.name,
            score=factor.score,
            reason=factor.reason,
            figures="\n".join(f"{label}: {value}" for label, value in factor.figures),
            warning=factor.warning,
        )
        for i, factor in enumerate(result.factors)
    ]
    db.session.add(saved)
    db.session.flush()
    # The audit names the seat and the band, never the stance (a political opinion).
    audit.record(actor, "seatfit.checked", profile, summary=f"{seat.name} ({seat.boundary_set}): {result.band}")
    return saved


def valid_days() -> int:
    return int(current_app.config.get("SEATFIT_CHECK_VALID_DAYS", 90))


# A declared vote binds the checks an application may use: a check run with another stance (the
# form's "check against" choice) is a what-if, never the check a seat is applied for with.
# "Prefer not to say" and no answer bind nothing.
BINDING_STANCES = ("leave", "remain", "did_not_vote")


def declared_stance_sql(profile_id) -> ColumnElement:
    """The candidate's declared 2016 vote as a scalar subquery ("unknown" without an answer).
    ``profile_id`` is an id or a column (e.g. ``Application.profile_id``) to correlate with."""
    return func.coalesce(
        select(SensitiveAnswer.value)
        .where(SensitiveAnswer.profile_id == profile_id, SensitiveAnswer.field == "eu_ref_vote")
        .correlate_except(SensitiveAnswer)
        .scalar_subquery(),
        "unknown",
    )


def stance_usable(profile_id) -> ColumnElement:
    """SQL: the check's stance may back an application of this candidate (see BINDING_STANCES)."""
    declared = declared_stance_sql(profile_id)
    return or_(none_of(declared, BINDING_STANCES), SeatFitCheck.stance == declared)


def stance_binds(declared: str, check_stance: str) -> bool:
    """Python twin of ``stance_usable``: whether a check with ``check_stance`` may back an
    application of a candidate who declared ``declared``."""
    return declared not in BINDING_STANCES or check_stance == declared


# The newest check first (the one an application uses when several are usable).
NEWEST_FIRST = (SeatFitCheck.run_at.desc(), SeatFitCheck.id.desc())


def usable_checks(profile_id, seat_id, cutoff, *, any_stance: bool = False) -> tuple[ColumnElement, ...]:
    """SQL: the conditions of a check of this candidate and seat that may back an application:
    run after ``cutoff`` and, unless ``any_stance``, with the candidate's declared vote when they
    declared one. The ids and the cutoff are values, bound parameters or columns to correlate
    with (``Application.profile_id``); the one statement of the rule, with ``NEWEST_FIRST``."""
    conditions = (SeatFitCheck.profile_id == profile_id, SeatFitCheck.seat_id == seat_id, SeatFitCheck.run_at > cutoff)
    return conditions if any_stance else (*conditions, stance_usable(profile_id))


def latest_valid_check(
    profile_id: int, seat_id: int, now: datetime | None = None, *, any_stance: bool = False
) -> SeatFitCheck | None:
    """The newest check of this candidate and seat younger than SEATFIT_CHECK_VALID_DAYS that
    may back an application: run with the candidate's declared vote when they declared one
    (``any_stance`` drops that rule, to tell a what-if check from no check at all)."""
    cutoff = (now or utcnow()) - timedelta(days=valid_days())
    stmt = select(SeatFitCheck).where(*usable_checks(profile_id, seat_id, cutoff, any_stance=any_stance))
    return db.session.scalar(stmt.order_by(*NEWEST_FIRST).limit(1))


def is_current(check: SeatFitCheck, now: datetime | None = None) -> bool:
    return check.run_at > (now or utcnow()) - timedelta(days=valid_days())


def rank_seats(
    actor: User, profile: CandidateProfile, boundary_set: str, stance: str | None = None, seat_ids=None
) -> list[tuple[engine.SeatFacts, engine.RankedFit]]:
    """Every seat of a boundary set checked for one candidate, best first (nothing saved). Each
    result equals ``engine.check`` of that seat; its sentences are written when first read.

    ``seat_ids``, when given, keeps only those seats (the browser's filters)."""
    if not policy.can_rank(actor, profile):
        raise NotFound()
    stance = _check_stance(stance)
    if boundary_set not in LATEST_ELECTION:
        raise DomainError("Choose the 2010 or 2024 boundaries.", field="boundary_set")
    candidate = candidate_facts(profile, stance)
    seats = prepared_seats(boundary_set, candidate.stance, thresholds())
    if seat_ids is not None:
        seats = seats.only(seat_ids)
    return engine.rank_prepared(candidate, seats)


def compare(
    actor: User, profile: CandidateProfile, seats: list[Seat], stance: str | None = None
) -> list[tuple[engine.SeatFacts, engine.FitResult]]:
    """Up to three seats side by side for one candidate (nothing saved)."""
    if not policy.can_run_check(actor, profile):
        raise NotFound()
    if not 1 <= len(seats) <= 3:
        raise DomainError("Choose one, two or three seats to compare.", field="seat")
    candidate = candidate_facts(profile, _check_stance(stance))
    t = thresholds()
    by_set = {bs: seat_facts(bs) for bs in {seat.boundary_set for seat in seats}}
    out = []
    for seat in seats:
        facts, medians = by_set[seat.boundary_set]
        fact = next(f for f in facts if f.seat_id == seat.id)
        out.append((fact, engine.check(candidate, fact, t, medians)))
    return out
