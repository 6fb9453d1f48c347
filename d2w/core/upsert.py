"""INSERT ... ON CONFLICT for the database in use (PostgreSQL or SQLite)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from d2w.core.extensions import db


def insert(table):
    """A dialect insert that has ``on_conflict_do_nothing`` and ``on_conflict_do_update``."""
    module = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return module.insert(table)
