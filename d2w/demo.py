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
    _load_mentoring(admin, users, today)
    _load_engagement(staff, users, london, today)
    _load_seat_fit(staff, users, today)
    return True, list(users.values())


MENTORS = {
    "mentor.priya@example.org": {
        "region": "London",
        "skills": ["media_tv", "communication", "mock_selection_panel", "social_media"],
        "languages": "English, Tamil, Hindi",
        "capacity": 3,
        "availability": "Weekday evenings; Saturday mornings. Not in August.",
    },
    "mentor.kwame@example.org": {
        "region": "North West",
        "skills": ["canvassing", "community_organising", "fundraising", "resilience"],
        "languages": "English, Twi",
        "capacity": 2,
        "availability": "Fridays after 4pm.",
    },
}


def _load_mentoring(admin: User, users: dict[str, User], today: date) -> None:
    """Priya mentors Aisha and Tomasz, Kwame mentors Hamza; a few logs, one action overdue."""
    from d2w.mentoring import services as mentoring

    for email, fields in MENTORS.items():
        mentoring.save_mentor_profile(admin, users[email], mentoring.MentorFields(**fields))
    priya, kwame = (mentoring.mentor_profile_of(users[e]) for e in MENTORS)
    pairs = {}
    for mentor, email in (
        (priya, "candidate.aisha@example.org"),
        (priya, "candidate.tomasz@example.org"),
        (kwame, "candidate.hamza@example.org"),
    ):
        pairs[email] = mentoring.assign(admin, candidates.profile_of(users[email]), mentor, is_primary=True)
        # Matched seven weeks ago: Tomasz has had no session since, so he shows as lapsed.
        pairs[email].started_at = utcnow() - timedelta(weeks=7)
    A = mentoring.ActionFields  # noqa: N806
    logs = [
        (
            "candidate.aisha@example.org",
            users["mentor.priya@example.org"],
            mentoring.LogFields(
                met_on=today - timedelta(days=20),
                duration_minutes=60,
                mode="in_person",
                summary="Went through Aisha's story for selection panels and how her English class work shows "
                "leadership. Agreed to practise a two-minute opening.",
                private_note="Aisha is anxious about media questions on her family's business; revisit gently.",
                actions=[
                    A("Write and rehearse a two-minute opening statement", "candidate", today - timedelta(days=3)),
                    A("Send contacts at two local newspapers", "mentor", today + timedelta(days=10)),
                ],
            ),
        ),
        (
            "candidate.aisha@example.org",
            users["mentor.priya@example.org"],
            mentoring.LogFields(
                met_on=today - timedelta(days=6),
                duration_minutes=30,
                mode="video",
                summary="Mock radio interview. Strong on local issues; shorten answers on national policy.",
                private_note="Much more confident than last time.",
                actions=[A("Record a 60-second answer on local housing", "candidate", today + timedelta(days=7))],
            ),
        ),
        (
            "candidate.hamza@example.org",
            users["mentor.kwame@example.org"],
            mentoring.LogFields(
                met_on=today - timedelta(days=12),
                duration_minutes=45,
                mode="phone",
                summary="Planned a voter-registration stall at the Oldham freshers' fair with the association.",
                actions=[A("Book the stall and recruit five volunteers", "candidate", today + timedelta(days=14))],
            ),
        ),
    ]
    for email, author, fields in logs:
        mentoring.add_log(author, pairs[email], fields, today=today)


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


def _load_engagement(staff: User, users: dict[str, User], london, today: date) -> None:
    """Targets for the London cohort and a few milestones: one verified, one returned, two waiting."""
    from d2w.engagement import catalogue
    from d2w.engagement import services as engagement
    from d2w.engagement.models import MilestoneType

    catalogue.ensure_seeded()  # the migration seeds them; a database emptied since may not have them
    types = {t.name: t.id for t in db.session.scalars(select(MilestoneType))}
    english = types["Running a free English class"]
    hub = types["Visiting a community hub or religious centre"]
    volunteers = types["Recruiting community volunteers for campaigning"]
    engagement.set_targets(staff, london, {english: 2, hub: 3, volunteers: 1})

    def log(email, type_id, days_ago, place, description, **extra):
        user = users[email]
        fields = engagement.MilestoneFields(
            type_id=type_id,
            occurred_on=today - timedelta(days=days_ago),
            place=place,
            description=description,
            **extra,
        )
        return engagement.log_milestone(user, candidates.profile_of(user), fields).milestone

    verified = log(
        "candidate.aisha@example.org",
        english,
        20,
        "Brick Lane Mosque, London E1",
        "A free English class for twelve women from the Bangladeshi community, every Saturday.",
        region="London",
        borough="Tower Hamlets",
        seat_code="E14000555",
        community="Bangladeshi community",
        people_reached=12,
        volunteers_recruited=2,
        evidence_url="https://www.example.org/news/english-class",
    )
    engagement.verify(staff, verified, version=verified.version, comment="Seen the register: well done.")
    returned = log(
        "candidate.aisha@example.org",
        volunteers,
        9,
        "Whitechapel, London E1",
        "Recruited local volunteers for the by-election campaign.",
        region="London",
        borough="Tower Hamlets",
        people_reached=40,
        volunteers_recruited=15,
        evidence_url="https://www.example.org/photos/volunteers",
    )
    engagement.return_milestone(
        staff, returned, version=returned.version, comment="Please add the names of the wards you canvassed."
    )
    log(
        "candidate.aisha@example.org",
        hub,
        4,
        "Shree Ram Mandir, Southall",
        "Met the temple committee and volunteers at the Sunday langar.",
        region="London",
        borough="Ealing",
        community="Hindu community",
        people_reached=60,
    )
    log(
        "candidate.tomasz@example.org",
        hub,
        6,
        "Polish Social and Cultural Association, Hammersmith",
        "Spoke at the association's community evening about local services.",
        region="London",
        borough="Hammersmith and Fulham",
        community="Polish community",
        people_reached=35,
    )


def _load_seat_fit(staff: User, users: dict[str, User], today: date) -> None:
    """Seat-fit checks and applications on the 2024 boundaries, when the seat data is loaded:
    Aisha well matched and longlisted; Tomasz checked against a strongly Remain seat as a Leave
    voter (a poor fit), with a staff override so that he may still apply; Hamza considering his
    home seat."""
    from d2w.applications import services as applications
    from d2w.seatfit import services as seatfit
    from d2w.seats.models import Seat

    def seat(name: str) -> Seat | None:
        return db.session.scalar(select(Seat).where(Seat.boundary_set == "2024", Seat.name == name))

    plan = {
        "aisha": seat("Bethnal Green and Stepney"),
        "aisha2": seat("Poplar and Limehouse"),
        "tomasz": seat("Ealing Central and Acton"),
        "hamza": seat("Oldham West, Chadderton and Royton"),
    }
    if any(s is None for s in plan.values()):
        return  # no seat data: the quick start loads it first when the files are there
    aisha = users["candidate.aisha@example.org"]
    tomasz = users["candidate.tomasz@example.org"]
    hamza = users["candidate.hamza@example.org"]
    aisha_profile = candidates.profile_of(aisha)
    tomasz_profile = candidates.profile_of(tomasz)
    hamza_profile = candidates.profile_of(hamza)

    seatfit.run_check(aisha, aisha_profile, plan["aisha"])
    seatfit.run_check(aisha, aisha_profile, plan["aisha2"])
    application = applications.create_application(
        aisha, aisha_profile, plan["aisha"], "Local party meeting on the 12th; ward officers supportive.", on=today
    )
    for status in ("fit_checked", "submitted", "longlisted"):
        application = applications.move(staff, application, status, on=today, version=application.version)

    seatfit.run_check(staff, tomasz_profile, plan["tomasz"], "leave")
    application = applications.create_application(tomasz, tomasz_profile, plan["tomasz"], on=today)
    application = applications.move(tomasz, application, "fit_checked", on=today, version=application.version)
    applications.override(
        staff,
        application,
        "Tomasz has led the Acton Polish community's cost-of-living campaign for three years and has "
        "strong backing from local members; the panel should hear him despite the referendum profile.",
        version=application.version,
    )

    seatfit.run_check(hamza, hamza_profile, plan["hamza"])
    applications.create_application(hamza, hamza_profile, plan["hamza"], "Thinking about it.", on=today)
