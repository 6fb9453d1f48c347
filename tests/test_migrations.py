"""Migrations build the schema from nothing, match the models, and go down and up again."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from d2w.core.extensions import db
from d2w.main.services import migration_heads


def _diff(app):
    with app.app_context(), db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        return compare_metadata(ctx, db.metadata)


def test_migrated_schema_matches_the_models(app):
    assert _diff(app) == []


def test_downgrade_to_empty_and_upgrade_again(app):
    with app.app_context():
        downgrade(revision="base")
        names = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert names == set()
        upgrade()
        assert set(db.metadata.tables) <= set(sa.inspect(db.engine).get_table_names())
    assert _diff(app) == []


def test_one_head_and_date_prefixed_files():
    versions = Path("migrations/versions")
    files = [p.name for p in versions.glob("*.py")]
    assert files
    assert all(re.match(r"^\d{8}_[0-9a-f]+_\w+\.py$", f) for f in files), files
    assert len(migration_heads("migrations")) == 1


def test_constraint_names_follow_the_convention(app):
    with app.app_context():
        inspector = sa.inspect(db.engine)
        uniques = {u["name"] for u in inspector.get_unique_constraints("users")}
        assert "uq_users_email" in uniques
        fks = {f["name"] for f in inspector.get_foreign_keys("user_sessions")}
        assert "fk_user_sessions_user_id_users" in fks


def test_the_expression_index_on_names_is_there(app):
    """SQLAlchemy cannot reflect lower(name) indexes on SQLite, so the schema comparison above
    skips it there; ask each database directly (a table rebuilt by a later batch migration on
    SQLite would lose it silently)."""
    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            sql = conn.scalar(
                sa.text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'ix_users_lower_name'")
            )
        else:
            sql = conn.scalar(sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_users_lower_name'"))
    assert sql is not None
    assert re.search(r"lower\(\(?name\)?(::text)?\)", sql.lower()), sql
