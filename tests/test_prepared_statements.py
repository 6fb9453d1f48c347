"""PostgreSQL keeps its prepared statements across requests that only read (d2w.core.db
``keep_prepared_statements``): such a transaction ends with a COMMIT, since psycopg forgets every
prepared statement on a rollback. Anything that wrote, or failed, is still rolled back."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from d2w.auth.models import User
from d2w.core.db import postgres_connect_args, reads_only
from d2w.core.extensions import db
from tests.conftest import ON_POSTGRES

on_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="psycopg's prepared statements are PostgreSQL's")


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT users.id FROM users WHERE users.email = %(email)s",
        "  select 1",
        "WITH RECURSIVE seen(value) AS (SELECT min(action) FROM audit_events) SELECT value FROM seen",
        "SELECT users.updated_at, users.deleted_flag FROM users",  # names that merely contain a keyword
    ],
)
def test_selects_are_reads(statement):
    assert reads_only(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO users (email) VALUES (%(email)s)",
        "UPDATE users SET name = %(name)s",
        "DELETE FROM users",
        "SELECT users.id FROM users WHERE users.id = 1 FOR UPDATE",
        "WITH gone AS (DELETE FROM users RETURNING id) SELECT count(*) FROM gone",
        "SELECT nextval('users_id_seq')",
        "SAVEPOINT sa_savepoint_1",
        "SET LOCAL statement_timeout = 100",
        "TRUNCATE users",
        "",
    ],
)
def test_anything_else_counts_as_a_write(statement):
    assert not reads_only(statement)


def _prepared_count(like: str) -> int:
    return db.session.scalar(
        sa.text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :like"), {"like": like}
    )


@on_postgres
def test_statements_stay_prepared_across_transactions_that_only_read(app, people):
    reading = sa.select(User.name).where(User.email == sa.bindparam("email"))
    with app.app_context():
        assert db.engine.pool.checkedin() <= 1  # one connection: what it prepared is seen below
        for _ in range(7):  # psycopg prepares a statement on its sixth run
            assert db.session.execute(reading, {"email": "staff@example.org"}).scalar() == "Sam Staff"
            db.session.remove()  # the end of a request: the transaction is over
        assert _prepared_count("SELECT users.name %") == 1


@on_postgres
def test_pages_read_with_prepared_statements(app, people, login_as):
    client = login_as(people["candidate"])
    for _ in range(7):
        assert client.get("/account/").status_code == 200
    with app.app_context():
        assert db.engine.pool.checkedin() == 1
        # the session's own lookup, run on every page
        assert _prepared_count("SELECT user_sessions.id, user_sessions.revoked_at%") == 1


def _app_with(url: str, tmp_path, **settings):
    """Another app on the test database, with these settings."""
    from d2w import create_app

    return create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
            "RATELIMIT_STORAGE_URI": "memory://",
            **settings,
        },
    )


@on_postgres
def test_prepared_statements_can_be_turned_off_for_a_pooler(database_url, tmp_path):
    app = _app_with(database_url, tmp_path, POSTGRES_PREPARED_STATEMENTS=False)
    reading = sa.select(User.id).where(User.email == sa.bindparam("email"))
    try:
        with app.app_context():
            for _ in range(7):
                db.session.execute(reading, {"email": "nobody@example.org"})
                db.session.remove()
            assert _prepared_count("SELECT users.id %") == 0
            raw = db.engine.raw_connection()
            try:
                assert raw.driver_connection.prepare_threshold is None
            finally:
                raw.close()
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_settings_leave_sqlite_and_the_shared_options_alone(app):
    from config import Config

    assert Config.SQLALCHEMY_ENGINE_OPTIONS == {"pool_pre_ping": True, "hide_parameters": True}
    connect_args = app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args")
    assert connect_args == ({"options": "-c random_page_cost=1.1"} if ON_POSTGRES else None)


def test_connect_args_of_the_postgresql_settings():
    assert postgres_connect_args(True, 1.1) == {"options": "-c random_page_cost=1.1"}
    assert postgres_connect_args(False, 0) == {"prepare_threshold": None}
    assert postgres_connect_args(True, 0) == {}
    # options the database URL gives are kept, before ours
    assert postgres_connect_args(True, 2, "-c work_mem=8MB") == {"options": "-c work_mem=8MB -c random_page_cost=2"}


def _random_page_cost() -> str:
    return db.session.execute(sa.text("SHOW random_page_cost")).scalar()


@on_postgres
def test_connections_plan_with_the_random_page_cost_setting(app, database_url, tmp_path):
    with app.app_context():
        assert _random_page_cost() == "1.1"
    for cost, url in ((0, database_url), (1.5, database_url + "?options=-c%20work_mem%3D8MB")):
        other = _app_with(url, tmp_path, POSTGRES_RANDOM_PAGE_COST=cost)
        try:
            with other.app_context():
                if cost:
                    assert _random_page_cost() == "1.5"
                    assert db.session.execute(sa.text("SHOW work_mem")).scalar() == "8MB"
                else:  # the server's own
                    assert (
                        _random_page_cost()
                        == db.session.execute(
                            sa.text("SELECT boot_val FROM pg_settings WHERE name = 'random_page_cost'")
                        ).scalar()
                    )
        finally:
            with other.app_context():
                db.session.remove()
                db.engine.dispose()


@on_postgres
def test_a_transaction_that_wrote_forgets_as_before(app, people):
    reading = sa.select(User.name).where(User.email == sa.bindparam("email"))
    with app.app_context():
        for _ in range(7):
            db.session.execute(reading, {"email": "staff@example.org"})
            db.session.remove()
        db.session.execute(sa.text("UPDATE users SET name = 'Changed' WHERE email = 'staff@example.org'"))
        db.session.remove()
        assert _prepared_count("SELECT users.name %") == 0


def _name_of(email: str) -> str:
    return db.session.scalar(sa.select(User.name).where(User.email == email))


def test_a_write_is_still_rolled_back(app, people):
    with app.app_context():
        db.session.scalar(sa.select(User.id).where(User.email == "staff@example.org"))  # a read first
        db.session.get(User, people["staff"].id).name = "Changed by the ORM"
        db.session.flush()
        db.session.rollback()
        assert _name_of("staff@example.org") == "Sam Staff"

        db.session.execute(sa.text("UPDATE users SET name = 'Changed by text' WHERE email = 'staff@example.org'"))
        db.session.remove()
        assert _name_of("staff@example.org") == "Sam Staff"


@on_postgres
def test_a_write_inside_a_select_is_still_rolled_back(app, people):
    with app.app_context():
        db.session.execute(
            sa.text(
                "WITH changed AS (UPDATE users SET name = 'Changed in a CTE' WHERE email = 'staff@example.org' "
                "RETURNING id) SELECT count(*) FROM changed"
            )
        )
        db.session.rollback()
        assert _name_of("staff@example.org") == "Sam Staff"


@on_postgres  # pysqlite's own transaction handling makes SQLite's savepoints unreliable
def test_a_savepoint_rolled_back_inside_a_read_leaves_nothing(app, people):
    with app.app_context():
        _name_of("staff@example.org")
        with db.session.begin_nested():
            db.session.get(User, people["staff"].id).name = "Changed in a savepoint"
        db.session.rollback()
        assert _name_of("staff@example.org") == "Sam Staff"


def test_a_failed_read_is_rolled_back_and_the_next_one_works(app, people):
    with app.app_context():
        with pytest.raises(sa.exc.DBAPIError):
            db.session.execute(sa.text("SELECT count(*) FROM no_such_table"))
        db.session.rollback()
        assert _name_of("staff@example.org") == "Sam Staff"
