"""A synthetic, seeded, realistic programme for the benchmark (issue #8).

At scale 1.0: 40 cohorts (about 125 candidates each), 5,000 candidates, 400 mentors, 60,000
mentoring logs, 100,000 milestones, 120,000 attendance rows and 10,000 applications to seats of the
2024 boundary set, on top of the real seat data (``flask d2w seats import`` first). Other tables
follow from those: profiles and languages, stage history, self-declared answers with their consent
(about two thirds of candidates), enrolments, skills sessions, mentor assignments, private and staff
notes, action items, milestone history and targets, saved seat-fit checks (by the real engine) and
application history, and audit events.

The same seed, scale and ``today`` give the same rows. Rows are written with Core ``INSERT``
executemany in chunks, not one ORM object at a time. Every account shares one precomputed argon2
hash of ``BENCH_PASSWORD``, so that any of them can sign in.
"""

from __future__ import annotations

import random
import time as _time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, insert, select, text

from d2w.applications.models import Application, ApplicationEvent
from d2w.audit.models import AuditEvent
from d2w.auth.models import User
from d2w.candidates.choices import CONSENT_VERSION
from d2w.candidates.models import CandidateProfile, ConsentRecord, ProfileLanguage, SensitiveAnswer, StageChange
from d2w.cohorts.models import Cohort, Enrolment
from d2w.core.extensions import db
from d2w.engagement.models import Milestone, MilestoneEvent, MilestoneTarget, MilestoneType
from d2w.mentoring.models import (
    ActionItem,
    MentorAssignment,
    MentoringLog,
    MentorLanguage,
    MentorProfile,
    MentorSkill,
    PrivateNote,
    StaffNote,
)
from d2w.programme.models import Attendance, ProgrammeSession
from d2w.programme.rules import consecutive_absences
from d2w.programme.skills import SKILL_VALUES
from d2w.seatfit.models import SeatFitCheck, SeatFitFactor
from d2w.seats.models import Seat

# Bench accounts only: ``flask d2w bench generate`` refuses to run in production.
BENCH_PASSWORD = "bench passphrase for d2w load tests"  # noqa: S105
EMAIL_DOMAIN = "bench.example.org"
ADMIN_EMAIL = f"admin@{EMAIL_DOMAIN}"
STAFF_EMAIL = f"staff@{EMAIL_DOMAIN}"

# The programme at scale 1.0 (issue #8).
TARGETS = {
    "cohorts": 40,
    "candidates": 5000,
    "mentors": 400,
    "mentoring_logs": 60000,
    "milestones": 100000,
    "attendances": 120000,
    "applications": 10000,
}
STAFF_COUNT = 12  # two of them admins
MARKED_SESSIONS = 24  # every cohort has 24 sessions behind it: 24 marks per candidate
FUTURE_SESSIONS = 6  # and open cohorts have 6 more to come
CHUNK = 5000
PILOT_SIZE = 30  # one open cohort has exactly this many candidates (the benchmark's cohort report)
LONDON = ZoneInfo("Europe/London")

REGION_WEIGHTS = {
    "London": 32,
    "West Midlands": 12,
    "North West": 12,
    "Yorkshire and The Humber": 8,
    "East Midlands": 7,
    "South East": 9,
    "East of England": 6,
    "South West": 3,
    "North East": 3,
    "Scotland": 4,
    "Wales": 3,
    "Northern Ireland": 1,
}
BOROUGHS = {
    "London": ["Tower Hamlets", "Newham", "Brent", "Ealing", "Lambeth", "Southwark", "Hackney", "Croydon",
               "Lewisham", "Haringey", "Redbridge", "Hounslow"],
    "West Midlands": ["Birmingham", "Wolverhampton", "Sandwell", "Coventry", "Walsall", "Dudley"],
    "North West": ["Manchester", "Oldham", "Bolton", "Blackburn", "Liverpool", "Preston", "Rochdale"],
    "Yorkshire and The Humber": ["Bradford", "Leeds", "Kirklees", "Sheffield", "Calderdale"],
    "East Midlands": ["Leicester", "Nottingham", "Derby", "Northampton"],
    "South East": ["Slough", "Reading", "Milton Keynes", "Crawley", "Southampton"],
    "East of England": ["Luton", "Peterborough", "Bedford", "Watford", "Cambridge"],
    "South West": ["Bristol", "Swindon", "Gloucester", "Plymouth"],
    "North East": ["Newcastle upon Tyne", "Middlesbrough", "Sunderland"],
    "Scotland": ["Glasgow", "Edinburgh", "Dundee", "Aberdeen"],
    "Wales": ["Cardiff", "Newport", "Swansea"],
    "Northern Ireland": ["Belfast", "Foyle"],
}  # fmt: skip
# (community, languages its members often speak, self-declared ethnic groups seen in it)
COMMUNITIES = [
    ("Bangladeshi community", ["Bengali", "Sylheti"], ["asian_bangladeshi"]),
    ("Pakistani community", ["Urdu", "Punjabi"], ["asian_pakistani"]),
    ("Indian community", ["Gujarati", "Punjabi", "Hindi"], ["asian_indian"]),
    ("Tamil community", ["Tamil"], ["asian_indian", "asian_other"]),
    ("Somali community", ["Somali", "Arabic"], ["black_african"]),
    ("Nigerian community", ["Yoruba", "Igbo"], ["black_african"]),
    ("Ghanaian community", ["Twi"], ["black_african"]),
    ("Caribbean community", [], ["black_caribbean", "mixed_white_black_caribbean", "black_other"]),
    ("Chinese community", ["Cantonese", "Mandarin"], ["asian_chinese"]),
    ("Polish community", ["Polish"], ["white_other"]),
    ("Romanian community", ["Romanian"], ["white_other", "white_roma"]),
    ("Arab community", ["Arabic"], ["other_arab"]),
    ("Turkish and Kurdish community", ["Turkish", "Kurdish"], ["other_any", "white_other"]),
    ("Irish community", [], ["white_irish"]),
    ("local residents", [], ["white_british", "mixed_other", "mixed_white_asian", "other_any"]),
]
COMMUNITY_WEIGHTS = [9, 10, 11, 4, 6, 9, 5, 10, 3, 5, 2, 4, 3, 2, 17]
FIRST_NAMES = [
    "Aisha",
    "Ahmed",
    "Amara",
    "Amir",
    "Anjali",
    "Ayo",
    "Bilal",
    "Chidi",
    "Chloe",
    "Daniel",
    "Deepa",
    "Efua",
    "Emeka",
    "Fatima",
    "Grace",
    "Hamza",
    "Hannah",
    "Ibrahim",
    "Imran",
    "Jade",
    "Jamal",
    "Jasmine",
    "Kavita",
    "Kemi",
    "Kwame",
    "Layla",
    "Leon",
    "Maryam",
    "Mohammed",
    "Nadia",
    "Nia",
    "Nikhil",
    "Olu",
    "Omar",
    "Priya",
    "Rahul",
    "Reece",
    "Rohan",
    "Ruth",
    "Sadia",
    "Samir",
    "Sana",
    "Simran",
    "Sophie",
    "Tariq",
    "Tomasz",
    "Usman",
    "Yasmin",
    "Zain",
    "Zara",
    "Zoe",
]
SURNAMES = [
    "Abdi",
    "Adeyemi",
    "Ahmed",
    "Akhtar",
    "Ali",
    "Appiah",
    "Asante",
    "Begum",
    "Bhatt",
    "Campbell",
    "Chowdhury",
    "Clarke",
    "Das",
    "Edwards",
    "Francis",
    "Gill",
    "Grant",
    "Hassan",
    "Hussain",
    "Iqbal",
    "Islam",
    "Joseph",
    "Kaur",
    "Khan",
    "Kowalski",
    "Lee",
    "Mahmood",
    "Mensah",
    "Miah",
    "Mohamud",
    "Nowak",
    "Obi",
    "Okafor",
    "Okonkwo",
    "Osei",
    "Owusu",
    "Patel",
    "Rahman",
    "Raman",
    "Richards",
    "Shah",
    "Sharma",
    "Siddiqui",
    "Singh",
    "Smith",
    "Thomas",
    "Uddin",
    "Walker",
    "Williams",
    "Wong",
    "Yusuf",
]
SESSION_TITLES = {
    "communication": "Finding your voice: public speaking",
    "intellect": "Briefing yourself fast: policy in a day",
    "relating_to_people": "Listening at the doorstep",
    "leading": "Leading a local campaign team",
    "resilience": "Resilience under pressure",
    "conviction": "Why I want to serve",
    "media_tv": "Media interviews and TV",
    "social_media": "Social media that builds trust",
    "canvassing": "Canvassing that listens",
    "fundraising": "Fundraising for your campaign",
    "community_organising": "Community organising",
    "local_research": "Knowing your community: local research",
    "rapid_rebuttal": "Rapid rebuttal",
    "mock_hustings": "Mock hustings",
    "mock_selection_panel": "Mock selection panel",
}
LANGUAGES_EXTRA = ["French", "Spanish", "Portuguese", "Welsh", "Gaelic", "Hindi", "Urdu", "Arabic", "Swahili"]
ETHNIC_PREFER_NOT = 0.06
STAGE_CHAIN = ("prospective", "in_programme", "approved_list", "applying", "selected", "elected")
APPLICATION_STATUS_WEIGHTS = {
    "considering": 20,
    "fit_checked": 15,
    "submitted": 15,
    "longlisted": 10,
    "shortlisted": 8,
    "final": 5,
    "selected": 2,
    "not_selected": 20,
    "withdrawn": 5,
}
PATH = ("considering", "fit_checked", "submitted", "longlisted", "shortlisted", "final")


class GenerateError(RuntimeError):
    """The database cannot take a generated programme; the message says why."""


def planned_counts(scale: float) -> dict[str, int]:
    """The main row counts for a scale (each at least one)."""
    if not 0 < scale <= 10:
        raise GenerateError("The scale must be above 0 and at most 10.")
    counts = {name: max(1, round(n * scale)) for name, n in TARGETS.items()}
    counts["attendances"] = counts["candidates"] * MARKED_SESSIONS
    return counts


def existing_people() -> int:
    """Accounts, candidate profiles and cohorts already in the database."""
    return sum(db.session.scalar(select(func.count()).select_from(m)) for m in (User, CandidateProfile, Cohort))


# ---------------------------------------------------------------------------------------------
# Writing


class Writer:
    """Buffers rows per table and writes them with executemany in chunks, parents first."""

    def __init__(self):
        self.conn = db.session.connection()
        self.buffers: dict[str, list[dict]] = defaultdict(list)
        self.counts: Counter = Counter()
        self.next_ids: dict[str, int] = {}
        self.order = [t.name for t in db.metadata.sorted_tables]

    def next_id(self, model) -> int:
        name = model.__tablename__
        if name not in self.next_ids:
            self.next_ids[name] = (db.session.scalar(select(func.max(model.id))) or 0) + 1
        value = self.next_ids[name]
        self.next_ids[name] = value + 1
        return value

    def add(self, model, row: dict) -> dict:
        if "id" not in row:
            row = {"id": self.next_id(model), **row}
        # executemany takes its columns from the first row: every row names every column.
        row = {column: row.get(column) for column in model.__table__.columns.keys()}  # noqa: SIM118
        buf = self.buffers[model.__tablename__]
        buf.append(row)
        if len(buf) >= CHUNK:
            self.flush()
        return row

    def flush(self) -> None:
        tables = {t.name: t for t in db.metadata.sorted_tables}
        for name in self.order:
            rows = self.buffers.get(name)
            if rows:
                self.conn.execute(insert(tables[name]), rows)
                self.counts[name] += len(rows)
                self.buffers[name] = []

    def fix_sequences(self) -> None:
        """PostgreSQL: move each id sequence past the ids written here."""
        if self.conn.dialect.name != "postgresql":
            return
        for name in self.next_ids:
            self.conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608 - our own table names
                    f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"
                )
            )


# ---------------------------------------------------------------------------------------------
# The plan (in memory, small) and the rows


@dataclass
class Person:
    user_id: int
    name: str
    email: str


@dataclass
class Candidate(Person):
    index: int = 0
    profile_id: int = 0
    region: str = "London"
    borough: str = "Newham"
    community: int = 0
    languages: list[str] = field(default_factory=list)
    cohort: int = 0
    enrolment_status: str = "active"
    stage: str = "in_programme"
    marks: list[str] = field(default_factory=list)
    stance: str = "unknown"
    active_mentor: int | None = None  # mentor index
    assignment_id: int | None = None
    ties: list[tuple] = field(default_factory=list)
    engagement: float = 1.0


@dataclass
class MentorPlan(Person):
    index: int = 0
    profile_id: int = 0
    region: str = "London"
    capacity: int = 10
    load: int = 0


@dataclass
class CohortPlan:
    id: int
    name: str
    region: str
    focus: str
    start: date
    end: date
    open: bool
    pilot: bool = False
    members: list[int] = field(default_factory=list)  # candidate indexes
    session_days: list[date] = field(default_factory=list)
    session_ids: list[int] = field(default_factory=list)


class Generator:
    def __init__(self, seed: int, scale: float, today: date, log: Callable[[str], None]):
        self.rng = random.Random(seed)
        self.counts = planned_counts(scale)
        self.today = today
        # Every timestamp is before the start of ``today`` (UTC), so nothing is in the future.
        self.base = datetime.combine(today, time(), UTC)
        self.log = log
        self.w = Writer()
        self.staff: list[Person] = []
        self.mentors: list[MentorPlan] = []
        self.candidates: list[Candidate] = []
        self.cohorts: list[CohortPlan] = []
        self.password_hash = ""

    # -- helpers

    def at(self, day: date, hour: int | None = None) -> datetime:
        """A UTC moment on a day (a random working hour unless given), never after ``base``."""
        if hour is None:
            hour = self.rng.randint(8, 20)
        moment = datetime.combine(day, time(hour, self.rng.randint(0, 59)), UTC)
        return min(moment, self.base - timedelta(minutes=1))

    def day_between(self, first: date, last: date) -> date:
        if last <= first:
            return first
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    def audit(self, actor_id: int | None, action: str, object_type: str, object_id: int, at: datetime, summary=""):
        self.w.add(
            AuditEvent,
            {
                "at": at,
                "actor_id": actor_id,
                "action": action,
                "object_type": object_type,
                "object_id": str(object_id),
                "summary": summary[:255],
                "request_id": None,
                "ip": None,
            },
        )

    def admin_id(self) -> int:
        return self.staff[0].user_id

    def some_staff(self) -> int:
        return self.rng.choice(self.staff[1:] or self.staff).user_id

    def name(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(SURNAMES)}"

    def region(self) -> str:
        return self.rng.choices(list(REGION_WEIGHTS), weights=list(REGION_WEIGHTS.values()))[0]

    # -- the run

    def run(self) -> dict[str, int]:
        from d2w.auth.services import hasher
        from d2w.engagement import catalogue

        catalogue.ensure_seeded()
        db.session.flush()
        self.password_hash = hasher().hash(BENCH_PASSWORD)
        self.seats = db.session.execute(
            select(Seat.id, Seat.ons_code, Seat.name, Seat.region).where(Seat.boundary_set == "2024").order_by(Seat.id)
        ).all()
        if not self.seats:
            raise GenerateError("There are no seats: run `flask d2w seats import` first.")
        self.seats_by_region: dict[str, list] = defaultdict(list)
        for seat in self.seats:
            self.seats_by_region[seat.region].append(seat)
        self.types = db.session.execute(
            select(MilestoneType.id, MilestoneType.name, MilestoneType.evidence_required)
            .where(MilestoneType.active)
            .order_by(MilestoneType.id)
        ).all()

        steps = [
            ("accounts", self.make_users),
            ("cohorts and enrolments", self.make_cohorts),
            ("candidate profiles", self.make_profiles),
            ("sessions and attendance", self.make_sessions),
            ("mentoring", self.make_mentoring),
            ("milestones", self.make_milestones),
            ("seat-fit checks and applications", self.make_applications),
        ]
        for label, step in steps:
            started = _time.perf_counter()
            step()
            self.w.flush()
            self.log(f"  {label}: {_time.perf_counter() - started:.1f}s")
        from d2w.mentoring.services import refresh_last_met

        refresh_last_met()  # the logs went in by bulk insert, past add_log
        self.w.fix_sequences()
        return dict(sorted(self.w.counts.items()))

    # -- accounts

    def user_row(self, email: str, name: str, role: str, created: datetime, *, is_admin=False, active=True) -> int:
        row = self.w.add(
            User,
            {
                "email": email,
                "name": name,
                "role": role,
                "is_admin": is_admin,
                "active": active,
                "password_hash": self.password_hash,
                "password_changed_at": created,
                "last_login_at": None,
                "created_at": created,
                "updated_at": created,
                "version": 1,
            },
        )
        return row["id"]

    def make_users(self) -> None:
        long_ago = self.today - timedelta(days=5 * 365)
        n_staff = max(2, round(STAFF_COUNT * min(1.0, self.counts["candidates"] / TARGETS["candidates"] * 4)))
        for i in range(n_staff):
            email = ADMIN_EMAIL if i == 0 else STAFF_EMAIL if i == 1 else f"staff{i:02d}@{EMAIL_DOMAIN}"
            name = self.name()
            created = self.at(long_ago + timedelta(days=i))
            uid = self.user_row(email, name, "staff", created, is_admin=i in (0, 2))
            self.staff.append(Person(uid, name, email))
        for i in range(self.counts["mentors"]):
            email = f"mentor{i + 1:04d}@{EMAIL_DOMAIN}"
            name = self.name()
            uid = self.user_row(email, name, "mentor", self.at(self.day_between(long_ago, self.today - timedelta(60))))
            self.mentors.append(
                MentorPlan(uid, name, email, index=i, region=self.region(), capacity=self.rng.randint(8, 20))
            )
        for i in range(self.counts["candidates"]):
            email = f"candidate{i + 1:05d}@{EMAIL_DOMAIN}"
            name = self.name()
            # created with the cohort plan below; a placeholder id until then
            self.candidates.append(Candidate(0, name, email, index=i))
        self.log(f"  {n_staff} staff, {len(self.mentors)} mentors, {len(self.candidates)} candidates planned")

    # -- cohorts, enrolments and the candidates' plan

    def make_cohorts(self) -> None:
        n = self.counts["cohorts"]
        n_open = max(1, round(n * 0.2))
        regions = [self.region() for _ in range(n)]
        focuses = [self.rng.choice(("bme", "young", "both")) for _ in range(n)]
        for i in range(n):
            if i < n_open:
                # 24 sessions behind it, the 25th within the week ahead, 30 in all.
                start = self.today - timedelta(days=161 + i % 7)
                length = MARKED_SESSIONS + FUTURE_SESSIONS
            else:
                start = self.today - timedelta(weeks=34 + 6 * (i - n_open), days=i % 5)
                length = MARKED_SESSIONS
            end = start + timedelta(weeks=length)
            focus_word = {"bme": "BME", "young": "Young Candidates", "both": "BME and Young"}[focuses[i]]
            cohort_id = self.w.next_id(Cohort)
            self.cohorts.append(
                CohortPlan(
                    cohort_id,
                    f"{regions[i]} {focus_word} {start.year} (intake {n - i})",
                    regions[i],
                    focuses[i],
                    start,
                    end,
                    i < n_open,
                    session_days=[start + timedelta(weeks=k) for k in range(length)],
                )
            )
        # Candidates spread evenly over cohorts, living mostly in the cohort's region; one open
        # cohort is a pilot of exactly PILOT_SIZE (the benchmark's cohort report).
        sizes = [len(self.candidates) // n + (1 if i < len(self.candidates) % n else 0) for i in range(n)]
        pilot = n_open - 1
        if n >= 2 and len(self.candidates) - PILOT_SIZE >= 2 * PILOT_SIZE * (n - 1):
            rest = len(self.candidates) - PILOT_SIZE
            others = [i for i in range(n) if i != pilot]
            sizes = [0] * n
            sizes[pilot] = PILOT_SIZE
            for k, i in enumerate(others):
                sizes[i] = rest // len(others) + (1 if k < rest % len(others) else 0)
            self.cohorts[pilot].pilot = True
            self.cohorts[pilot].name = self.cohorts[pilot].name.replace(" (intake", " pilot (intake")
        slots = [i for i, size in enumerate(sizes) for _ in range(size)]
        for c in self.candidates:
            c.cohort = slots[c.index]
            cohort = self.cohorts[c.cohort]
            cohort.members.append(c.index)
            c.region = cohort.region if self.rng.random() < 0.8 else self.region()
            c.borough = self.rng.choice(BOROUGHS[c.region])
            c.community = self.rng.choices(range(len(COMMUNITIES)), weights=COMMUNITY_WEIGHTS)[0]
            langs = ["English", *self.rng.sample(COMMUNITIES[c.community][1], k=len(COMMUNITIES[c.community][1]))]
            if self.rng.random() < 0.15:
                langs.append(self.rng.choice(LANGUAGES_EXTRA))
            c.languages = list(dict.fromkeys(langs))[: self.rng.randint(1, 3) if len(langs) > 1 else 1]
            c.engagement = self.rng.lognormvariate(0, 0.6)
            if cohort.pilot:
                c.enrolment_status, c.stage = "active", "in_programme"
            elif cohort.open:
                c.enrolment_status = self.rng.choices(("active", "invited", "withdrawn"), weights=(88, 4, 8))[0]
                c.stage = {"active": "in_programme", "invited": "prospective", "withdrawn": "withdrawn"}[
                    c.enrolment_status
                ]
            else:
                c.enrolment_status = self.rng.choices(("completed", "withdrawn"), weights=(88, 12))[0]
                c.stage = (
                    "withdrawn"
                    if c.enrolment_status == "withdrawn"
                    else self.rng.choices(
                        ("in_programme", "approved_list", "applying", "selected", "elected", "withdrawn"),
                        weights=(14, 34, 34, 8, 4, 6),
                    )[0]
                )
            c.marks = self.attendance_marks(open_cohort=cohort.open)
        # Users for the candidates, then the cohorts and their enrolments.
        for c in self.candidates:
            cohort = self.cohorts[c.cohort]
            joined = self.at(cohort.start - timedelta(days=self.rng.randint(10, 60)))
            c.user_id = self.user_row(c.email, c.name, "candidate", joined, active=c.stage != "withdrawn")
        for cohort in self.cohorts:
            holders = [i for i in cohort.members if self.candidates[i].enrolment_status != "withdrawn"]
            created = self.at(cohort.start - timedelta(days=75))
            closed_at = None if cohort.open else self.at(cohort.end + timedelta(days=14))
            self.w.add(
                Cohort,
                {
                    "id": cohort.id,
                    "name": cohort.name,
                    "region": cohort.region,
                    "focus": cohort.focus,
                    "intake_start": cohort.start,
                    "intake_end": cohort.end,
                    "capacity": len(cohort.members) + self.rng.randint(5, 20),
                    "places_taken": len(holders),
                    "status": "open" if cohort.open else "closed",
                    "created_at": created,
                    "closed_at": closed_at,
                    "version": 1,
                },
            )
            self.audit(self.admin_id(), "cohort.created", "cohort", cohort.id, created, cohort.name)

    def attendance_marks(self, *, open_cohort: bool) -> list[str]:
        kind = self.rng.random()
        absent = 0.04 if kind < 0.7 else 0.12 if kind < 0.92 else 0.3
        weights = (1 - absent - 0.11, 0.07, 0.04, absent)
        marks = self.rng.choices(("present", "late", "excused", "absent"), weights=weights, k=MARKED_SESSIONS)
        if open_cohort and self.rng.random() < 0.06:
            # Recently stopped coming: at risk.
            for k in range(1, self.rng.randint(2, 4) + 1):
                marks[-k] = "absent"
        return marks

    # -- profiles, languages, stage history, self-declared answers

    def make_profiles(self) -> None:
        from d2w.candidates.choices import ETHNIC_GROUP_LABELS

        for c in self.candidates:
            cohort = self.cohorts[c.cohort]
            c.profile_id = self.w.next_id(CandidateProfile)
            created = self.at(cohort.start - timedelta(days=self.rng.randint(60, 75)))
            approved = c.stage in ("approved_list", "applying", "selected", "elected")
            if approved:
                list_status, list_date = "approved", self.day_between(cohort.end, self.today - timedelta(days=1))
            else:
                list_status = self.rng.choices(("not_applied", "applied", "not_approved"), weights=(70, 20, 10))[0]
                list_date = None if list_status == "not_applied" else self.day_between(cohort.start, self.today)
            marked = c.marks if c.enrolment_status != "invited" else []
            self.w.add(
                CandidateProfile,
                {
                    "id": c.profile_id,
                    "user_id": c.user_id,
                    "phone": f"07700 900{self.rng.randint(0, 999):03d}" if self.rng.random() < 0.7 else None,
                    "postcode": None,
                    "home_region": c.region,
                    "home_borough": c.borough,
                    "community_links": f"Works with the {COMMUNITIES[c.community][0]} in {c.borough}."
                    if self.rng.random() < 0.6
                    else None,
                    "is_councillor": self.rng.random() < 0.12,
                    "is_association_officer": self.rng.random() < 0.15,
                    "friends_of_groups": f"Friends of {c.borough} Park" if self.rng.random() < 0.1 else None,
                    "approved_list_status": list_status,
                    "approved_list_date": list_date,
                    "stage": c.stage,
                    "consecutive_absences": consecutive_absences(reversed(marked)),
                    "calendar_token": f"{self.rng.getrandbits(192):048x}" if self.rng.random() < 0.3 else None,
                    "created_at": created,
                    "updated_at": created,
                    "version": 1,
                },
            )
            for lang in c.languages:
                self.w.add(ProfileLanguage, {"profile_id": c.profile_id, "language": lang})
            self.stage_history(c, created)
            self.self_declared(c, created, ETHNIC_GROUP_LABELS)
            self.audit(self.admin_id(), "user.created", "user", c.user_id, created, "role Candidate")
        for m in self.mentors:
            self.audit(self.admin_id(), "user.created", "user", m.user_id, self.at(self.today - timedelta(400)))

        for cohort in self.cohorts:
            for i in cohort.members:
                c = self.candidates[i]
                enrolled = self.at(cohort.start - timedelta(days=self.rng.randint(3, 30)))
                ended = None
                if c.enrolment_status == "withdrawn":
                    ended = self.at(cohort.session_days[MARKED_SESSIONS - 1] + timedelta(days=1))
                elif c.enrolment_status == "completed":
                    ended = self.at(cohort.end)
                row = self.w.add(
                    Enrolment,
                    {
                        "cohort_id": cohort.id,
                        "profile_id": c.profile_id,
                        "status": c.enrolment_status,
                        "enrolled_at": enrolled,
                        "ended_at": ended,
                        "enrolled_by_id": self.some_staff(),
                    },
                )
                self.audit(self.some_staff(), "cohort.enrolled", "enrolment", row["id"], enrolled, cohort.name)

    def stage_history(self, c: Candidate, created: datetime) -> None:
        cohort = self.cohorts[c.cohort]
        if c.stage == "withdrawn":
            chain = ["in_programme", "withdrawn"]
        elif c.stage in STAGE_CHAIN:
            chain = list(STAGE_CHAIN[1 : STAGE_CHAIN.index(c.stage) + 1])
        else:
            chain = []
        day = cohort.start
        previous = "prospective"
        reasons = {
            "in_programme": f"Enrolled in {cohort.name}",
            "approved_list": "Passed the approved-list assessment",
            "applying": "Applying for seats",
            "selected": "Selected as a candidate",
            "elected": "Elected",
            "withdrawn": "Withdrew from the programme",
        }
        for stage in chain:
            when = self.at(min(day, self.today - timedelta(days=1)))
            self.w.add(
                StageChange,
                {
                    "profile_id": c.profile_id,
                    "from_stage": previous,
                    "to_stage": stage,
                    "reason": reasons[stage],
                    "changed_by_id": self.some_staff(),
                    "changed_at": max(when, created),
                },
            )
            previous = stage
            day = day + timedelta(days=self.rng.randint(60, 200))

    def self_declared(self, c: Candidate, created: datetime, ethnic_labels) -> None:
        if self.rng.random() >= 0.65:
            return
        answers = {}
        if self.rng.random() < 0.9:
            if self.rng.random() < ETHNIC_PREFER_NOT:
                answers["ethnic_group"] = "prefer_not_to_say"
            else:
                group = self.rng.choice(COMMUNITIES[c.community][2])
                answers["ethnic_group"] = group if group in ethnic_labels else "other_any"
        if self.rng.random() < 0.8:
            if self.rng.random() < 0.05:
                answers["date_of_birth"] = "prefer_not_to_say"
            else:
                age = self.rng.randint(19, 45)
                born = self.today - timedelta(days=age * 365 + self.rng.randint(0, 364))
                answers["date_of_birth"] = born.isoformat()
        if self.rng.random() < 0.85:
            answers["eu_ref_vote"] = self.rng.choices(
                ("remain", "leave", "did_not_vote", "prefer_not_to_say"), weights=(50, 25, 15, 10)
            )[0]
        when = created + timedelta(days=self.rng.randint(0, 20))
        when = min(when, self.base - timedelta(minutes=5))
        for field_name, value in answers.items():
            consent = self.w.add(
                ConsentRecord,
                {
                    "profile_id": c.profile_id,
                    "field": field_name,
                    "action": "given",
                    "text_version": CONSENT_VERSION,
                    "at": when,
                    "entered_by_id": c.user_id,
                },
            )
            self.w.add(
                SensitiveAnswer,
                {
                    "profile_id": c.profile_id,
                    "field": field_name,
                    "value": value,
                    "consent_id": consent["id"],
                    "updated_at": when,
                },
            )
            self.audit(c.user_id, "sensitive.recorded", "candidate_profile", c.profile_id, when, field_name)
        if "eu_ref_vote" in answers:
            c.stance = answers["eu_ref_vote"]

    # -- sessions and attendance

    def make_sessions(self) -> None:
        for cohort in self.cohorts:
            series = f"{self.rng.getrandbits(128):032x}"
            online = self.rng.random() < 0.3
            place = f"Committee Room {self.rng.randint(1, 6)}, {cohort.region} office"
            marked_by = self.some_staff()
            for k, day in enumerate(cohort.session_days):
                skill = SKILL_VALUES[k % len(SKILL_VALUES)]
                starts = datetime.combine(day, time(18, 30), LONDON).astimezone(UTC)
                past = k < MARKED_SESSIONS
                cancelled = None
                if not past and k == len(cohort.session_days) - 1 and self.rng.random() < 0.5:
                    cancelled = self.at(self.today - timedelta(days=2))
                created = self.at(cohort.start - timedelta(days=30))
                row = self.w.add(
                    ProgrammeSession,
                    {
                        "cohort_id": cohort.id,
                        "title": SESSION_TITLES[skill],
                        "skill_area": skill,
                        "starts_at": starts,
                        "ends_at": starts + timedelta(hours=2),
                        "place": None if online else place,
                        "online_url": f"https://meet.example.org/d2w-{cohort.id}" if online else None,
                        "facilitator": self.rng.choice(self.staff).name,
                        "notes": None,
                        "series_id": series,
                        "cancelled_at": cancelled,
                        "created_at": created,
                        "version": 1,
                        "register_version": 1 if past else 0,
                    },
                )
                cohort.session_ids.append(row["id"])
                if not past:
                    continue
                marked_at = starts + timedelta(hours=3)
                for i in cohort.members:
                    c = self.candidates[i]
                    if c.enrolment_status == "invited":
                        continue
                    self.w.add(
                        Attendance,
                        {
                            "session_id": row["id"],
                            "profile_id": c.profile_id,
                            "status": c.marks[k],
                            "marked_by_id": marked_by,
                            "marked_at": marked_at,
                        },
                    )
                self.audit(marked_by, "attendance.saved", "programme_session", row["id"], marked_at)
            self.audit(marked_by, "session.scheduled", "programme_session", cohort.session_ids[0], created)
        # Candidates who are only invited have no marks: the row count is a little under the plan.

    # -- mentoring

    def make_mentoring(self) -> None:
        for m in self.mentors:
            m.profile_id = self.w.next_id(MentorProfile)
        # Assignments: most candidates have an active primary mentor, some an earlier one too.
        by_region: dict[str, list[MentorPlan]] = defaultdict(list)
        for m in self.mentors:
            by_region[m.region].append(m)
        assignments = []  # (id, candidate, mentor, started, ended, lapsed_until)
        for c in self.candidates:
            cohort = self.cohorts[c.cohort]
            first = cohort.start + timedelta(days=self.rng.randint(7, 28))
            if self.rng.random() < 0.12:
                mentor = self.pick_mentor(by_region, c.region, take=False)
                if mentor is not None:
                    ended = first + timedelta(days=self.rng.randint(30, 120))
                    ended = min(ended, self.today - timedelta(days=10))
                    assignments.append((self.w.next_id(MentorAssignment), c, mentor, first, ended, None))
                    first = ended + timedelta(days=self.rng.randint(1, 5))
            if c.stage == "withdrawn" or c.enrolment_status == "invited" or self.rng.random() >= 0.85:
                continue
            mentor = self.pick_mentor(by_region, c.region, take=True)
            if mentor is None:
                continue
            lapsed = None
            if self.rng.random() < 0.12:
                lapsed = self.today - timedelta(weeks=self.rng.randint(7, 20))
            aid = self.w.next_id(MentorAssignment)
            c.active_mentor, c.assignment_id = mentor.index, aid
            assignments.append((aid, c, mentor, min(first, self.today - timedelta(days=14)), None, lapsed))

        for m in self.mentors:
            created = self.at(self.today - timedelta(days=400))
            self.w.add(
                MentorProfile,
                {
                    "id": m.profile_id,
                    "user_id": m.user_id,
                    "region": m.region,
                    "capacity": m.capacity,
                    "active_mentees": m.load,
                    "availability": self.rng.choice(
                        ("Weekday evenings.", "Saturday mornings.", "Fridays after 4pm.", "Any time by video.")
                    ),
                    "created_at": created,
                    "updated_at": created,
                },
            )
            for skill in sorted(self.rng.sample(SKILL_VALUES, k=self.rng.randint(2, 5))):
                self.w.add(MentorSkill, {"mentor_id": m.profile_id, "skill_area": skill})
            langs = ["English", *self.rng.sample(["Urdu", "Bengali", "Yoruba", "Polish", "Twi", "Hindi"], k=1)]
            for lang in langs[: self.rng.randint(1, 2)]:
                self.w.add(MentorLanguage, {"mentor_id": m.profile_id, "language": lang})

        for aid, c, m, started, ended, _ in assignments:
            by = self.some_staff()
            self.w.add(
                MentorAssignment,
                {
                    "id": aid,
                    "mentor_id": m.profile_id,
                    "profile_id": c.profile_id,
                    "is_primary": True,
                    "status": "ended" if ended else "active",
                    "started_at": self.at(started),
                    "ended_at": self.at(ended) if ended else None,
                    "end_reason": "Mentor's availability changed" if ended else None,
                    "assigned_by_id": by,
                    "ended_by_id": by if ended else None,
                },
            )
            self.audit(by, "mentoring.assigned", "mentor_assignment", aid, self.at(started), f"{m.name} of {c.name}")

        # Logs, spread over assignments by how long each has run.
        spans = []
        for _aid, _c, _m, started, ended, lapsed in assignments:
            last = ended or lapsed or (self.today - timedelta(days=1))
            spans.append(max(1, (last - started).days))
        picks = Counter(self.rng.choices(range(len(assignments)), weights=spans, k=self.counts["mentoring_logs"]))
        summaries = (
            "Worked on the selection-panel story and the two-minute opening.",
            "Mock radio interview; shorter answers on national policy next time.",
            "Planned a voter-registration stall with the local association.",
            "Went through the seat's last three results and the local issues.",
            "Reviewed the community work logged this month and what evidence to keep.",
            "Practised hustings answers on housing and the cost of living.",
        )
        private = ("More confident than last time.", "Anxious about media questions; revisit gently.")
        for n, (aid, c, m, started, ended, lapsed) in enumerate(assignments):
            k = picks.get(n, 0)
            if not k:
                continue
            last = ended or lapsed or (self.today - timedelta(days=1))
            days = sorted(self.day_between(started, last) for _ in range(k))
            for met_on in days:
                created = self.at(met_on + timedelta(days=self.rng.randint(0, 2)))
                log = self.w.add(
                    MentoringLog,
                    {
                        "assignment_id": aid,
                        "author_id": m.user_id,
                        "met_on": met_on,
                        "duration_minutes": self.rng.choice((30, 45, 60, 60, 90)),
                        "mode": self.rng.choices(("in_person", "phone", "video"), weights=(3, 2, 5))[0],
                        "summary": self.rng.choice(summaries),
                        "created_at": created,
                    },
                )
                self.audit(m.user_id, "mentoring.logged", "mentoring_log", log["id"], created)
                if self.rng.random() < 0.3:
                    self.w.add(
                        PrivateNote,
                        {
                            "log_id": log["id"],
                            "author_id": m.user_id,
                            "body": self.rng.choice(private),
                            "created_at": created,
                        },
                    )
                if self.rng.random() < 0.02:
                    self.w.add(
                        StaffNote,
                        {
                            "log_id": log["id"],
                            "author_id": self.some_staff(),
                            "body": "Checked in with the candidate: all well.",
                            "created_at": created + timedelta(hours=1),
                        },
                    )
                for _ in range(self.rng.choices((0, 1, 2), weights=(55, 35, 10))[0]):
                    owner = self.rng.choices(("candidate", "mentor"), weights=(7, 3))[0]
                    due = met_on + timedelta(days=self.rng.randint(7, 28))
                    done = due < self.today - timedelta(days=7) and self.rng.random() < 0.85
                    done_by = c.user_id if owner == "candidate" else m.user_id
                    self.w.add(
                        ActionItem,
                        {
                            "log_id": log["id"],
                            "assignment_id": aid,
                            "description": self.rng.choice(
                                (
                                    "Rehearse a two-minute opening statement",
                                    "Send contacts at two local newspapers",
                                    "Book the stall and recruit five volunteers",
                                    "Read the council's local plan",
                                    "Record a 60-second answer on local housing",
                                )
                            ),
                            "owner": owner,
                            "due_on": due,
                            "done_at": self.at(due - timedelta(days=1)) if done else None,
                            "done_by_id": done_by if done else None,
                        },
                    )

    def pick_mentor(self, by_region, region: str, *, take: bool) -> MentorPlan | None:
        local = [m for m in by_region.get(region, []) if m.load < m.capacity]
        pool = local if local and self.rng.random() < 0.8 else [m for m in self.mentors if m.load < m.capacity]
        if not pool:
            return None
        mentor = self.rng.choice(pool)
        if take:
            mentor.load += 1
        return mentor

    # -- milestones

    def make_milestones(self) -> None:
        type_ids = [t.id for t in self.types]
        for cohort in self.cohorts:
            chosen = self.rng.sample(type_ids, k=min(len(type_ids), self.rng.randint(3, 5)))
            for type_id in chosen:
                self.w.add(
                    MilestoneTarget,
                    {
                        "cohort_id": cohort.id,
                        "type_id": type_id,
                        "target": self.rng.randint(1, 5),
                        "set_by_id": self.some_staff(),
                        "updated_at": self.at(cohort.start),
                    },
                )
        weights = [c.engagement for c in self.candidates]
        picks = Counter(self.rng.choices(range(len(self.candidates)), weights=weights, k=self.counts["milestones"]))
        for i, k in sorted(picks.items()):
            c = self.candidates[i]
            cohort = self.cohorts[c.cohort]
            first = cohort.start - timedelta(days=60)
            for _ in range(k):
                self.milestone(c, self.day_between(first, self.today - timedelta(days=1)))

    def milestone(self, c: Candidate, day: date) -> None:
        t = self.rng.choice(self.types)
        region = c.region if self.rng.random() < 0.85 else self.region()
        borough = (
            (c.borough if region == c.region else self.rng.choice(BOROUGHS[region]))
            if self.rng.random() < 0.8
            else None
        )
        seats = self.seats_by_region.get(region) or self.seats
        seat = self.rng.choice(seats) if self.rng.random() < 0.5 else None
        community = COMMUNITIES[c.community][0] if self.rng.random() < 0.7 else self.rng.choice(COMMUNITIES)[0]
        age = (self.today - day).days
        if age > 30:
            status = self.rng.choices(("verified", "returned", "logged"), weights=(78, 8, 14))[0]
        else:
            status = self.rng.choices(("verified", "returned", "logged"), weights=(35, 5, 60))[0]
        created = self.at(day + timedelta(days=self.rng.randint(0, min(5, age - 1) if age > 1 else 0)))
        reviewer = (
            self.mentors[c.active_mentor].user_id
            if c.active_mentor is not None and self.rng.random() < 0.6
            else self.some_staff()
        )
        reviewed = min(created + timedelta(days=self.rng.randint(1, 20)), self.base - timedelta(minutes=2))
        volunteers = self.rng.randint(1, 40) if "volunteers" in t.name else 0
        row = self.w.add(
            Milestone,
            {
                "profile_id": c.profile_id,
                "type_id": t.id,
                "occurred_on": day,
                "place": f"{borough or region} {self.rng.choice(('community centre', 'library', 'mosque', 'gurdwara', 'church hall', 'college', 'temple', 'high street'))}",
                "region": region,
                "borough": borough,
                "seat_code": seat.ons_code if seat else None,
                "community": community,
                "description": f"{t.name} with the {community}.",
                "people_reached": self.rng.randint(5, 300),
                "volunteers_recruited": volunteers,
                "evidence_url": f"https://www.example.org/evidence/{c.profile_id}/{day:%Y%m%d}"
                if t.evidence_required or self.rng.random() < 0.4
                else None,
                "evidence_file": None,
                "evidence_filename": None,
                "evidence_type": None,
                "evidence_size": None,
                "status": status,
                "verified_at": reviewed if status == "verified" else None,
                "verified_by_id": reviewer if status == "verified" else None,
                "created_at": created,
                "updated_at": reviewed if status != "logged" else created,
                "version": 1 if status == "logged" else 2,
            },
        )
        mid = row["id"]
        self.w.add(
            MilestoneEvent,
            {"milestone_id": mid, "actor_id": c.user_id, "at": created, "from_status": None, "to_status": "logged"},
        )
        if status == "returned":
            self.w.add(
                MilestoneEvent,
                {
                    "milestone_id": mid,
                    "actor_id": reviewer,
                    "at": reviewed,
                    "from_status": "logged",
                    "to_status": "returned",
                    "comment": "Please add the names of the wards you covered.",
                },
            )
        elif status == "verified":
            self.w.add(
                MilestoneEvent,
                {
                    "milestone_id": mid,
                    "actor_id": reviewer,
                    "at": reviewed,
                    "from_status": "logged",
                    "to_status": "verified",
                    "comment": "Seen the evidence: well done." if self.rng.random() < 0.3 else None,
                },
            )
            if region or borough or seat:
                c.ties.append(
                    (t.name, region, borough, seat.ons_code if seat else None, seat.name if seat else None, community)
                )

    # -- seat-fit checks and applications

    def make_applications(self) -> None:
        from flask import current_app as app

        from d2w.seatfit import engine
        from d2w.seatfit import services as seatfit

        facts, medians = seatfit.seat_facts("2024")
        facts_by_id = {f.seat_id: f for f in facts}
        thresholds = engine.Thresholds.from_config(app.config)
        eligible = [c for c in self.candidates if c.stage in ("approved_list", "applying", "selected", "elected")]
        wanted = self.counts["applications"]
        if len(eligible) * 3 < wanted:  # small scales: few candidates have reached the approved list
            eligible = [c for c in self.candidates if c.stage != "withdrawn"] or self.candidates
        weights = [2.0 if c.stage == "applying" else 1.0 for c in eligible]
        picks = Counter(self.rng.choices(range(len(eligible)), weights=weights, k=wanted))
        statuses = list(APPLICATION_STATUS_WEIGHTS)
        status_weights = list(APPLICATION_STATUS_WEIGHTS.values())
        for i, k in sorted(picks.items()):
            c = eligible[i]
            k = min(k, len(self.seats))
            local = [s.id for s in self.seats_by_region.get(c.region, [])]
            chosen: list[int] = []
            while len(chosen) < k:
                pool = local if local and self.rng.random() < 0.6 else [s.id for s in self.seats]
                seat_id = self.rng.choice(pool)
                if seat_id not in chosen:
                    chosen.append(seat_id)
            candidate_facts = engine.CandidateFacts(
                stance=c.stance if c.stance in engine.STANCES else "unknown",
                home_region=c.region,
                home_borough=c.borough,
                ties=tuple(engine.TieFacts(*tie) for tie in c.ties),
                languages=tuple(c.languages),
            )
            for n, seat_id in enumerate(chosen):
                status = "selected" if n == 0 and c.stage in ("selected", "elected") else None
                status = status or self.rng.choices(statuses, weights=status_weights)[0]
                self.application(c, facts_by_id[seat_id], candidate_facts, status, thresholds, medians, engine)
            # Some checks a candidate ran without applying.
            for _ in range(self.rng.choices((0, 1, 2), weights=(70, 20, 10))[0]):
                seat = self.rng.choice(self.seats)
                run_at = self.at(self.today - timedelta(days=self.rng.randint(1, 300)))
                self.fit_check(c, facts_by_id[seat.id], candidate_facts, run_at, thresholds, medians, engine)

    def fit_check(self, c, seat_fact, candidate_facts, run_at, thresholds, medians, engine) -> tuple[int, str]:
        result = engine.check(candidate_facts, seat_fact, thresholds, medians)
        by = c.user_id if self.rng.random() < 0.6 else self.some_staff()
        row = self.w.add(
            SeatFitCheck,
            {
                "profile_id": c.profile_id,
                "seat_id": seat_fact.seat_id,
                "run_by_id": by,
                "run_at": run_at,
                "stance": candidate_facts.stance,
                "home_region": c.region,
                "home_borough": c.borough,
                "party": thresholds.party,
                "ties_count": len(candidate_facts.ties),
                "thresholds": thresholds.describe(),
                "band": result.band,
                "score": result.score,
                "warnings": "\n".join(result.warnings),
            },
        )
        for position, factor in enumerate(result.factors):
            self.w.add(
                SeatFitFactor,
                {
                    "check_id": row["id"],
                    "position": position,
                    "name": factor.name,
                    "score": factor.score,
                    "reason": factor.reason,
                    "figures": "\n".join(f"{label}: {value}" for label, value in factor.figures),
                    "warning": factor.warning,
                },
            )
        self.audit(by, "seatfit.checked", "candidate_profile", c.profile_id, run_at, f"{seat_fact.name}: {result.band}")
        return row["id"], result.band

    def application(self, c, seat_fact, candidate_facts, status, thresholds, medians, engine) -> None:
        # The path the application took to its status.
        if status in PATH:
            path = list(PATH[: PATH.index(status) + 1])
        elif status == "selected":
            path = [*PATH, "selected"]
        elif status == "not_selected":
            path = [*PATH[: self.rng.randint(3, len(PATH))], "not_selected"]
        else:  # withdrawn
            path = [*PATH[: self.rng.randint(1, 4)], "withdrawn"]
        start = self.today - timedelta(days=self.rng.randint(30, 330))
        days = [start]
        for _ in path[1:]:
            days.append(min(days[-1] + timedelta(days=self.rng.randint(3, 30)), self.today - timedelta(days=1)))
        check_id, band = None, None
        if "fit_checked" in path:
            checked_on = days[path.index("fit_checked")]
            run_at = self.at(checked_on - timedelta(days=self.rng.randint(0, 10)))
            check_id, band = self.fit_check(c, seat_fact, candidate_facts, run_at, thresholds, medians, engine)
        submitted = days[path.index("submitted")] if "submitted" in path else None
        override = submitted is not None and band == "poor"
        by_candidate = self.rng.random() < 0.7
        creator = c.user_id if by_candidate else self.some_staff()
        updated = self.at(days[-1])
        staff = self.some_staff()
        row = self.w.add(
            Application,
            {
                "profile_id": c.profile_id,
                "seat_id": seat_fact.seat_id,
                "status": status,
                "notes": "",
                "fit_check_id": check_id,
                "submitted_on": submitted,
                "decided_on": days[-1] if status in ("selected", "not_selected") else None,
                "override_reason": "Strong local campaign record outweighs the referendum profile here."
                if override
                else None,
                "override_by_id": staff if override else None,
                "override_at": self.at(submitted) if override else None,
                "created_by_id": creator,
                "created_at": self.at(days[0]),
                "updated_at": updated,
                "version": len(path),
            },
        )
        previous = None
        for step, on in zip(path, days, strict=True):
            self.w.add(
                ApplicationEvent,
                {
                    "application_id": row["id"],
                    "from_status": previous,
                    "to_status": step,
                    "on": on,
                    "note": "",
                    "by_id": creator if step in ("considering", "fit_checked", "withdrawn") else staff,
                    "at": self.at(on),
                },
            )
            previous = step


def generate(
    seed: int = 1, scale: float = 1.0, today: date | None = None, log: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Fill an empty database (seats imported) with a programme. Returns rows written per table.

    The caller commits. Refuses (GenerateError) a database that already has people or cohorts."""
    if existing_people():
        raise GenerateError("The database already has accounts, candidates or cohorts: use a fresh database.")
    today = today or datetime.now(UTC).date()
    generator = Generator(seed, scale, today, log or (lambda _msg: None))
    return generator.run()


# ---------------------------------------------------------------------------------------------
# What the benchmark looks at


def bench_subjects() -> dict:
    """Ids of realistic objects for the benchmark's pages, chosen from a generated programme.

    The mentor is the busiest one; the candidate is the mentee of theirs with the most
    applications; everything else (cohort, session, milestone, assignment, seat, check,
    application) belongs to that candidate, so each role may see it."""
    from d2w.applications.models import Application

    admin = db.session.scalar(select(User).where(User.email == ADMIN_EMAIL))
    staff = db.session.scalar(select(User).where(User.email == STAFF_EMAIL))
    if admin is None or staff is None:
        raise GenerateError("This database has no generated programme: run `flask d2w bench generate`.")
    mentor_profile = db.session.scalar(
        select(MentorProfile).order_by(MentorProfile.active_mentees.desc(), MentorProfile.id).limit(1)
    )
    apps = select(Application.profile_id, func.count().label("n")).group_by(Application.profile_id).subquery()
    assignment = db.session.scalar(
        select(MentorAssignment)
        .outerjoin(apps, apps.c.profile_id == MentorAssignment.profile_id)
        .where(MentorAssignment.mentor_id == mentor_profile.id, MentorAssignment.status == "active")
        .order_by(func.coalesce(apps.c.n, 0).desc(), MentorAssignment.id)
        .limit(1)
    )
    profile = assignment.profile
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.profile_id == profile.id).limit(1))
    # The largest open cohort for the staff's cohort pages; the candidate's own for theirs.
    open_cohort = db.session.scalar(
        select(Cohort).where(Cohort.status == "open").order_by(Cohort.places_taken.desc(), Cohort.id).limit(1)
    ) or db.session.get(Cohort, enrolment.cohort_id)
    session_id = db.session.scalar(
        select(ProgrammeSession.id)
        .where(ProgrammeSession.cohort_id == open_cohort.id, ProgrammeSession.register_version > 0)
        .order_by(ProgrammeSession.starts_at.desc())
        .limit(1)
    )
    own_session_id = db.session.scalar(
        select(ProgrammeSession.id)
        .where(ProgrammeSession.cohort_id == enrolment.cohort_id)
        .order_by(ProgrammeSession.starts_at.desc())
        .limit(1)
    )
    milestone_id = db.session.scalar(
        select(Milestone.id).where(Milestone.profile_id == profile.id).order_by(Milestone.id.desc()).limit(1)
    )
    application = db.session.scalar(
        select(Application)
        .where(Application.profile_id == profile.id)
        .order_by(Application.fit_check_id.is_(None), Application.id)
        .limit(1)
    )
    check_id = db.session.scalar(
        select(SeatFitCheck.id).where(SeatFitCheck.profile_id == profile.id).order_by(SeatFitCheck.id).limit(1)
    )
    seat = application.seat if application is not None else db.session.scalar(select(Seat).limit(1))
    common = {
        "profile_id": profile.id,
        "milestone_id": milestone_id,
        "assignment_id": assignment.id,
        "seat_id": seat.id,
        "ons_code": seat.ons_code,
        "code": seat.ons_code,
        "boundary_set": "2024",
        "check_id": check_id,
        "application_id": application.id if application is not None else None,
        "type_id": db.session.scalar(select(MilestoneType.id).order_by(MilestoneType.id).limit(1)),
    }
    return {
        "users": {
            "admin": admin.id,
            "staff": staff.id,
            "mentor": mentor_profile.user_id,
            "candidate": profile.user_id,
        },
        "emails": {
            "admin": admin.email,
            "staff": staff.email,
            "mentor": mentor_profile.user.email,
            "candidate": profile.user.email,
        },
        "args": {
            "staff": {**common, "cohort_id": open_cohort.id, "session_id": session_id, "user_id": profile.user_id},
            "admin": {**common, "cohort_id": open_cohort.id, "session_id": session_id, "user_id": profile.user_id},
            "mentor": {**common, "cohort_id": enrolment.cohort_id, "session_id": own_session_id},
            "candidate": {**common, "cohort_id": enrolment.cohort_id, "session_id": own_session_id},
        },
        "report_cohort": db.session.scalar(
            select(Cohort.id).order_by(func.abs(Cohort.places_taken - PILOT_SIZE), Cohort.id).limit(1)
        ),
        "candidate_profile": profile.id,
    }


def current_app_is_production() -> bool:
    return current_app.config.get("ENV_NAME") == "production"
