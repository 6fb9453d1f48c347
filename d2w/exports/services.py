"""CSV exports of candidates, attendance, milestones and applications, for staff.

* Streamed: rows are read in batches of ``BATCH_SIZE`` by keyset (``WHERE (sort key) > last``),
  with a fixed number of queries per batch, and written out batch by batch, so a large programme
  never sits in memory and a batch costs the same however far into the file it is.
* Safe in a spreadsheet: UTF-8 with a byte-order mark (Excel then reads accents correctly), CRLF
  line ends, RFC 4180 quoting, and every cell neutralised by ``export_cell`` (a cell starting with
  =, +, -, @, a tab or a carriage return, or with one of these signs after blanks or in full
  width, gets a leading apostrophe).
* Audited: ``prepare`` counts the rows and records one ``export.<kind>`` event naming the row
  count and the filter, never a value. Self-declared answers (ethnic group, date of birth,
  referendum vote) are in the candidates export only when asked for, and that download is
  recorded as ``export.candidates_self_declared``.

Services take the acting user and never commit: the view commits the audit entry, then streams.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select

from d2w.applications.models import STATUS_LABELS as APPLICATION_STATUS_LABELS
from d2w.applications.models import Application
from d2w.audit import services as audit
from d2w.auth.models import User
from d2w.candidates.choices import (
    APPROVED_LIST_LABELS,
    ETHNIC_GROUP_LABELS,
    EU_VOTE_LABELS,
    PREFER_NOT_TO_SAY,
    STAGE_LABELS,
)
from d2w.candidates.models import CandidateProfile, ProfileLanguage, SensitiveAnswer
from d2w.cohorts.models import ENROLMENT_LABELS, HOLDS_PLACE, Cohort, Enrolment
from d2w.core.csvio import safe_cell
from d2w.core.db import one_of, read
from d2w.core.errors import Forbidden
from d2w.core.extensions import db
from d2w.engagement.models import CATEGORY_LABELS, Milestone, MilestoneType
from d2w.engagement.models import STATUS_LABELS as MILESTONE_STATUS_LABELS
from d2w.exports import policy
from d2w.programme.models import Attendance, ProgrammeSession
from d2w.programme.rules import to_london
from d2w.programme.skills import ATTENDANCE_LABELS, SKILL_LABELS
from d2w.seatfit.models import SeatFitCheck
from d2w.seats.models import Seat

BATCH_SIZE = 500
BOM = "\ufeff"
SELF_DECLARED_HEADER = ("Ethnic group", "Date of birth", "2016 EU referendum vote")


# ---------------------------------------------------------------------------------------------
# Writing CSV as a stream


# A formula can hide behind leading blanks or line breaks (" =HYPERLINK(...)", "\n=1+1"), or be
# typed with full-width signs that some spreadsheets read as their ASCII twins.
_BLANKS = " \t\r\n\x0b\x0c\u00a0\u2007\u202f\u3000"
_FORMULA_SIGNS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def export_cell(value: object) -> str:
    """``core.csvio.safe_cell``, and also a cell whose first visible character starts a formula
    (after blanks or line breaks, or in its full-width form) gets the leading apostrophe."""
    text = safe_cell(value)
    if not text.startswith("'") and text.lstrip(_BLANKS).startswith(_FORMULA_SIGNS):
        return "'" + text
    return text


def stream_csv(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, rows_per_chunk: int = 200
) -> Iterator[bytes]:
    """The streaming twin of ``core.csvio.write_csv``: the same bytes, a chunk at a time (with
    the stricter ``export_cell``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([export_cell(h) for h in header])
    pending = 0
    for row in rows:
        writer.writerow([export_cell(cell) for cell in row])
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


def yes_no(value: bool | None) -> str:
    return "yes" if value else "no"


def day(value: date | None) -> str:
    return value.isoformat() if value else ""


def uk_time(value: datetime | None) -> str:
    """A moment as UK wall-clock time, "2026-03-01 18:30"."""
    return to_london(value).strftime("%Y-%m-%d %H:%M") if value else ""


# ---------------------------------------------------------------------------------------------
# Reading in batches


def after(keys: Sequence[ColumnElement], values: Sequence[object]) -> ColumnElement:
    """Rows after ``values`` in the order of ``keys`` (a keyset condition any database runs)."""
    return or_(*[and_(*[keys[j] == values[j] for j in range(i)], keys[i] > values[i]) for i in range(len(keys))])


def batches(stmt: Select, keys: Sequence[ColumnElement], batch_size: int) -> Iterator[list]:
    """The rows of ``stmt`` in order of ``keys`` (unique together, never NULL), ``batch_size`` at
    a time: one query per batch. The statement's last ``len(keys)`` columns must be the keys."""
    last: tuple | None = None
    while True:
        query = stmt if last is None else stmt.where(after(keys, last))
        rows = read(query.order_by(*keys).limit(batch_size)).all()
        if not rows:
            return
        yield rows
        if len(rows) < batch_size:
            return
        last = tuple(rows[-1])[-len(keys) :]


def _holds_place(cohort_id: int, profile_id_column) -> ColumnElement:
    return exists().where(
        Enrolment.profile_id == profile_id_column,
        Enrolment.cohort_id == cohort_id,
        one_of(Enrolment.status, HOLDS_PLACE),
    )


# ---------------------------------------------------------------------------------------------
# Candidates

CANDIDATE_HEADER = (
    "Profile id",
    "Name",
    "E-mail",
    "Account active",
    "Phone",
    "Postcode",
    "Home region",
    "Home borough",
    "Languages",
    "Community links",
    "Councillor",
    "Association officer",
    "Friends Of groups",
    "Stage",
    "Approved-list status",
    "Approved-list date",
    "Cohorts (current places)",
    "Absences in a row",
    "Added on",
)


def _candidates_base(cohort_id: int | None) -> Select:
    stmt = select(CandidateProfile.id).join(User, User.id == CandidateProfile.user_id)
    if cohort_id is not None:
        stmt = stmt.where(_holds_place(cohort_id, CandidateProfile.id))
    return stmt


def count_candidates(cohort_id: int | None) -> int:
    return _count(_candidates_base(cohort_id))


def _sensitive_label(field: str, value: str | None) -> str:
    if value is None:
        return "Not answered"
    if value == PREFER_NOT_TO_SAY:
        return "Prefer not to say"
    if field == "ethnic_group":
        return ETHNIC_GROUP_LABELS.get(value, value)
    if field == "eu_ref_vote":
        return EU_VOTE_LABELS.get(value, value)
    return value  # a date of birth, already ISO


def candidate_rows(
    cohort_id: int | None, *, self_declared: bool = False, batch_size: int = BATCH_SIZE
) -> Iterator[list[object]]:
    """Candidates by name; per batch: the profiles, their languages, their current places and
    (only if asked) their self-declared answers: three or four queries."""
    name_key = func.lower(User.name)
    stmt = _candidates_base(cohort_id).with_only_columns(
        CandidateProfile.id,
        User.name,
        User.email,
        User.active,
        CandidateProfile.phone,
        CandidateProfile.postcode,
        CandidateProfile.home_region,
        CandidateProfile.home_borough,
        CandidateProfile.community_links,
        CandidateProfile.is_councillor,
        CandidateProfile.is_association_officer,
        CandidateProfile.friends_of_groups,
        CandidateProfile.stage,
        CandidateProfile.approved_list_status,
        CandidateProfile.approved_list_date,
        CandidateProfile.consecutive_absences,
        CandidateProfile.created_at,
        name_key.label("k_name"),
        CandidateProfile.id.label("k_id"),
    )
    for rows in batches(stmt, [name_key, CandidateProfile.id], batch_size):
        ids = [r[0] for r in rows]
        languages: dict[int, list[str]] = defaultdict(list)
        for pid, language in read(
            select(ProfileLanguage.profile_id, ProfileLanguage.language)
            .where(ProfileLanguage.profile_id.in_(ids))
            .order_by(ProfileLanguage.profile_id, ProfileLanguage.language)
        ):
            languages[pid].append(language)
        places: dict[int, list[str]] = defaultdict(list)
        for pid, cohort_name, status in read(
            select(Enrolment.profile_id, Cohort.name, Enrolment.status)
            .join(Cohort, Cohort.id == Enrolment.cohort_id)
            .where(Enrolment.profile_id.in_(ids), one_of(Enrolment.status, HOLDS_PLACE))
            .order_by(Enrolment.profile_id, Cohort.name)
        ):
            places[pid].append(f"{cohort_name} ({ENROLMENT_LABELS[status].lower()})")
        answers: dict[int, dict[str, str]] = defaultdict(dict)
        if self_declared:
            for pid, field, value in read(
                select(SensitiveAnswer.profile_id, SensitiveAnswer.field, SensitiveAnswer.value).where(
                    SensitiveAnswer.profile_id.in_(ids)
                )
            ):
                answers[pid][field] = value
        for r in rows:
            (pid, name, email, active, phone, postcode, region, borough, links, councillor, officer, friends,
             stage, approved, approved_on, absences, created_at) = tuple(r)[:17]  # fmt: skip
            row = [
                pid,
                name,
                email,
                yes_no(active),
                phone or "",
                postcode or "",
                region or "",
                borough or "",
                ", ".join(languages.get(pid, [])),
                links or "",
                yes_no(councillor),
                yes_no(officer),
                friends or "",
                STAGE_LABELS.get(stage, stage),
                APPROVED_LIST_LABELS.get(approved, approved),
                day(approved_on),
                "; ".join(places.get(pid, [])),
                absences,
                uk_time(created_at)[:10],
            ]
            if self_declared:
                given = answers.get(pid, {})
                row += [
                    _sensitive_label(field, given.get(field))
                    for field in ("ethnic_group", "date_of_birth", "eu_ref_vote")
                ]
            yield row


# ---------------------------------------------------------------------------------------------
# Attendance

ATTENDANCE_HEADER = (
    "Session id",
    "Session starts (UK time)",
    "Session",
    "Skill area",
    "Cohort",
    "Session cancelled",
    "Profile id",
    "Candidate",
    "Mark",
    "Marked at (UK time)",
)


def _attendance_base(cohort_id: int | None) -> Select:
    stmt = (
        select(Attendance.id)
        .join(ProgrammeSession, ProgrammeSession.id == Attendance.session_id)
        .join(Cohort, Cohort.id == ProgrammeSession.cohort_id)
        .join(CandidateProfile, CandidateProfile.id == Attendance.profile_id)
        .join(User, User.id == CandidateProfile.user_id)
    )
    if cohort_id is not None:
        stmt = stmt.where(ProgrammeSession.cohort_id == cohort_id)
    return stmt


def count_attendance(cohort_id: int | None) -> int:
    return _count(_attendance_base(cohort_id))


def attendance_rows(cohort_id: int | None, *, batch_size: int = BATCH_SIZE) -> Iterator[list[object]]:
    """Every register mark, by session time: one query per batch."""
    keys = [ProgrammeSession.starts_at, ProgrammeSession.id, Attendance.id]
    stmt = _attendance_base(cohort_id).with_only_columns(
        ProgrammeSession.id,
        ProgrammeSession.starts_at,
        ProgrammeSession.title,
        ProgrammeSession.skill_area,
        Cohort.name,
        ProgrammeSession.cancelled_at,
        CandidateProfile.id,
        User.name,
        Attendance.status,
        Attendance.marked_at,
        *[k.label(f"k{i}") for i, k in enumerate(keys)],
    )
    for rows in batches(stmt, keys, batch_size):
        for sid, starts_at, title, skill, cohort_name, cancelled_at, pid, name, status, marked_at, *_ in rows:
            yield [
                sid,
                uk_time(starts_at),
                title,
                SKILL_LABELS.get(skill, skill),
                cohort_name,
                yes_no(cancelled_at is not None),
                pid,
                name,
                ATTENDANCE_LABELS.get(status, status),
                uk_time(marked_at),
            ]


# ---------------------------------------------------------------------------------------------
# Milestones

MILESTONE_HEADER = (
    "Milestone id",
    "Profile id",
    "Candidate",
    "Type",
    "Category",
    "Date",
    "Place",
    "Region",
    "Borough",
    "Seat code",
    "Community",
    "Description",
    "People reached",
    "Volunteers recruited",
    "Evidence link",
    "Evidence file",
    "Status",
    "Verified at (UK time)",
    "Logged at (UK time)",
)


def _milestones_base(cohort_id: int | None) -> Select:
    stmt = (
        select(Milestone.id)
        .join(MilestoneType, MilestoneType.id == Milestone.type_id)
        .join(CandidateProfile, CandidateProfile.id == Milestone.profile_id)
        .join(User, User.id == CandidateProfile.user_id)
    )
    if cohort_id is not None:
        stmt = stmt.where(_holds_place(cohort_id, Milestone.profile_id))
    return stmt


def count_milestones(cohort_id: int | None) -> int:
    return _count(_milestones_base(cohort_id))


def milestone_rows(cohort_id: int | None, *, batch_size: int = BATCH_SIZE) -> Iterator[list[object]]:
    """Every milestone (any status), by date: one query per batch."""
    keys = [Milestone.occurred_on, Milestone.id]
    stmt = _milestones_base(cohort_id).with_only_columns(
        Milestone.id,
        CandidateProfile.id,
        User.name,
        MilestoneType.name,
        MilestoneType.category,
        Milestone.occurred_on,
        Milestone.place,
        Milestone.region,
        Milestone.borough,
        Milestone.seat_code,
        Milestone.community,
        Milestone.description,
        Milestone.people_reached,
        Milestone.volunteers_recruited,
        Milestone.evidence_url,
        Milestone.evidence_filename,
        Milestone.status,
        Milestone.verified_at,
        Milestone.created_at,
        *[k.label(f"k{i}") for i, k in enumerate(keys)],
    )
    for rows in batches(stmt, keys, batch_size):
        for r in rows:
            (mid, pid, name, type_name, category, occurred_on, place, region, borough, seat_code, community,
             description, people, volunteers, url, filename, status, verified_at, created_at) = tuple(r)[:19]  # fmt: skip
            yield [
                mid,
                pid,
                name,
                type_name,
                CATEGORY_LABELS.get(category, category),
                day(occurred_on),
                place,
                region or "",
                borough or "",
                seat_code or "",
                community or "",
                description,
                people,
                volunteers,
                url or "",
                filename or "",
                MILESTONE_STATUS_LABELS.get(status, status),
                uk_time(verified_at),
                uk_time(created_at),
            ]


# ---------------------------------------------------------------------------------------------
# Applications

APPLICATION_HEADER = (
    "Application id",
    "Profile id",
    "Candidate",
    "Seat",
    "Seat code",
    "Boundary set",
    "Status",
    "Fit-check band",
    "Poor fit overridden",
    "Submitted on",
    "Decided on",
    "Notes",
    "Created at (UK time)",
    "Updated at (UK time)",
)


def _applications_base(cohort_id: int | None) -> Select:
    stmt = (
        select(Application.id)
        .join(Seat, Seat.id == Application.seat_id)
        .join(CandidateProfile, CandidateProfile.id == Application.profile_id)
        .join(User, User.id == CandidateProfile.user_id)
        .outerjoin(SeatFitCheck, SeatFitCheck.id == Application.fit_check_id)
    )
    if cohort_id is not None:
        stmt = stmt.where(_holds_place(cohort_id, Application.profile_id))
    return stmt


def count_applications(cohort_id: int | None) -> int:
    return _count(_applications_base(cohort_id))


def application_rows(cohort_id: int | None, *, batch_size: int = BATCH_SIZE) -> Iterator[list[object]]:
    """Every application, by candidate: one query per batch."""
    name_key = func.lower(User.name)
    keys = [name_key, Application.id]
    stmt = _applications_base(cohort_id).with_only_columns(
        Application.id,
        CandidateProfile.id,
        User.name,
        Seat.name,
        Seat.ons_code,
        Seat.boundary_set,
        Application.status,
        SeatFitCheck.band,
        Application.override_at,
        Application.submitted_on,
        Application.decided_on,
        Application.notes,
        Application.created_at,
        Application.updated_at,
        *[k.label(f"k{i}") for i, k in enumerate(keys)],
    )
    for rows in batches(stmt, keys, batch_size):
        for r in rows:
            (aid, pid, name, seat, code, boundary_set, status, band, override_at, submitted_on, decided_on, notes,
             created_at, updated_at) = tuple(r)[:14]  # fmt: skip
            yield [
                aid,
                pid,
                name,
                seat,
                code,
                boundary_set,
                APPLICATION_STATUS_LABELS.get(status, status),
                (band or "").capitalize(),
                yes_no(override_at is not None),
                day(submitted_on),
                day(decided_on),
                notes or "",
                uk_time(created_at),
                uk_time(updated_at),
            ]


# ---------------------------------------------------------------------------------------------
# The four exports


def _count(stmt: Select) -> int:
    return int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    description: str
    header: tuple[str, ...]
    count: Callable[[int | None], int]
    rows: Callable[..., Iterator[list[object]]]

    @property
    def endpoint(self) -> str:
        return f"exports.{self.name}"


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "candidates",
            "Candidates",
            "One row per candidate: contact details, region, languages, roles, stage, approved-list "
            "status and current cohorts.",
            CANDIDATE_HEADER,
            count_candidates,
            candidate_rows,
        ),
        Kind(
            "attendance",
            "Attendance",
            "One row per register mark: the session, its cohort, the candidate and the mark.",
            ATTENDANCE_HEADER,
            count_attendance,
            attendance_rows,
        ),
        Kind(
            "milestones",
            "Engagement milestones",
            "One row per milestone, at any status: type, date, place, people reached, volunteers "
            "recruited, evidence and verification.",
            MILESTONE_HEADER,
            count_milestones,
            milestone_rows,
        ),
        Kind(
            "applications",
            "Applications",
            "One row per application to a seat: the seat, its status, the fit-check band and the dates.",
            APPLICATION_HEADER,
            count_applications,
            application_rows,
        ),
    )
}


@dataclass(frozen=True)
class Download:
    kind: Kind
    cohort_id: int | None
    self_declared: bool
    rows_expected: int
    batch_size: int = BATCH_SIZE

    @property
    def header(self) -> tuple[str, ...]:
        return self.kind.header + (SELF_DECLARED_HEADER if self.self_declared else ())

    def rows(self) -> Iterator[list[object]]:
        if self.kind.name == "candidates":
            return self.kind.rows(self.cohort_id, self_declared=self.self_declared, batch_size=self.batch_size)
        return self.kind.rows(self.cohort_id, batch_size=self.batch_size)

    def stream(self) -> Iterator[bytes]:
        return stream_csv(self.header, self.rows())

    def filename(self, today: date) -> str:
        cohort = f"-cohort-{self.cohort_id}" if self.cohort_id is not None else ""
        extra = "-with-self-declared" if self.self_declared else ""
        return f"d2w-{self.kind.name}{cohort}{extra}-{today.isoformat()}.csv"


def prepare(
    actor: User,
    kind_name: str,
    *,
    cohort: Cohort | None = None,
    self_declared: bool = False,
    batch_size: int | None = None,
) -> Download:
    """Check the actor may have this export, count its rows and record the download in the
    audit log (the caller commits, then streams ``Download.stream()``)."""
    kind = KINDS[kind_name]
    if not policy.can_export(actor):
        raise Forbidden("Only staff download exports.")
    if self_declared and (kind.name != "candidates" or not policy.can_export_self_declared(actor)):
        raise Forbidden("Self-declared answers can only be exported by staff, in the candidates export.")
    cohort_id = cohort.id if cohort is not None else None
    rows = kind.count(cohort_id)
    action = f"export.{kind.name}" + ("_self_declared" if self_declared else "")
    summary = f"{rows:,} row{'s' if rows != 1 else ''}"
    if cohort is not None:
        summary += f", cohort {cohort.name}"
    if self_declared:
        summary += ", with ethnic group, date of birth and referendum vote"
    audit.record(actor, action, object_type="export", object_id=kind.name, summary=summary)
    return Download(kind, cohort_id, self_declared, rows, batch_size or BATCH_SIZE)
