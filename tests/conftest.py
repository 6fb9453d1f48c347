"""Shared fixtures. The suite runs on SQLite by default and on PostgreSQL when
``D2W_TEST_DATABASE_URL`` is set (``make test`` runs both when it is).

The schema is always built by the migrations, never by ``create_all``, so the suite also proves
that the migrations produce what the models expect.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from d2w import create_app
from d2w.auth.models import User
from d2w.core import generations
from d2w.core.extensions import db

TEST_DATABASE_URL = os.environ.get("D2W_TEST_DATABASE_URL", "").strip()
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")
PASSWORD = "correct horse battery staple 42"

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def pytest_report_header(config):
    return f"d2w test database: {'PostgreSQL ' + TEST_DATABASE_URL if ON_POSTGRES else 'SQLite (per-test file)'}"


def _reset_postgres_schema(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory):
    """A database migrated to head once per run: a template file (SQLite) or the test server."""
    if ON_POSTGRES:
        _reset_postgres_schema(TEST_DATABASE_URL)
        engine = sa.create_engine(TEST_DATABASE_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SEED_SCHEMA} CASCADE"))
        engine.dispose()
        url = TEST_DATABASE_URL
        template = None
    else:
        template = tmp_path_factory.mktemp("template") / "template.sqlite3"
        url = f"sqlite:///{template}"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    engine = sa.create_engine(url) if ON_POSTGRES else None
    yield {"template": template, "engine": engine}
    if engine is not None:
        engine.dispose()


# The seat tables: reference data that tests using the ``seat_data`` fixture share, loaded once
# (SQLite: a second template file; PostgreSQL: kept between such tests, reloaded after others).
SEAT_TABLES = ("seats", "seat_results", "seat_party_shares", "data_sources", "seat_figure_sources")
_pg_state = {"seats_loaded": False}


def _clean_postgres(engine, *, keep_seats: bool = False) -> None:
    """Empty the tables a test wrote to and restart every id sequence. TRUNCATE of all 37 tables
    took 250-400 ms a test; deleting the few rows of the few tables a test used takes a few ms.
    Triggers (the audit log refuses deletes) and foreign-key checks are off while it runs."""
    tables = [
        t.name
        for t in reversed(db.metadata.sorted_tables)
        if not (keep_seats and t.name in SEAT_TABLES) and t.name != "data_generations"
    ]
    probe = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM {t})" for t in tables)  # noqa: S608
    with engine.begin() as conn:
        used = set(conn.execute(sa.text(probe)).scalars())
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for table in tables:
            if table in used:
                conn.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608
        # The data changed behind d2w's back: every topic gets a new token, as the migration gave.
        conn.execute(sa.text("DELETE FROM data_generations"))
        conn.execute(
            sa.text("INSERT INTO data_generations (topic, token) VALUES (:topic, md5(random()::text))"),
            [{"topic": row} for row in generations.all_rows()],
        )
        sequences = conn.execute(
            sa.text(
                "SELECT s.relname FROM pg_class s JOIN pg_depend d ON d.objid = s.oid "
                "JOIN pg_class t ON t.oid = d.refobjid "
                "WHERE s.relkind = 'S' AND s.relnamespace = 'public'::regnamespace AND t.relname = ANY(:tables)"
            ),
            {"tables": tables},
        ).scalars()
        restarts = ", ".join(f"setval('public.{name}', 1, false)" for name in sequences)
        if restarts:
            conn.execute(sa.text(f"SELECT {restarts}"))


SEED_SCHEMA = "d2w_test_seed"


def _load_seats_postgres(engine) -> None:
    """The real seats into the test database: imported the first time (and copied aside into
    SEED_SCHEMA), copied back afterwards (a fraction of a second instead of an import)."""
    if not _pg_state.get("seed_copied"):
        _import_real_seats(TEST_DATABASE_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {SEED_SCHEMA}"))
            for table in SEAT_TABLES:
                conn.execute(sa.text(f"CREATE TABLE {SEED_SCHEMA}.{table} AS TABLE public.{table}"))
        _pg_state["seed_copied"] = True
        return
    with engine.begin() as conn:
        for table in SEAT_TABLES:  # in the order of their foreign keys
            conn.execute(sa.text(f"INSERT INTO public.{table} SELECT * FROM {SEED_SCHEMA}.{table}"))  # noqa: S608
            conn.execute(
                sa.text(f"SELECT setval(pg_get_serial_sequence('public.{table}', 'id'), max(id)) FROM public.{table}")  # noqa: S608
            )


def _import_real_seats(url: str) -> None:
    from d2w.seats import loader, services

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        files = loader.load_directory(app.config["SEAT_DATA_DIR"])
        services.import_seats(files)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def seat_template(migrated_database, tmp_path_factory):
    """SQLite only: the migrated template with the real seat data imported, made once per run."""
    if ON_POSTGRES:
        return None
    path = tmp_path_factory.mktemp("seat-template") / "seats.sqlite3"
    shutil.copyfile(migrated_database["template"], path)
    _import_real_seats(f"sqlite:///{path}")
    return path


@pytest.fixture
def seat_data():
    """Ask for this fixture (before ``app``) to get the real seat data (both boundary sets)
    already imported. Tests using it must not change the seat tables."""
    return True


@pytest.fixture
def database_url(migrated_database, tmp_path, request) -> str:
    wants_seats = "seat_data" in request.fixturenames
    if ON_POSTGRES:
        engine = migrated_database["engine"]
        if wants_seats and _pg_state["seats_loaded"]:
            _clean_postgres(engine, keep_seats=True)
        else:
            _clean_postgres(engine)
            _pg_state["seats_loaded"] = False
            if wants_seats:
                _load_seats_postgres(engine)
                _pg_state["seats_loaded"] = True
        return TEST_DATABASE_URL
    path = tmp_path / "d2w.sqlite3"
    template = request.getfixturevalue("seat_template") if wants_seats else migrated_database["template"]
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app_overrides() -> dict:
    """Override in a test module to change settings for its app."""
    return {}


@pytest.fixture
def app(database_url, tmp_path, app_overrides):
    settings = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        "REPORTS_DIR": str(tmp_path / "reports"),
        "RATELIMIT_STORAGE_URI": "memory://",
        **app_overrides,
    }
    app = create_app("testing", settings)
    generations.clear()  # each test's figures are its own (PostgreSQL tests share one URL)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def outbox(app):
    from d2w.core.mail import read_outbox

    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    return lambda: read_outbox(folder) if folder.exists() else []


# ---------------------------------------------------------------------------------------------
# People


class Factory:
    def __init__(self, app):
        self.app = app
        self.n = 0

    def user(self, role="candidate", *, email=None, name=None, is_admin=False, password=PASSWORD, active=True):
        from d2w.users import services

        self.n += 1
        email = email or f"{role}{self.n}@example.org"
        name = name or f"{role.title()} Person{self.n}"
        with self.app.app_context():
            user = services.create_user(None, email=email, name=name, role=role, is_admin=is_admin, password=password)
            user.active = active
            db.session.commit()
            user_id = user.id
        return UserRef(user_id, email, name, role, is_admin)

    def cohort(self, name=None, *, capacity=30, focus="both", region="London", start=None, end=None, admin=None):
        """A cohort created by a throwaway staff admin. Returns its id."""
        from datetime import date

        from d2w.cohorts import services as cohorts

        self.n += 1
        actor = admin or self.user("staff", is_admin=True)
        with self.app.app_context():
            staff = db.session.get(User, actor.id)
            cohort = cohorts.create_cohort(
                staff,
                cohorts.CohortFields(
                    name=name or f"Cohort {self.n}",
                    focus=focus,
                    intake_start=start or date(2026, 9, 1),
                    intake_end=end or date(2027, 7, 31),
                    capacity=capacity,
                    region=region,
                ),
            )
            db.session.commit()
            return cohort.id

    def enrol(self, cohort_id, candidate, *, status="active"):
        """Enrol a candidate (a UserRef) in a cohort. Returns the profile id."""
        from d2w.candidates.services import profile_of
        from d2w.cohorts import services as cohorts
        from d2w.cohorts.models import Cohort

        staff = self.user("staff")
        with self.app.app_context():
            actor = db.session.get(User, staff.id)
            profile = profile_of(db.session.get(User, candidate.id))
            cohorts.enrol(actor, db.session.get(Cohort, cohort_id), profile, status=status)
            db.session.commit()
            return profile.id

    def profile_id(self, candidate):
        from d2w.candidates.services import profile_of

        with self.app.app_context():
            return profile_of(db.session.get(User, candidate.id)).id


class UserRef:
    """A plain record of a test user (no session attached)."""

    def __init__(self, id, email, name, role, is_admin):
        self.id, self.email, self.name, self.role, self.is_admin = id, email, name, role, is_admin

    def __repr__(self):
        return f"<UserRef {self.id} {self.role}{' admin' if self.is_admin else ''}>"


@pytest.fixture
def make(app):
    return Factory(app)


@pytest.fixture
def people(make):
    """One account per kind: admin, staff, mentor, candidate (and a second of each non-staff)."""
    return {
        "admin": make.user("staff", is_admin=True, email="admin@example.org", name="Ada Admin"),
        "staff": make.user("staff", email="staff@example.org", name="Sam Staff"),
        "mentor": make.user("mentor", email="mentor@example.org", name="Meera Mentor"),
        "mentor2": make.user("mentor", email="mentor2@example.org", name="Marcus Mentor"),
        "candidate": make.user("candidate", email="candidate@example.org", name="Chidi Candidate"),
        "candidate2": make.user("candidate", email="candidate2@example.org", name="Cara Candidate"),
    }


# ---------------------------------------------------------------------------------------------
# Requests


def csrf_token(client, path="/auth/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = _CSRF.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def login(client, email, password=PASSWORD, **extra):
    token = csrf_token(client)
    return client.post("/auth/login", data={"email": email, "password": password, "csrf_token": token, **extra})


def post(client, path, data=None, *, token_from="/account/"):
    """POST with a valid CSRF token taken from a page the client can open."""
    token = csrf_token(client, token_from)
    return client.post(path, data={**(data or {}), "csrf_token": token})


@pytest.fixture
def login_as(client):
    def _login(user, password=PASSWORD):
        response = login(client, user.email, password)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return _login


# ---------------------------------------------------------------------------------------------
# Query counting


@contextmanager
def count_queries(app):
    """Count the SQL statements the app runs inside the block."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def run_at_once(*calls, timeout: float = 30) -> None:
    """Run the calls in threads at the same time (each test's own barrier lines them up) and wait
    for them all: for tests of two people acting at once."""
    threads = [threading.Thread(target=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)


# The sign-in's own statements (the user's session), which every page runs.
SIGN_IN_STATEMENTS = ("FROM user_sessions", "UPDATE user_sessions")


@pytest.fixture
def kept(app):
    """The seat caches on (SEATFIT_FACTS_CACHE_SECONDS; 0 elsewhere in the tests), emptied before
    and after."""
    from d2w.seatfit import services as seatfit
    from d2w.seats import cache

    app.config["SEATFIT_FACTS_CACHE_SECONDS"] = 300
    cache.clear()
    seatfit.clear_cache()
    yield cache
    app.config["SEATFIT_FACTS_CACHE_SECONDS"] = 0
    cache.clear()
    seatfit.clear_cache()


def page_queries(app, client, path: str) -> list[str]:
    """The statements a page runs for itself (the sign-in's left out), checking it answers 200."""
    with count_queries(app) as statements:
        response = client.get(path)
        assert response.status_code == 200, path
    return [s for s in statements if not any(a in s for a in SIGN_IN_STATEMENTS)]


# ---------------------------------------------------------------------------------------------
# A live server for browser tests


@pytest.fixture
def live_server(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
