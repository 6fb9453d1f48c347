"""One context builder per report: they read the database and return plain data (strings, numbers,
lists and small frozen dataclasses, charts as SVG markup). No ORM object reaches a report
template, so a template cannot wander into a relationship it was not meant to show.

What the builders never read: mentors' private notes and staff-only notes (their tables are not
queried here at all), and self-declared answers unless they are ticked in (read then through
``candidates.services.read_sensitive``, which audits staff reads). A saved seat-fit check keeps
the referendum stance it used, so a portfolio shows checks without the stance, the referendum
factor, any referendum warning, the overall band and score, and application overrides (all of
which can give the vote away) unless the referendum vote is ticked in. The seat-fit report of one
check shows everything: it is asked for explicitly, by the candidate or staff.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from markupsafe import Markup, escape
from sqlalchemy import func, select

from d2w.auth.models import User
from d2w.candidates.choices import (
    APPROVED_LIST_LABELS,
    EU_VOTE_LABELS,
    SENSITIVE_FIELDS,
    STAGE_LABELS,
)
from d2w.candidates.models import CandidateProfile, SensitiveAnswer
from d2w.cohorts.models import ENROLMENT_LABELS, HOLDS_PLACE, Cohort, Enrolment
from d2w.core import charts
from d2w.core.db import one_of, read, utcnow
from d2w.core.errors import NotFound
from d2w.core.extensions import db
from d2w.core.templating import format_datetime
from d2w.engagement import services as engagement
from d2w.engagement.models import Milestone
from d2w.mentoring.models import MODE_LABELS, ActionItem, MentorAssignment, MentoringLog, MentorProfile
from d2w.programme import rules
from d2w.programme.models import Attendance, ProgrammeSession
from d2w.programme.skills import ATTENDANCE_LABELS, SKILL_GROUPS, SKILL_LABELS
from d2w.seatfit.models import SeatFitCheck

SENSITIVE_ORDER = tuple(SENSITIVE_FIELDS)
FACTOR_LABELS = {
    "referendum": "Referendum alignment",
    "winnability": "Winnability",
    "local_ties": "Local ties",
    "context": "Context",
}
BAND_LABELS = {"good": "Good fit", "caution": "Fit with cautions", "poor": "Poor fit"}
STANCE_LABELS = {**EU_VOTE_LABELS, "unknown": "Not answered"}
# A warning that speaks of the referendum is hidden with the referendum factor: the factor's own
# reason (the engine's warnings are the reasons of the factors that warn), and as a backstop any
# line naming the referendum, Leave or Remain ("vote" alone is not enough: "34% of the vote").
REFERENDUM_WORDS = re.compile(r"\b(referendum|leave|remain)\b", re.IGNORECASE)
ATTENDANCE_MARKS = {"present": "P", "late": "L", "excused": "E", "absent": "A"}
MATRIX_COLUMNS = 16  # at most this many sessions per attendance table; more continue below
CHART_POINTS = 12  # more sessions than this are charted by month


# Charts are drawn for the web's font stack; in a PDF they use the bundled font, like the text.
PRINT_FONT = "'Source Sans 3', sans-serif"
CHART_WIDTH = 820  # wider than the web's 640, so that a chart's text prints at about 8pt


def for_print(svg: Markup) -> Markup:
    """A chart from ``d2w.core.charts`` set in the bundled font (its one font-family attribute)."""
    old, new = f'font-family="{escape(charts.FONT)}"', f'font-family="{escape(PRINT_FONT)}"'
    # Safe: one escaped constant attribute of already-safe chart markup becomes another.
    return Markup(str(svg).replace(old, new, 1))  # noqa: S704


def _bar(title: str, bars, **options) -> Markup:
    return for_print(charts.bar_chart(title, bars, width=CHART_WIDTH, **options))


def _line(title: str, x_labels, series, **options) -> Markup:
    return for_print(charts.line_chart(title, x_labels, series, width=CHART_WIDTH, height=250, **options))


def day(value: date | None) -> str:
    return value.strftime("%-d %b %Y") if value else ""


def moment(value: datetime | None) -> str:
    return format_datetime(value, "%-d %b %Y, %H:%M") if value else ""


def _number(n: int | float) -> str:
    return f"{n:,}"


@dataclass(frozen=True)
class Meta:
    """The title block and the running header and footer."""

    title: str
    subject: str
    generated: str
    notice: str


def _meta(title: str, subject: str, now: datetime, audience: str) -> Meta:
    stamp = format_datetime(now, "%-d %B %Y, %H:%M")
    return Meta(
        title=title,
        subject=subject,
        generated=f"Generated {stamp} (UK time)",
        notice=f"Confidential: {audience} · {format_datetime(now, '%-d %b %Y')}",
    )


# ---------------------------------------------------------------------------------------------
# Candidate portfolio


@dataclass(frozen=True)
class Row:
    label: str
    value: str


@dataclass(frozen=True)
class SessionLine:
    when: str
    title: str
    skill: str
    mark: str


@dataclass(frozen=True)
class SkillLine:
    group: str
    skill: str
    sessions: int


@dataclass(frozen=True)
class LogLine:
    met_on: str
    mode: str
    minutes: int
    summary: str


@dataclass(frozen=True)
class MentorBlock:
    mentor: str
    role: str
    period: str
    status: str
    logs: list[LogLine]


@dataclass(frozen=True)
class MilestoneLine:
    when: str
    type: str
    place: str
    community: str
    people: int
    volunteers: int
    description: str


@dataclass(frozen=True)
class ProgressLine:
    label: str
    done: int
    target: int
    percent: int


@dataclass(frozen=True)
class FactorLine:
    label: str
    score: str
    reason: str
    figures: list[Row]
    warning: bool
    hidden: bool = False


@dataclass(frozen=True)
class CheckBlock:
    id: int
    seat: str
    seat_code: str
    boundary_set: str
    region: str
    run_at: str
    run_by: str
    band: str  # "" when hidden with the referendum factor
    band_label: str
    score: str
    stance: str | None  # None when the referendum vote is not ticked in
    inputs: list[Row]
    factors: list[FactorLine]
    warnings: list[str]


@dataclass(frozen=True)
class ApplicationLine:
    seat: str
    boundary_set: str
    status: str
    submitted_on: str
    decided_on: str
    fit: str
    override: str
    history: list[Row]


@dataclass
class Portfolio:
    meta: Meta
    name: str
    profile: list[Row]
    cohorts: list[Row]
    sensitive: list[Row]
    sensitive_note: str
    attendance_summary: str
    sessions: list[SessionLine]
    skills: list[SkillLine]
    skills_missing: list[str]
    mentoring: list[MentorBlock]
    milestones: list[MilestoneLine]
    totals: list[Row]
    progress: list[tuple[str, list[ProgressLine]]]
    milestone_chart: Markup
    checks: list[CheckBlock]
    referendum_shown: bool
    applications: list[ApplicationLine]


def _sensitive_rows(actor: User | None, profile: CandidateProfile, include: frozenset[str]) -> list[Row]:
    """The ticked self-declared answers, read as the candidate or staff member who asked for the
    report (staff reads are audited); from the command line the read is audited with no actor."""
    if not include:
        return []
    from d2w.audit import services as audit
    from d2w.candidates import services as candidates

    if actor is not None:
        view = candidates.read_sensitive(actor, profile)
    else:
        rows = db.session.scalars(select(SensitiveAnswer).where(SensitiveAnswer.profile_id == profile.id)).all()
        answers = dict.fromkeys(SENSITIVE_FIELDS)
        answers.update({r.field: r.value for r in rows})
        view = candidates.SensitiveView(answers=answers, consents=[])
        audit.record(None, "sensitive.viewed", profile, summary="for a report made on the command line")
    return [Row(SENSITIVE_FIELDS[f], view.label(f)) for f in SENSITIVE_ORDER if f in include]


def _profile_rows(profile: CandidateProfile) -> list[Row]:
    roles = []
    if profile.is_councillor:
        roles.append("Councillor")
    if profile.is_association_officer:
        roles.append("Association officer")
    if profile.friends_of_groups:
        roles.append(f"“Friends Of” groups: {profile.friends_of_groups}")
    approved = APPROVED_LIST_LABELS[profile.approved_list_status]
    if profile.approved_list_date:
        approved += f" ({day(profile.approved_list_date)})"
    rows = [
        Row("E-mail", profile.user.email),
        Row("Phone", profile.phone or "Not given"),
        Row("Home region", profile.home_region or "Not given"),
        Row("Home borough or council area", profile.home_borough or "Not given"),
        Row("Languages spoken", ", ".join(profile.language_list) or "Not given"),
        Row("Roles held", "; ".join(roles) or "None recorded"),
        Row("Approved list", approved),
        Row("Stage", STAGE_LABELS[profile.stage]),
    ]
    if profile.community_links:
        rows.append(Row("Community links", profile.community_links))
    return rows


def _attendance(profile_id: int) -> tuple[str, list[SessionLine], list[SkillLine], list[str]]:
    marks = read(
        select(ProgrammeSession.starts_at, ProgrammeSession.title, ProgrammeSession.skill_area, Attendance.status)
        .join(Attendance, Attendance.session_id == ProgrammeSession.id)
        .where(Attendance.profile_id == profile_id, ProgrammeSession.cancelled_at.is_(None))
        .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
    ).all()
    attended = [m for m in marks if m.status in ("present", "late")]
    rate = rules.rate(len(attended), len(marks))
    summary = (
        f"Attended {len(attended)} of {len(marks)} marked sessions ({rules.percent(rate)})."
        if marks
        else "No attendance has been marked yet."
    )
    sessions = [
        SessionLine(
            format_datetime(m.starts_at, "%-d %b %Y"),
            m.title,
            SKILL_LABELS[m.skill_area],
            ATTENDANCE_LABELS[m.status],
        )
        for m in attended
    ]
    counts: dict[str, int] = defaultdict(int)
    for m in attended:
        counts[m.skill_area] += 1
    skills, missing = [], []
    for group, items in SKILL_GROUPS:
        for code, label in items:
            if counts.get(code):
                skills.append(SkillLine(group, label, counts[code]))
            else:
                missing.append(label)
    return summary, sessions, skills, missing


def _mentoring(profile_id: int) -> list[MentorBlock]:
    """Assignments and the summaries shared with the candidate. Private and staff-only notes live
    in other tables, which are never read here."""
    assignments = read(
        select(MentorAssignment, User.name)
        .join(MentorProfile, MentorProfile.id == MentorAssignment.mentor_id)
        .join(User, User.id == MentorProfile.user_id)
        .where(MentorAssignment.profile_id == profile_id)
        .order_by(MentorAssignment.status, MentorAssignment.is_primary.desc(), MentorAssignment.started_at.desc())
    ).all()
    ids = [a.id for a, _ in assignments]
    logs: dict[int, list[LogLine]] = defaultdict(list)
    if ids:
        for row in read(
            select(
                MentoringLog.assignment_id,
                MentoringLog.met_on,
                MentoringLog.mode,
                MentoringLog.duration_minutes,
                MentoringLog.summary,
            )
            .where(MentoringLog.assignment_id.in_(ids))
            .order_by(MentoringLog.met_on.desc(), MentoringLog.id.desc())
        ):
            logs[row.assignment_id].append(
                LogLine(day(row.met_on), MODE_LABELS[row.mode], row.duration_minutes, row.summary)
            )
    out = []
    for a, mentor_name in assignments:
        period = f"From {format_datetime(a.started_at, '%-d %b %Y')}"
        if a.ended_at:
            period += f" to {format_datetime(a.ended_at, '%-d %b %Y')}"
        out.append(
            MentorBlock(
                mentor=mentor_name,
                role="Primary mentor" if a.is_primary else "Mentor",
                period=period,
                status="Active" if a.is_active else "Ended",
                logs=logs[a.id],
            )
        )
    return out


def _milestones(profile: CandidateProfile) -> tuple[list[MilestoneLine], list[Row], Markup]:
    rows = db.session.scalars(
        select(Milestone)
        .where(Milestone.profile_id == profile.id, Milestone.status == "verified")
        .order_by(Milestone.occurred_on.desc(), Milestone.id.desc())
    ).all()
    lines = [
        MilestoneLine(
            when=day(m.occurred_on),
            type=m.type.name,
            place=m.place,
            community=m.community or "",
            people=m.people_reached,
            volunteers=m.volunteers_recruited,
            description=m.description,
        )
        for m in rows
    ]
    totals = [
        Row("Verified milestones", _number(len(rows))),
        Row("People reached", _number(sum(m.people_reached for m in rows))),
        Row("Volunteers recruited", _number(sum(m.volunteers_recruited for m in rows))),
    ]
    by_type: dict[str, int] = defaultdict(int)
    for m in rows:
        by_type[m.type.name] += 1
    chart = Markup("")
    if by_type:
        bars = sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))[:12]
        chart = _bar(
            "Verified milestones by type",
            [(name, float(n)) for name, n in bars],
            desc="How many of the candidate's verified engagement milestones are of each type.",
        )
    return lines, totals, chart


def _progress(profile: CandidateProfile) -> list[tuple[str, list[ProgressLine]]]:
    out = []
    for cohort in engagement.holding_cohorts(profile.id):
        progress = engagement.candidate_progress(profile, cohort)
        if not progress.by_type:
            continue
        lines = [
            ProgressLine(tp.type.name, tp.progress.done, tp.progress.target, tp.progress.percent)
            for tp in progress.by_type
        ]
        lines.append(
            ProgressLine("All targets", progress.overall.done, progress.overall.target, progress.overall.percent)
        )
        out.append((cohort.name, lines))
    return out


def _score(value: float | None) -> str:
    return "not scored" if value is None else f"{round(value)} / 100"


def _factor_score(name: str, value: float | None) -> str:
    return "shown, never scored" if name == "context" else _score(value)


def _is_referendum_warning(text: str, referendum_reasons: set[str]) -> bool:
    return text.strip() in referendum_reasons or REFERENDUM_WORDS.search(text) is not None


THRESHOLD_WORDS = {
    "leave_voter_min_leave_pct": "a Leave voter is warned under {}% Leave",
    "remain_voter_max_leave_pct": "a Remain voter is warned over {}% Leave",
    "safe_majority_pct": "a held seat is safe from a {}% majority",
    "target_max_swing_pct": "a target needs a swing of at most {}%",
}


def _thresholds(text: str) -> str:
    """The thresholds a check stored ("name=value; ..."), in words where they are known."""
    parts = []
    for item in text.split(";"):
        name, _, value = item.strip().partition("=")
        if name == "party" or not name:
            continue
        parts.append(THRESHOLD_WORDS[name].format(value) if name in THRESHOLD_WORDS else item.strip())
    return "; ".join(parts).capitalize() + "." if parts else text


def check_block(check: SeatFitCheck, *, show_referendum: bool) -> CheckBlock:
    """A saved check as plain data. Without ``show_referendum`` the stance, the referendum factor
    (reason, figures and score), any warning about the referendum, and the overall band and score
    are left out: the band and score depend on the referendum factor (a misaligned vote makes the
    fit poor), so beside the seat's public Leave share they would give the vote away."""
    factors = []
    for f in check.factors:
        hidden = f.name == "referendum" and not show_referendum
        factors.append(
            FactorLine(
                label=FACTOR_LABELS.get(f.name, f.name),
                score="" if hidden else _factor_score(f.name, f.score),
                reason="Referendum factor hidden: the referendum vote was not ticked in." if hidden else f.reason,
                figures=[] if hidden else [Row(label, value) for label, value in f.figure_lines],
                warning=False if hidden else f.warning,
                hidden=hidden,
            )
        )
    warnings = check.warning_list
    referendum_reasons = {f.reason.strip() for f in check.factors if f.name == "referendum"}
    shown = warnings if show_referendum else [w for w in warnings if not _is_referendum_warning(w, referendum_reasons)]
    inputs = []
    if show_referendum:
        inputs.append(Row("2016 referendum vote used", STANCE_LABELS.get(check.stance, check.stance)))
    inputs += [
        Row("Home region used", check.home_region or "Not given"),
        Row("Home borough used", check.home_borough or "Not given"),
        Row("Verified local ties counted", str(check.ties_count)),
        Row("Party judged for", charts.PARTY_NAMES.get(check.party, check.party)),
        Row("Thresholds", _thresholds(check.thresholds)),
    ]
    seat = check.seat
    return CheckBlock(
        id=check.id,
        seat=seat.name,
        seat_code=seat.ons_code,
        boundary_set=seat.boundary_set,
        region=seat.region,
        run_at=moment(check.run_at),
        run_by=check.run_by.name,
        band=check.band if show_referendum else "",
        band_label=BAND_LABELS.get(check.band, check.band) if show_referendum else "",
        score=_score(check.score) if show_referendum else "",
        stance=STANCE_LABELS.get(check.stance, check.stance) if show_referendum else None,
        inputs=inputs,
        factors=factors,
        warnings=shown,
    )


def _checks(profile_id: int, show_referendum: bool, limit: int = 20) -> list[CheckBlock]:
    """The newest check of each seat, newest first."""
    checks = db.session.scalars(
        select(SeatFitCheck)
        .where(SeatFitCheck.profile_id == profile_id)
        .order_by(SeatFitCheck.run_at.desc(), SeatFitCheck.id.desc())
    ).all()
    seen, out = set(), []
    for c in checks:
        if c.seat_id in seen:
            continue
        seen.add(c.seat_id)
        out.append(check_block(c, show_referendum=show_referendum))
        if len(out) >= limit:
            break
    return out


def _applications(profile_id: int, show_referendum: bool) -> list[ApplicationLine]:
    from d2w.applications.models import STATUS_LABELS, Application, ApplicationEvent

    apps = db.session.scalars(
        select(Application)
        .where(Application.profile_id == profile_id)
        .order_by(Application.updated_at.desc(), Application.id.desc())
    ).all()
    if not apps:
        return []
    check_ids = [a.fit_check_id for a in apps if a.fit_check_id]
    checks = {}
    if check_ids:
        checks = {
            cid: (band, run_at)
            for cid, band, run_at in read(
                select(SeatFitCheck.id, SeatFitCheck.band, SeatFitCheck.run_at).where(SeatFitCheck.id.in_(check_ids))
            )
        }
    events: dict[int, list[Row]] = defaultdict(list)
    for e in read(
        select(ApplicationEvent.application_id, ApplicationEvent.to_status, ApplicationEvent.on)
        .where(ApplicationEvent.application_id.in_([a.id for a in apps]))
        .order_by(ApplicationEvent.on, ApplicationEvent.id)
    ):
        events[e.application_id].append(Row(day(e.on), STATUS_LABELS[e.to_status]))
    out = []
    for a in apps:
        fit = "No fit check attached"
        if a.fit_check_id in checks:
            band, run_at = checks[a.fit_check_id]
            fit = f"Checked {moment(run_at)}"
            if show_referendum:
                fit = f"{BAND_LABELS.get(band, band)} (checked {moment(run_at)})"
        # An override exists only for a poor fit, and its reason may discuss the vote: both are
        # shown only with the referendum vote ticked in, like the band.
        override = ""
        if a.override_reason and show_referendum:
            override = f"Poor fit overridden by staff on {moment(a.override_at)}: {a.override_reason}"
        out.append(
            ApplicationLine(
                seat=a.seat.name,
                boundary_set=a.seat.boundary_set,
                status=a.status_label,
                submitted_on=day(a.submitted_on),
                decided_on=day(a.decided_on),
                fit=fit,
                override=override,
                history=events[a.id],
            )
        )
    return out


def portfolio_context(
    profile_id: int, *, actor: User | None, include: frozenset[str] = frozenset(), now: datetime | None = None
) -> dict:
    """Everything a candidate attaches to a seat application, as plain data.

    ``actor`` is who asked (None on the command line); ``include`` names the self-declared
    fields ticked in. The caller has already checked the actor may ask for this portfolio."""
    now = now or utcnow()
    profile = db.session.get(CandidateProfile, profile_id)
    if profile is None:
        raise NotFound()
    include = frozenset(f for f in include if f in SENSITIVE_FIELDS)
    enrolments = db.session.scalars(
        select(Enrolment).where(Enrolment.profile_id == profile.id).order_by(Enrolment.enrolled_at.desc())
    ).all()
    cohorts = [
        Row(
            e.cohort.name,
            f"{ENROLMENT_LABELS[e.status]} · intake {day(e.cohort.intake_start)} to {day(e.cohort.intake_end)}",
        )
        for e in enrolments
    ]
    sensitive = _sensitive_rows(actor, profile, include)
    if include:
        note = "Included because " + ("they were" if len(include) > 1 else "it was") + " ticked in for this PDF."
    else:
        note = "Ethnic group, date of birth and referendum vote are left out: none was ticked in for this PDF."
    summary, sessions, skills, missing = _attendance(profile.id)
    milestones, totals, chart = _milestones(profile)
    show_referendum = "eu_ref_vote" in include
    return {
        "report": Portfolio(
            meta=_meta(
                "Candidate portfolio", profile.user.name, now, "for the candidate and the candidates department"
            ),
            name=profile.user.name,
            profile=_profile_rows(profile),
            cohorts=cohorts,
            sensitive=sensitive,
            sensitive_note=note,
            attendance_summary=summary,
            sessions=sessions,
            skills=skills,
            skills_missing=missing,
            mentoring=_mentoring(profile.id),
            milestones=milestones,
            totals=totals,
            progress=_progress(profile),
            milestone_chart=chart,
            checks=_checks(profile.id, show_referendum),
            referendum_shown=show_referendum,
            applications=_applications(profile.id, show_referendum),
        )
    }


# ---------------------------------------------------------------------------------------------
# Cohort report


@dataclass(frozen=True)
class SessionColumn:
    key: str
    when: str
    title: str
    skill: str
    attended: int
    marked: int
    percent: str


@dataclass(frozen=True)
class MatrixRow:
    name: str
    marks: list[tuple[str, str]]  # (letter, status) per session of the table
    rate: str


@dataclass(frozen=True)
class MatrixTable:
    first: int
    last: int
    columns: list[SessionColumn]
    rows: list[MatrixRow]


@dataclass(frozen=True)
class CandidateMentoring:
    name: str
    mentor: str
    last_contact: str
    sessions: int
    overdue: int
    lapsed: bool


@dataclass(frozen=True)
class CandidateProgressLine:
    name: str
    done: int
    target: int
    percent: int
    verified: int


@dataclass
class CohortReport:
    meta: Meta
    summary: list[Row]
    stats: list[Row]
    sessions: list[SessionColumn]
    cancelled: int
    matrices: list[MatrixTable]
    attendance_chart: Markup
    attendance_chart_title: str
    targets: list[ProgressLine]
    overall: ProgressLine | None
    candidates_progress: list[CandidateProgressLine]
    totals: list[Row]
    progress_chart: Markup
    mentoring: list[CandidateMentoring]
    mentoring_stats: list[Row]
    mentoring_chart: Markup
    lapse_weeks: int


def _month_starts(today: date, n: int) -> list[date]:
    months, y, m = [], today.year, today.month
    for _ in range(n):
        months.append(date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return list(reversed(months))


def _cohort_mentoring(
    profile_ids: list[int], names: dict[int, str], today: date
) -> tuple[list[CandidateMentoring], list[Row], Markup, int]:
    """Each candidate's active mentoring: mentor, last contact, logged sessions, overdue actions.
    Counts and dates only: no summaries, and never a private or staff-only note."""
    from d2w.mentoring.services import lapse_weeks

    weeks = lapse_weeks()
    cutoff = today - timedelta(weeks=weeks)
    rows = (
        read(
            select(MentorAssignment.id, MentorAssignment.profile_id, MentorAssignment.started_at, User.name)
            .join(MentorProfile, MentorProfile.id == MentorAssignment.mentor_id)
            .join(User, User.id == MentorProfile.user_id)
            .where(MentorAssignment.profile_id.in_(profile_ids), MentorAssignment.status == "active")
            .order_by(MentorAssignment.is_primary.desc(), MentorAssignment.started_at)
        ).all()
        if profile_ids
        else []
    )
    ids = [r.id for r in rows]
    last: dict[int, date] = {}
    count: dict[int, int] = {}
    overdue: dict[int, int] = {}
    months = _month_starts(today, 6)
    per_month = dict.fromkeys(months, 0)
    if ids:
        for aid, latest, n in read(
            select(MentoringLog.assignment_id, func.max(MentoringLog.met_on), func.count())
            .where(MentoringLog.assignment_id.in_(ids))
            .group_by(MentoringLog.assignment_id)
        ):
            last[aid], count[aid] = latest, int(n)
        overdue = dict(
            read(
                select(ActionItem.assignment_id, func.count())
                .where(ActionItem.assignment_id.in_(ids), ActionItem.done_at.is_(None), ActionItem.due_on < today)
                .group_by(ActionItem.assignment_id)
            ).all()
        )
        for (met_on,) in read(
            select(MentoringLog.met_on).where(MentoringLog.assignment_id.in_(ids), MentoringLog.met_on >= months[0])
        ):
            key = date(met_on.year, met_on.month, 1)
            if key in per_month:
                per_month[key] += 1
    by_profile: dict[int, list] = defaultdict(list)
    for r in rows:
        by_profile[r.profile_id].append(r)
    out = []
    for pid in profile_ids:
        pairs = by_profile.get(pid, [])
        if not pairs:
            out.append(CandidateMentoring(names[pid], "No mentor", "", 0, 0, False))
            continue
        contacts = [last[p.id] for p in pairs if p.id in last]
        latest = max(contacts) if contacts else None
        since = latest or min(p.started_at.date() for p in pairs)
        out.append(
            CandidateMentoring(
                name=names[pid],
                mentor=", ".join(p.name for p in pairs),
                last_contact=day(latest) if latest else "None logged",
                sessions=sum(count.get(p.id, 0) for p in pairs),
                overdue=sum(int(overdue.get(p.id, 0)) for p in pairs),
                lapsed=since < cutoff,
            )
        )
    with_mentor = sum(1 for c in out if c.mentor != "No mentor")
    stats = [
        Row("With a mentor", f"{with_mentor} of {len(out)}"),
        Row(f"No contact for {weeks} weeks", str(sum(1 for c in out if c.lapsed))),
        Row("Overdue action items", str(sum(c.overdue for c in out))),
        Row("Mentoring sessions logged", str(sum(c.sessions for c in out))),
    ]
    chart = Markup("")
    if ids:
        chart = _bar(
            "Mentoring sessions per month",
            [(m.strftime("%b %Y"), float(per_month[m])) for m in months],
            desc="Mentoring sessions logged with the cohort's candidates in each of the last six months.",
        )
    return out, stats, chart, weeks


def _attendance_chart(sessions, columns: list[SessionColumn]) -> tuple[Markup, str]:
    """The attendance rate per session, or per month (by the sessions' start) when there are
    too many sessions for their values to be read on one line."""
    if not any(c.marked for c in columns):
        return Markup(""), ""
    if len(columns) <= CHART_POINTS:
        labels = [c.key for c in columns]
        values = [round(100 * c.attended / c.marked) if c.marked else None for c in columns]
        title = "Attendance rate by session"
    else:
        months: dict[str, list[int]] = {}
        for row, c in zip(sessions, columns, strict=True):
            month = months.setdefault(format_datetime(row.session.starts_at, "%b %Y"), [0, 0])
            month[0] += c.attended
            month[1] += c.marked
        labels = list(months)
        values = [round(100 * a / m) if m else None for a, m in months.values()]
        title = "Attendance rate by month"
    chart = _line(
        title,
        labels,
        [("Attended (present or late)", values)],
        unit="%",
        y_max=100,
        desc="The share of marked candidates who attended, in order.",
    )
    return chart, title


def cohort_context(cohort_id: int, *, actor: User | None = None, now: datetime | None = None) -> dict:
    """Attendance matrix, milestone progress against targets, mentoring health and charts for one
    cohort, as plain data (a fixed number of queries, whatever the cohort's size)."""
    from d2w.cohorts.services import roster
    from d2w.programme.services import candidate_rates, sessions_for_cohort

    now = now or utcnow()
    today = rules.to_london(now).date()
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound()
    places = roster(cohort.id)
    profile_ids = [p.id for _, p in places]
    names = {p.id: p.user.name for _, p in places}
    all_sessions = sessions_for_cohort(cohort.id)
    sessions = [r for r in all_sessions if not r.session.is_cancelled]
    columns = [
        SessionColumn(
            key=f"S{i}",
            when=format_datetime(r.session.starts_at, "%-d %b"),
            title=r.session.title,
            skill=SKILL_LABELS[r.session.skill_area],
            attended=r.summary.attended,
            marked=r.summary.marked,
            percent=r.summary.percent,
        )
        for i, r in enumerate(sessions, start=1)
    ]
    session_ids = [r.session.id for r in sessions]
    marks: dict[tuple[int, int], str] = {}
    if session_ids and profile_ids:
        for sid, pid, status in read(
            select(Attendance.session_id, Attendance.profile_id, Attendance.status).where(
                Attendance.session_id.in_(session_ids), Attendance.profile_id.in_(profile_ids)
            )
        ):
            marks[(sid, pid)] = status
    rates = candidate_rates(profile_ids)
    matrices = []
    tables = math.ceil(len(sessions) / MATRIX_COLUMNS)
    per_table = math.ceil(len(sessions) / tables) if tables else 0
    for start in range(0, len(sessions), per_table or 1):
        chunk = list(range(start, min(start + per_table, len(sessions))))
        rows = []
        for pid in profile_ids:
            cells = []
            for i in chunk:
                status = marks.get((session_ids[i], pid))
                cells.append((ATTENDANCE_MARKS[status], status) if status else ("·", "none"))
            rows.append(MatrixRow(names[pid], cells, rates[pid].percent))
        matrices.append(MatrixTable(start + 1, chunk[-1] + 1, [columns[i] for i in chunk], rows))
    attendance_chart, attendance_chart_title = _attendance_chart(sessions, columns)
    overall_rate = rules.rate(sum(c.attended for c in columns), sum(c.marked for c in columns))

    progress = engagement.cohort_progress(cohort)
    targets = [
        ProgressLine(tp.type.name, tp.progress.done, tp.progress.target, tp.progress.percent) for tp in progress.by_type
    ]
    overall = (
        ProgressLine("All targets", progress.overall.done, progress.overall.target, progress.overall.percent)
        if progress.by_type
        else None
    )
    verified = engagement.verified_counts(profile_ids)
    candidates_progress = [
        CandidateProgressLine(
            name=cp.profile.name,
            done=cp.overall.done,
            target=cp.overall.target,
            percent=cp.overall.percent,
            verified=sum(verified[cp.profile.id].values()),
        )
        for cp in progress.candidates
    ]
    totals = [
        Row("Verified milestones", _number(progress.totals.milestones)),
        Row("People reached", _number(progress.totals.people_reached)),
        Row("Volunteers recruited", _number(progress.totals.volunteers_recruited)),
    ]
    progress_chart = Markup("")
    if targets:
        progress_chart = _bar(
            "Progress against milestone targets",
            [(t.label, float(min(t.percent, 100))) for t in targets],
            unit="%",
            max_value=100,
            desc="For each milestone type with a target, verified milestones as a share of the cohort's target.",
        )
    mentoring, mentoring_stats, mentoring_chart, weeks = _cohort_mentoring(profile_ids, names, today)

    summary = [
        Row("Focus", cohort.focus_label),
        Row("Region", cohort.region or "National"),
        Row("Intake", f"{day(cohort.intake_start)} to {day(cohort.intake_end)}"),
        Row("Places", f"{cohort.places_taken} taken of {cohort.capacity}"),
        Row("Status", "Open" if cohort.is_open else "Closed"),
    ]
    stats = [
        Row("Candidates", str(len(profile_ids))),
        Row("Sessions held or planned", str(len(sessions))),
        Row("Attendance", rules.percent(overall_rate)),
        Row("Milestone targets met", f"{overall.percent}%" if overall else "No targets"),
    ]
    return {
        "report": CohortReport(
            meta=_meta("Cohort report", cohort.name, now, "candidates department only"),
            summary=summary,
            stats=stats,
            sessions=columns,
            cancelled=len(all_sessions) - len(sessions),
            matrices=matrices,
            attendance_chart=attendance_chart,
            attendance_chart_title=attendance_chart_title,
            targets=targets,
            overall=overall,
            candidates_progress=candidates_progress,
            totals=totals,
            progress_chart=progress_chart,
            mentoring=mentoring,
            mentoring_stats=mentoring_stats,
            mentoring_chart=mentoring_chart,
            lapse_weeks=weeks,
        )
    }


def cohort_profile_ids(cohort_id: int) -> list[int]:
    """The profiles holding a place in a cohort, by name (for a batch of portfolios)."""
    return list(
        db.session.scalars(
            select(CandidateProfile.id)
            .join(Enrolment, Enrolment.profile_id == CandidateProfile.id)
            .join(User, User.id == CandidateProfile.user_id)
            .where(Enrolment.cohort_id == cohort_id, one_of(Enrolment.status, HOLDS_PLACE))
            .order_by(func.lower(User.name), CandidateProfile.id)
        )
    )


# ---------------------------------------------------------------------------------------------
# Seat-fit report


@dataclass(frozen=True)
class SourceLine:
    figure: str
    key: str
    title: str
    publisher: str
    licence: str
    note: str


@dataclass
class SeatFitReport:
    meta: Meta
    candidate: str
    check: CheckBlock
    seat: list[Row]
    chart: Markup
    sources: list[SourceLine]
    caveats: list[str] = field(default_factory=list)


FIGURE_NAMES = {
    "name": "Seat name",
    "region": "Region and county",
    "leave_pct": "Leave share (figure used)",
    "leave_estimate_pct": "Leave share (model estimate)",
    "leave_known_pct": "Leave share (known figure)",
    "population": "Population",
    "bme_pct": "Minority (BME) share",
    "ethnic_groups": "Ethnic group shares",
    "white_british_pct": "White British share",
    "young_adult_pct": "Young adults",
    "age_65plus_pct": "Aged 65 and over",
}


def _pct(value: float | None) -> str:
    return "not available" if value is None else f"{value:.1f}%"


def seatfit_context(check_id: int, *, now: datetime | None = None) -> dict:
    """One saved check in full (the stance and the referendum factor included), with the seat's
    figures and where each comes from."""
    from d2w.seats.models import SeatFigureSource
    from d2w.seats.provenance import CAVEATS, NOTE_L

    now = now or utcnow()
    check = db.session.get(SeatFitCheck, check_id)
    if check is None:
        raise NotFound()
    name = db.session.scalar(
        select(User.name)
        .join(CandidateProfile, CandidateProfile.user_id == User.id)
        .where(CandidateProfile.id == check.profile_id)
    )
    block = check_block(check, show_referendum=True)
    seat = check.seat
    rows = [
        Row("Seat", f"{seat.name} ({seat.ons_code})"),
        Row("Boundary set", f"{seat.boundary_set} boundaries"),
        Row("Country and region", f"{seat.country}, {seat.region}" + (f" ({seat.county})" if seat.county else "")),
        Row("Leave share, 2016", _pct(seat.leave_pct)),
        Row("Minority (BME) share", _pct(seat.bme_pct)),
        Row(f"Young adults ({seat.young_adult_band})", _pct(seat.young_adult_pct)),
        Row("Aged 65 and over", _pct(seat.age_65plus_pct)),
    ]
    if seat.census_source:
        rows.append(Row("Census", seat.census_source))
    scored = [(FACTOR_LABELS.get(f.name, f.name), float(f.score)) for f in check.factors if f.score is not None]
    chart = Markup("")
    if scored:
        chart = _bar(
            "Factor scores",
            scored,
            unit="",
            max_value=100,
            desc="Each scored factor out of 100; context is shown, never scored.",
        )
    sources = [
        SourceLine(
            figure=FIGURE_NAMES.get(s.figure, s.figure.replace("results_", "Results, ").replace("_", " ")),
            key=s.source.key,
            title=s.source.title,
            publisher=s.source.publisher,
            licence=s.source.licence,
            note=s.note,
        )
        for s in db.session.scalars(
            select(SeatFigureSource)
            .where(SeatFigureSource.boundary_set == seat.boundary_set)
            .order_by(SeatFigureSource.figure, SeatFigureSource.id)
        )
    ]
    return {
        "report": SeatFitReport(
            meta=_meta(
                "Seat-fit report", f"{name} · {seat.name}", now, "for the candidate and the candidates department"
            ),
            candidate=name or "",
            check=block,
            seat=rows,
            chart=chart,
            sources=sources,
            caveats=[*CAVEATS, f"Note L: {NOTE_L}"],
        )
    }
