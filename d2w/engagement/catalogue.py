"""The milestone types every deployment starts with. The migration that creates the catalogue
inserts its own frozen copy of this list; ``ensure_seeded`` puts back any that are missing (for a
database emptied by hand, and for tests that truncate tables)."""

from __future__ import annotations

from sqlalchemy import select

from d2w.core.extensions import db
from d2w.engagement.models import MilestoneType

SEED_TYPES = (
    (
        "Visiting a community hub or religious centre",
        "Time spent at a community centre, mosque, temple, gurdwara, church or similar, meeting the people it serves.",
        "community",
        False,
    ),
    (
        "Running a free English class",
        "Teaching English to speakers of other languages, free of charge.",
        "classes",
        True,
    ),
    (
        "Running a jobs club or jobs fair",
        "Helping local people into work: CVs, interviews, meeting employers.",
        "classes",
        True,
    ),
    (
        "Starting a youth club or an inter-generational mentoring project",
        "A regular club for young people, or a project pairing younger and older residents.",
        "classes",
        True,
    ),
    (
        "Running basic IT classes",
        "Helping people get online: e-mail, forms, video calls, staying safe.",
        "classes",
        True,
    ),
    (
        "A stall at a freshers' fair",
        "Meeting new students at a college or university freshers' fair.",
        "campaigning",
        False,
    ),
    ("A voter-registration drive", "Helping people who are not registered to vote to register.", "campaigning", True),
    (
        "Helping a community group with a local issue (planning, local services)",
        "Working with a group on a planning application, a local service or another local problem.",
        "community",
        True,
    ),
    (
        "Recruiting community volunteers for campaigning",
        "Bringing people from the community into campaigning. Record how many volunteers you recruited.",
        "campaigning",
        True,
    ),
    (
        'Working with a "Friends Of" group',
        "Helping a Friends Of group look after a park, library or other local place.",
        "community",
        False,
    ),
    (
        "Local media or TV appearance",
        "An interview, article, letter or appearance in local papers, radio or TV.",
        "media",
        True,
    ),
    ("Social media campaign", "A campaign on social media about a local issue or cause.", "media", True),
    (
        "Becoming a councillor or association officer",
        "Election as a councillor, or appointment as an officer of a local association.",
        "civic",
        True,
    ),
)


def ensure_seeded() -> int:
    """Add any seed type that is missing (by name). Returns how many were added; flushes."""
    have = set(db.session.scalars(select(MilestoneType.name)))
    added = 0
    for name, description, category, evidence in SEED_TYPES:
        if name not in have:
            db.session.add(
                MilestoneType(
                    name=name, description=description, category=category, evidence_required=evidence, active=True
                )
            )
            added += 1
    db.session.flush()
    return added
