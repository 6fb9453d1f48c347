"""Read models for the programme dashboard: SQL aggregates only (GROUP BY), so each figure costs
one query whatever the size of the programme, and no candidate's row reaches Python.

The breakdowns by ethnic group and age read self-declared answers in aggregate: no candidate's
answer is read on its own, so no per-candidate audit entry is written; the view records one
``dashboard.breakdowns_viewed`` event instead (``record_breakdowns_viewed``). Services never
commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import and_, case, exists, func, select

from d2w.applications.models import STATUSES as APPLICATION_STATUSES
from d2w.applications.models import Application
from d2w.audit import services as audit
from d2w.auth.models import User
from d2w.candidates.choices import ETHNIC_GROUPS, PREFER_NOT_TO_SAY, STAGES
from d2w.candidates.models import CandidateProfile, SensitiveAnswer
from d2w.cohorts.models import HOLDS_PLACE, Cohort, Enrolment
from d2w.core.db import one_of, read
from d2w.core.errors import Forbidden
from d2w.dashboard import policy
from d2w.dashboard.smallnumbers import Breakdown, protect
from d2w.engagement.models import CATEGORIES, Milestone, MilestoneType
from d2w.programme import rules
from d2w.programme.models import Attendance, ProgrammeSession
from d2w.programme.skills import ATTENDED

ATTENDANCE_MONTHS = 12
NOT_ANSWERED = "Not answered"
PREFER_NOT_TO_SAY_LABEL = "Prefer not to say"

# Age bands: (label, youngest age in the band). Everyone 45 or over is in the last band.
AGE_BANDS = (("18–24", 18), ("25–29", 25), ("30–34", 30), ("35–44", 35), ("45 and over", 45))
UNDER_18 = "Under 18"


@dataclass(frozen=True)
class Filters:
    """Whose figures: candidates holding a place in a cohort, and/or living in a region."""

    cohort_id: int | None = None
    region: str | None = None

    def describe(self, cohort_name: str | None = None) -> str:
        parts = []
        if self.cohort_id is not None:
            parts.append(f"cohort {cohort_name or self.cohort_id}")
        if self.region:
            parts.append(f"region {self.region}")
        return ", ".join(parts) or "all candidates"


def profile_conditions(filters: Filters) -> list:
    """SQL conditions on CandidateProfile for the filters (the same rule as the candidates list:
    a cohort means holding a place in it)."""
    conditions = []
    if filters.cohort_id is not None:
        conditions.append(
            exists().where(
                Enrolment.profile_id == CandidateProfile.id,
                Enrolment.cohort_id == filters.cohort_id,
                one_of(Enrolment.status, HOLDS_PLACE),
            )
        )
    if filters.region:
        conditions.append(CandidateProfile.home_region == filters.region)
    return conditions


def _selected_ids(filters: Filters):
    return select(CandidateProfile.id).where(*profile_conditions(filters))


@dataclass(frozen=True)
class Bar:
    key: str
    label: str
    count: int


# ---------------------------------------------------------------------------------------------
# The pipeline


def funnel(filters: Filters) -> list[Bar]:
    """Candidates at each pipeline stage, in the pipeline's order (withdrawn last): one query."""
    rows = read(
        select(CandidateProfile.stage, func.count())
        .where(*profile_conditions(filters))
        .group_by(CandidateProfile.stage)
    ).all()
    counts = {stage: int(n) for stage, n in rows}
    return [Bar(value, label, counts.get(value, 0)) for value, label in STAGES]


# ---------------------------------------------------------------------------------------------
# Attendance over time


@dataclass(frozen=True)
class MonthRate:
    month: date  # the first day of the month (UK time)
    sessions: int  # sessions held (not cancelled) with at least one mark
    marked: int
    attended: int

    @property
    def label(self) -> str:
        return self.month.strftime("%B %Y")

    @property
    def short(self) -> str:
        return self.month.strftime("%b")

    @property
    def short_label(self) -> str:
        return self.month.strftime("%b %Y")

    @property
    def rate(self) -> float | None:
        return rules.rate(self.attended, self.marked)

    @property
    def percent(self) -> str:
        return rules.percent(self.rate)


def month_starts(today: date, months: int) -> list[date]:
    """The first days of the last ``months`` months, oldest first, this month last."""
    out = []
    year, month = today.year, today.month
    for _ in range(months):
        out.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def _london_midnight_utc(day: date) -> datetime:
    # Midnight always exists in London (the clocks change at 1am), so this is never ambiguous.
    return datetime(day.year, day.month, day.day, tzinfo=rules.LONDON).astimezone(UTC)


def attendance_by_month(filters: Filters, *, today: date, months: int = ATTENDANCE_MONTHS) -> list[MonthRate]:
    """Attendance rate per calendar month (UK time) over the last ``months`` months: one query.

    Rate = (present + late) / marked over sessions that were not cancelled, as everywhere else. A
    cohort filter keeps that cohort's sessions; a region filter keeps the marks of candidates
    from that region.
    """
    starts = month_starts(today, months)
    after_last = date(starts[-1].year + (starts[-1].month == 12), starts[-1].month % 12 + 1, 1)
    bounds = [_london_midnight_utc(d) for d in [*starts, after_last]]
    month_index = case(
        *[
            (and_(ProgrammeSession.starts_at >= bounds[i], ProgrammeSession.starts_at < bounds[i + 1]), i)
            for i in range(months)
        ],
        else_=-1,
    )
    conditions = [
        ProgrammeSession.cancelled_at.is_(None),
        ProgrammeSession.starts_at >= bounds[0],
        ProgrammeSession.starts_at < bounds[-1],
    ]
    if filters.cohort_id is not None:
        conditions.append(ProgrammeSession.cohort_id == filters.cohort_id)
    if filters.region:
        conditions.append(
            Attendance.profile_id.in_(select(CandidateProfile.id).where(CandidateProfile.home_region == filters.region))
        )
    # Grouped in an outer query: PostgreSQL cannot match a GROUP BY expression that has bound
    # parameters to the same expression in the SELECT list.
    marks = (
        select(month_index.label("m"), Attendance.session_id.label("sid"), Attendance.status.label("status"))
        .join(ProgrammeSession, ProgrammeSession.id == Attendance.session_id)
        .where(*conditions)
        .subquery()
    )
    rows = read(
        select(
            marks.c.m,
            func.count(func.distinct(marks.c.sid)),
            func.count(),
            func.coalesce(func.sum(case((one_of(marks.c.status, ATTENDED), 1), else_=0)), 0),
        ).group_by(marks.c.m)
    ).all()
    by_index = {int(m): (int(s), int(n), int(a)) for m, s, n, a in rows if m is not None and m >= 0}
    return [MonthRate(start, *by_index.get(i, (0, 0, 0))) for i, start in enumerate(starts)]


# ---------------------------------------------------------------------------------------------
# Engagement milestones


@dataclass(frozen=True)
class TypeTotal:
    type_id: int
    name: str
    category: str
    verified: int
    awaiting: int
    returned: int
    people_reached: int
    volunteers_recruited: int


@dataclass
class CategoryTotal:
    category: str
    label: str
    types: list[TypeTotal] = field(default_factory=list)

    @property
    def verified(self) -> int:
        return sum(t.verified for t in self.types)

    @property
    def awaiting(self) -> int:
        return sum(t.awaiting for t in self.types)

    @property
    def people_reached(self) -> int:
        return sum(t.people_reached for t in self.types)

    @property
    def volunteers_recruited(self) -> int:
        return sum(t.volunteers_recruited for t in self.types)


@dataclass
class MilestoneTotals:
    categories: list[CategoryTotal]

    @property
    def verified(self) -> int:
        return sum(c.verified for c in self.categories)

    @property
    def awaiting(self) -> int:
        return sum(c.awaiting for c in self.categories)

    @property
    def people_reached(self) -> int:
        return sum(c.people_reached for c in self.categories)

    @property
    def volunteers_recruited(self) -> int:
        return sum(c.volunteers_recruited for c in self.categories)


def milestone_totals(filters: Filters) -> MilestoneTotals:
    """Milestones by type and category: verified, awaiting verification and returned, with the
    people reached and volunteers recruited of verified ones: one query (one row per type).
    Retired types appear only when they have milestones."""
    verified = Milestone.status == "verified"
    join_on = [Milestone.type_id == MilestoneType.id]
    if filters.cohort_id is not None or filters.region:
        join_on.append(Milestone.profile_id.in_(_selected_ids(filters)))
    rows = read(
        select(
            MilestoneType.id,
            MilestoneType.name,
            MilestoneType.category,
            MilestoneType.active,
            func.count(case((verified, 1))),
            func.count(case((Milestone.status == "logged", 1))),
            func.count(case((Milestone.status == "returned", 1))),
            func.coalesce(func.sum(case((verified, Milestone.people_reached), else_=0)), 0),
            func.coalesce(func.sum(case((verified, Milestone.volunteers_recruited), else_=0)), 0),
        )
        .select_from(MilestoneType)
        .outerjoin(Milestone, and_(*join_on))
        .group_by(MilestoneType.id, MilestoneType.name, MilestoneType.category, MilestoneType.active)
        .order_by(MilestoneType.name)
    ).all()
    categories = {value: CategoryTotal(value, label) for value, label in CATEGORIES}
    for type_id, name, category, active, n_verified, n_awaiting, n_returned, people, volunteers in rows:
        if not active and not (n_verified or n_awaiting or n_returned):
            continue
        categories[category].types.append(
            TypeTotal(
                type_id, name, category, int(n_verified), int(n_awaiting), int(n_returned), int(people), int(volunteers)
            )
        )
    return MilestoneTotals(list(categories.values()))


# ---------------------------------------------------------------------------------------------
# Applications


def applications_by_status(filters: Filters) -> list[Bar]:
    """Applications at each status, in the order an application moves: one query."""
    stmt = select(Application.status, func.count()).group_by(Application.status)
    if filters.cohort_id is not None or filters.region:
        stmt = stmt.where(Application.profile_id.in_(_selected_ids(filters)))
    counts = {status: int(n) for status, n in read(stmt).all()}
    return [Bar(value, label, counts.get(value, 0)) for value, label in APPLICATION_STATUSES]


# ---------------------------------------------------------------------------------------------
# Self-declared breakdowns (the small-number rule applies)

BROAD_GROUP_OF = {code: group for group, items in ETHNIC_GROUPS for code, _ in items}
BROAD_GROUPS = tuple(group for group, _ in ETHNIC_GROUPS)
# Short names for chart labels (the tables use the full ONS names).
SHORT_GROUP_NAMES = dict(zip(BROAD_GROUPS, ("Asian", "Black", "Mixed", "White", "Other"), strict=True))


def _answers_join(field_name: str):
    return and_(SensitiveAnswer.profile_id == CandidateProfile.id, SensitiveAnswer.field == field_name)


def ethnic_group_counts(filters: Filters) -> list[tuple[str, int]]:
    """Candidates by ONS 2021 broad ethnic group, then "Prefer not to say" and "Not answered"
    (no answer, or consent withdrawn): one query grouped by the stored answer."""
    rows = read(
        select(SensitiveAnswer.value, func.count(CandidateProfile.id))
        .select_from(CandidateProfile)
        .outerjoin(SensitiveAnswer, _answers_join("ethnic_group"))
        .where(*profile_conditions(filters))
        .group_by(SensitiveAnswer.value)
    ).all()
    counts = dict.fromkeys([*BROAD_GROUPS, PREFER_NOT_TO_SAY_LABEL, NOT_ANSWERED], 0)
    for value, n in rows:
        if value is None:
            key = NOT_ANSWERED
        elif value == PREFER_NOT_TO_SAY:
            key = PREFER_NOT_TO_SAY_LABEL
        else:
            key = BROAD_GROUP_OF[value]
        counts[key] += int(n)
    return list(counts.items())


def years_before(day: date, years: int) -> date:
    """The same day ``years`` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def age_band_counts(filters: Filters, *, today: date) -> list[tuple[str, int]]:
    """Candidates by age band on ``today`` (from their date of birth), then "Prefer not to say"
    and "Not answered": one query. "Under 18" is listed only when somebody is.

    Dates of birth are stored as ISO text (YYYY-MM-DD), so "younger than N" is a plain string
    comparison with the date N years ago: someone is N or older on the day they were born on or
    before it (the same rule as ``candidates.services.age_on``)."""
    value = SensitiveAnswer.value
    branches = [(value.is_(None), NOT_ANSWERED), (value == PREFER_NOT_TO_SAY, PREFER_NOT_TO_SAY_LABEL)]
    younger = UNDER_18
    for label, youngest in AGE_BANDS:
        branches.append((value > years_before(today, youngest).isoformat(), younger))
        younger = label
    band = case(*branches, else_=AGE_BANDS[-1][0])
    answers = (
        select(band.label("band"))
        .select_from(CandidateProfile)
        .outerjoin(SensitiveAnswer, _answers_join("date_of_birth"))
        .where(*profile_conditions(filters))
        .subquery()
    )
    rows = read(select(answers.c.band, func.count()).group_by(answers.c.band)).all()
    found = {label: int(n) for label, n in rows}
    out = [(UNDER_18, found[UNDER_18])] if found.get(UNDER_18) else []
    out += [(label, found.get(label, 0)) for label, _ in AGE_BANDS]
    out += [
        (PREFER_NOT_TO_SAY_LABEL, found.get(PREFER_NOT_TO_SAY_LABEL, 0)),
        (NOT_ANSWERED, found.get(NOT_ANSWERED, 0)),
    ]
    return out


@dataclass(frozen=True)
class Breakdowns:
    ethnic_group: Breakdown
    age: Breakdown


def breakdowns(actor: User, filters: Filters, *, threshold: int, today: date) -> Breakdowns:
    """Both self-declared breakdowns with the small-number rule applied (staff only)."""
    if not policy.can_view_breakdowns(actor):
        raise Forbidden("Only staff see the breakdowns of self-declared answers.")
    return Breakdowns(
        ethnic_group=protect(ethnic_group_counts(filters), threshold),
        age=protect(age_band_counts(filters, today=today), threshold),
    )


def record_breakdowns_viewed(actor: User, filters: Filters, cohort_name: str | None = None) -> None:
    """One audit event for a view of the breakdowns (names the filters, never a figure)."""
    audit.record(actor, "dashboard.breakdowns_viewed", summary=filters.describe(cohort_name))


# ---------------------------------------------------------------------------------------------
# Filters


def cohort_choices() -> list[tuple[int, str]]:
    return [
        (cid, name)
        for cid, name in read(
            select(Cohort.id, Cohort.name).order_by(Cohort.status.desc(), Cohort.intake_start.desc(), Cohort.name)
        ).all()
    ]
