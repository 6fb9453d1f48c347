"""Read models for the home pages and the readiness check."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import case, func, select, text

from d2w.auth.models import AuthToken, User
from d2w.core.db import read, utcnow
from d2w.core.extensions import db


@dataclass
class PeopleSummary:
    staff: int
    mentors: int
    candidates: int
    invited: int
    deactivated: int


def people_summary() -> PeopleSummary:
    """Counts of people by role and status, in one query."""
    active_with_password = User.active.is_(True) & User.password_hash.is_not(None)
    row = read(
        select(
            func.count(case((active_with_password & (User.role == "staff"), 1))),
            func.count(case((active_with_password & (User.role == "mentor"), 1))),
            func.count(case((active_with_password & (User.role == "candidate"), 1))),
            func.count(case((User.active.is_(True) & User.password_hash.is_(None), 1))),
            func.count(case((User.active.is_(False), 1))),
        )
    ).one()
    return PeopleSummary(*row)


def expired_invitations() -> int:
    """Invited people whose newest link has expired unused (someone should resend it)."""
    return (
        db.session.scalar(
            select(func.count(func.distinct(AuthToken.user_id)))
            .join(User, User.id == AuthToken.user_id)
            .where(
                AuthToken.purpose == "invite",
                AuthToken.used_at.is_(None),
                AuthToken.revoked_at.is_(None),
                AuthToken.expires_at <= utcnow(),
                User.password_hash.is_(None),
                User.active.is_(True),
            )
        )
        or 0
    )


def migration_heads(migrations_dir: str) -> set[str]:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", migrations_dir)
    return set(ScriptDirectory.from_config(cfg).get_heads())


def readiness(migrations_dir: str) -> tuple[bool, dict]:
    """Is the database reachable and migrated to the latest revision?"""
    checks = {}
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report any failure as not ready
        checks["database"] = f"unreachable ({type(exc).__name__})"
        return False, checks
    heads = migration_heads(migrations_dir)
    checks["migrations"] = "ok" if current == heads else "behind: run flask db upgrade"
    return current == heads, checks


def migrations_dir_exists(path: str) -> bool:
    return Path(path).is_dir()
