"""The small demo programme that the quick start loads. It grows with every feature."""

from __future__ import annotations

from sqlalchemy import select

from d2w.auth.models import User
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


def load_demo() -> tuple[bool, list[User]]:
    """Create the demo accounts if they are missing. Returns (created anything, the accounts)."""
    created = False
    users = []
    for email, name, role, is_admin in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = services.create_user(
                None, email=email, name=name, role=role, is_admin=is_admin, password=DEMO_PASSWORD
            )
            created = True
        users.append(user)
    return created, users
