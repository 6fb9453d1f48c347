"""The small demo programme that the quick start loads. It grows with every feature.

Loading is idempotent: it does nothing if the demo accounts are already there. All people,
answers and places are fictional.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import select

from d2w.auth.models import User
from d2w.candidates import services as candidates
from d2w.cohorts import services as cohorts
from d2w.core.db import utcnow
from d2w.core.extensions import db
from d2w.users import services

# Demo accounts only: the demo command refuses to run in production.
DEMO_PASSWORD = "demo passphrase for d2w"  # noqa: S105

DEMO_USERS = [
    ("admin@example.org", "Ama Owusu", "staff", True),
    ("staff@example.org", "Daniel Okafor", "staff", False),
    ("mentor.priya@example.org", "Priya Raman", "mentor", False),
    ("mentor.kwame@example.org", "Kwame Mensah", "mentor", False),
    ("candidate.aisha@example.org", "Aisha Rahman", "candidate", False),
    ("candidate.tomasz@example.org", "Tomasz Nowak", "candidate", False),
    ("candidate.jade@example.org", "Jade Campbell", "candidate", False),
    ("candidate.hamza@example.org", "Hamza Siddiqui", "candidate", False),
]

PROFILES = {
    "candidate.aisha@example.org": {
        "phone": "07700 900401",
        "home_region": "London",
        "home_borough": "Tower Hamlets",
        "languages": "English, Bengali, Sylheti",
        "community_links": "Runs a free English class at a Brick Lane community centre; trustee of a youth football club.",
        "friends_of_groups": "Friends of Mile End Park",
    },
    "candidate.tomasz@example.org": {
        "home_region": "London",
        "home_borough": "Ealing",
        "languages": "English, Polish",
        "community_links": "Polish Saturday school parents' committee.",
    },
    "candidate.jade@example.org": {
        "home_region": "London",
        "home_borough": "Lambeth",
        "languages": "English",
        "community_links": "Brixton jobs club volunteer.",
        "is_councillor": True,
    },
    "candidate.hamza@example.org": {
        "home_region": "North West",
        "home_borough": "Oldham",
        "languages": "English, Urdu, Punjabi",
        "is_association_officer": True,
    },
}

# Aisha has answered the self-declared questions (with consent); the others have not.
SELF_DECLARED = {
    "candidate.aisha@example.org": {
        "ethnic_group": "asian_bangladeshi",
        "date_of_birth": "1996-04-12",
        "eu_ref_vote": "remain",
    },
    "candidate.hamza@example.org": {"eu_ref_vote": "prefer_not_to_say"},
}

SESSION_PLAN = [
    ("Finding your voice: public speaking", "communication"),
    ("Canvassing that listens", "canvassing"),
    ("Media interviews and TV", "media_tv"),
    ("Knowing your community: local research", "local_research"),
    ("Rapid rebuttal on social media", "rapid_rebuttal"),
    ("Mock selection panel", "mock_selection_panel"),
]


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def load_demo(today: date | None = None) -> tuple[bool, list[User]]:
    """Create the demo programme if it is missing. Returns (created anything, the accounts)."""
    existing = db.session.scalar(select(User).where(User.email == DEMO_USERS[0][0]))
    if existing is not None:
        users = [db.session.scalar(select(User).where(User.email == email)) for email, *_ in DEMO_USERS]
        return False, [u for u in users if u is not None]
    users = {}
    for email, name, role, is_admin in DEMO_USERS:
        users[email] = services.create_user(
            None, email=email, name=name, role=role, is_admin=is_admin, password=DEMO_PASSWORD
        )
    admin, staff = users["admin@example.org"], users["staff@example.org"]

    for email, fields in PROFILES.items():
        profile = candidates.profile_of(users[email])
        candidates.update_profile(users[email], profile, candidates.ProfileChanges(**fields), version=profile.version)
    for email, answers in SELF_DECLARED.items():
        profile = candidates.profile_of(users[email])
        for field, value in answers.items():
            candidates.record_sensitive(users[email], profile, field, value, consent=True)

    today = today or utcnow().date()
    start = _monday(today) - timedelta(weeks=3)
    london = cohorts.create_cohort(
        admin,
        cohorts.CohortFields(
            name=f"London BME {start.year}–{str(start.year + 1)[-2:]}",
            focus="bme",
            intake_start=start,
            intake_end=start + timedelta(weeks=40),
            capacity=12,
            region="London",
        ),
    )
    north_west = cohorts.create_cohort(
        admin,
        cohorts.CohortFields(
            name=f"North West Young Candidates {start.year}",
            focus="young",
            intake_start=start + timedelta(weeks=2),
            intake_end=start + timedelta(weeks=30),
            capacity=10,
            region="North West",
        ),
    )
    for email in ("candidate.aisha@example.org", "candidate.tomasz@example.org", "candidate.jade@example.org"):
        cohorts.enrol(staff, london, candidates.profile_of(users[email]))
    cohorts.enrol(staff, north_west, candidates.profile_of(users["candidate.hamza@example.org"]))

    _load_sessions(staff, london, north_west, start, users)
    return True, list(users.values())


def _load_sessions(staff: User, london, north_west, start: date, users: dict[str, User]) -> None:
    """A six-week series for London (three weeks past, with registers) and one NW session."""
    from d2w.programme import services as programme

    first = start + timedelta(days=1)  # Tuesdays, 18:30 to 20:30 London time
    sessions = []
    for week, (title, skill) in enumerate(SESSION_PLAN):
        fields = programme.SessionFields(
            title=title,
            skill_area=skill,
            day=first + timedelta(weeks=week),
            starts=time(18, 30),
            ends=time(20, 30),
            place="Committee Room 2, 4 Matthew Parker Street, London",
            facilitator="Ama Owusu" if week % 2 else "Daniel Okafor",
        )
        sessions.extend(programme.schedule_sessions(staff, london, fields, weeks=1))
    programme.schedule_sessions(
        staff,
        north_west,
        programme.SessionFields(
            title="Welcome evening and selection explained",
            skill_area="conviction",
            day=start + timedelta(weeks=3, days=3),
            starts=time(18, 0),
            ends=time(20, 0),
            online_url="https://meet.example.org/d2w-north-west",
            facilitator="Daniel Okafor",
        ),
        weeks=1,
    )
    profile_ids = {email: candidates.profile_of(users[email]).id for email in users if email.startswith("candidate.")}
    # Jade missed the last two sessions: she shows as at risk.
    marks = [
        {
            "candidate.aisha@example.org": "present",
            "candidate.tomasz@example.org": "present",
            "candidate.jade@example.org": "present",
        },
        {
            "candidate.aisha@example.org": "present",
            "candidate.tomasz@example.org": "late",
            "candidate.jade@example.org": "absent",
        },
        {
            "candidate.aisha@example.org": "excused",
            "candidate.tomasz@example.org": "present",
            "candidate.jade@example.org": "absent",
        },
    ]
    now = utcnow()
    for s, register in zip(sessions, marks, strict=False):
        if s.ends_at > now:
            break
        programme.save_register(
            staff,
            s,
            {profile_ids[e]: status for e, status in register.items()},
            seen_version=s.register_version,
            now=now,
        )
