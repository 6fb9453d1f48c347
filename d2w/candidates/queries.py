"""Read-side queries of the profile page: one visible profile with everything it shows.

And the staff's candidate list. Kept apart from services (which programme.services imports,
through cohorts) because they use the programme's at-risk rule and attendance figures.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import Integer, String, bindparam, case, exists, func, or_, select
from sqlalchemy.orm import joinedload

from d2w.auth.models import User
from d2w.candidates.choices import STAGE_VALUES
from d2w.candidates.models import CandidateProfile
from d2w.candidates.policy import visible_profiles
from d2w.cohorts.models import HOLDS_PLACE, Cohort, Enrolment
from d2w.core.db import built_once, one_of, read
from d2w.core.pagination import Page, Sort, apply_sort, paginate
from d2w.programme.services import Rate, at_risk_condition, own_attendance

# Built once: whether the profile is at risk (the programme's rule, its threshold a parameter)
# and its attendance figures, added to the policy's statement of visible profiles.
_PAGE_COLUMNS = (at_risk_condition(bindparam("threshold")), *own_attendance(CandidateProfile.id))
_PAGE_OPTIONS = joinedload(CandidateProfile.languages)


@dataclass
class ProfilePage:
    profile: CandidateProfile
    at_risk: bool
    attendance: Rate


def _page_statement(actor):
    """The policy's visible profiles (for ``actor``, or a stand-in for a kind of user), narrowed to
    ``:profile_id``, with the page's columns."""
    return (
        visible_profiles(actor)
        .where(CandidateProfile.id == bindparam("profile_id", type_=Integer))
        .options(_PAGE_OPTIONS)
        .add_columns(*_PAGE_COLUMNS)
    )


def profile_page(actor, profile_id: int, threshold: int) -> ProfilePage | None:
    """One profile the actor may see (``policy.visible_profiles``) with its user and languages,
    whether it is at risk (the programme's rule) and its attendance, in one query; None if the
    actor may not see it. The statement is built once per kind of user (``built_once``)."""
    stmt, params = built_once(("candidates.profile_page",), actor, _page_statement)
    row = read(stmt, {**params, "profile_id": profile_id, "threshold": threshold}).unique().first()
    if row is None:
        return None
    profile, at_risk, attended, marked = row
    return ProfilePage(profile, bool(at_risk), Rate(int(attended or 0), int(marked or 0)))


# ---------------------------------------------------------------------------------------------
# The candidate list (staff)

STAGE_ORDER = case({v: i for i, v in enumerate(STAGE_VALUES)}, value=CandidateProfile.stage)
LIST_SORTS = {
    "name": func.lower(User.name),
    "stage": STAGE_ORDER,
    "region": CandidateProfile.home_region,
    "absences": CandidateProfile.consecutive_absences,
    "added": CandidateProfile.created_at,
}


class CandidateRow(NamedTuple):
    """A candidate as the list shows them; at_risk by the programme's rule."""

    id: int
    name: str
    email: str
    stage: str
    home_region: str | None
    home_borough: str | None
    consecutive_absences: int
    at_risk: bool


@dataclass(frozen=True)
class ListFilters:
    """The list's filters, each empty when not used."""

    q: str = ""
    cohort_id: int | None = None
    stage: str = ""
    region: str = ""
    at_risk: bool = False


def candidate_list(actor, filters: ListFilters, sort: Sort, page: int, per_page: int, threshold: int) -> Page:
    """A page of the profiles the actor may see (``policy.visible_profiles``) as CandidateRows,
    filtered and sorted; the statement is built once per kind of user and shape of filter
    (``built_once``), with the values bound at run time."""
    q = filters.q.strip().lower()
    key = sort.key if sort.key in LIST_SORTS else "name"
    shape = (bool(q), filters.cohort_id is not None, bool(filters.stage), bool(filters.region), filters.at_risk)
    stmt, params = built_once(
        ("candidates.list", shape, key, sort.descending),
        actor,
        lambda shaped: _list_statement(shaped, shape, Sort(key, sort.descending)),
    )
    params.update(threshold=threshold, like=f"%{q}%", cohort_id=filters.cohort_id)
    params.update(stage=filters.stage, region=filters.region)
    found = paginate(stmt, page, per_page, scalars=False, params=params)
    found.items = [CandidateRow(*row[:-1], bool(row[-1])) for row in found.items]
    return found


def _list_statement(actor, shape, sort: Sort):
    by_text, by_cohort, by_stage, by_region, only_at_risk = shape
    at_risk = at_risk_condition(bindparam("threshold", type_=Integer))
    stmt = (
        visible_profiles(actor)
        .with_only_columns(
            CandidateProfile.id,
            User.name,
            User.email,
            CandidateProfile.stage,
            CandidateProfile.home_region,
            CandidateProfile.home_borough,
            CandidateProfile.consecutive_absences,
            at_risk,
        )
        .join(User, User.id == CandidateProfile.user_id)
    )
    if by_text:
        like = bindparam("like", type_=String)
        stmt = stmt.where(or_(func.lower(User.name).like(like), User.email.like(like)))
    if by_cohort:
        stmt = stmt.where(
            exists().where(
                Enrolment.profile_id == CandidateProfile.id,
                Enrolment.cohort_id == bindparam("cohort_id", type_=Integer),
                one_of(Enrolment.status, HOLDS_PLACE),
            )
        )
    if by_stage:
        stmt = stmt.where(CandidateProfile.stage == bindparam("stage", type_=String))
    if by_region:
        stmt = stmt.where(CandidateProfile.home_region == bindparam("region", type_=String))
    if only_at_risk:
        stmt = stmt.where(at_risk)
    return apply_sort(stmt, sort, LIST_SORTS, CandidateProfile.id)


# The cohorts of the list's filter, newest first (built once)
_FILTER_COHORTS = select(Cohort.id, Cohort.name).order_by(Cohort.status.desc(), Cohort.name)


def filter_cohorts() -> list[tuple[int, str]]:
    return [(cohort_id, name) for cohort_id, name in read(_FILTER_COHORTS)]


class PlaceRow(NamedTuple):
    """A place held in a cohort, as the candidate list shows it."""

    profile_id: int
    cohort_id: int
    cohort_name: str


_PLACES = (
    select(Enrolment.profile_id, Enrolment.cohort_id, Cohort.name)
    .join(Cohort, Cohort.id == Enrolment.cohort_id)
    .where(Enrolment.profile_id.in_(bindparam("ids", expanding=True)), one_of(Enrolment.status, HOLDS_PLACE))
    .order_by(Enrolment.enrolled_at)
)


def current_enrolments(profile_ids: list[int]) -> dict[int, list[PlaceRow]]:
    """Places held, per profile, in one column query."""
    out: dict[int, list[PlaceRow]] = defaultdict(list)
    if profile_ids:
        for row in read(_PLACES, {"ids": list(profile_ids)}):
            out[row[0]].append(PlaceRow(*row))
    return out


_AT_RISK_AMONG = select(CandidateProfile.id).where(
    CandidateProfile.id.in_(bindparam("ids", expanding=True)),
    at_risk_condition(bindparam("threshold", type_=Integer)),
)


def at_risk_ids(profile_ids: list[int], threshold: int) -> set[int]:
    """Which of these candidates are at risk, by the programme's one rule (one query)."""
    if not profile_ids:
        return set()
    return set(read(_AT_RISK_AMONG, {"ids": list(profile_ids), "threshold": threshold}).scalars())
