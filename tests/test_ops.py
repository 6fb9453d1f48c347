"""Health checks, CLI commands, logging and e-mail delivery."""

from __future__ import annotations

import io
import json
import logging

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from d2w.auth.models import User
from d2w.core.extensions import db
from tests.conftest import login


def test_healthz_does_not_touch_the_database(client, app, monkeypatch):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_ready_when_migrated(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "migrations": "ok"}


def test_readyz_is_unavailable_when_migrations_are_behind(app, client):
    import sqlalchemy as sa

    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'old'"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["migrations"].startswith("behind")
    with app.app_context(), db.engine.begin() as conn:
        from d2w.main.services import migration_heads

        (head,) = migration_heads("migrations")
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :h"), {"h": head})


def test_readyz_is_unavailable_when_the_database_is_down(tmp_path):
    from d2w import create_app

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/x.db"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"].startswith("unreachable")


def test_create_admin_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["d2w", "create-admin", "--email", "Boss@Example.org", "--name", "Bo Boss", "--password-stdin"],
        input="a strong admin passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin boss@example.org" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "boss@example.org"))
        assert user.role == "staff" and user.is_admin and user.password_hash.startswith("$argon2id$")
    assert login(app.test_client(), "boss@example.org", "a strong admin passphrase").status_code == 302


def test_create_admin_refuses_a_weak_password(app):
    result = app.test_cli_runner().invoke(
        args=["d2w", "create-admin", "--email", "b@example.org", "--name", "B", "--password-stdin"], input="short\n"
    )
    assert result.exit_code != 0
    assert "Use at least 12 characters" in result.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "b@example.org")) is None


def test_demo_command_loads_once_and_prints_logins(app):
    from d2w.demo import DEMO_PASSWORD, DEMO_USERS

    runner = app.test_cli_runner()
    first = runner.invoke(args=["d2w", "demo"])
    assert first.exit_code == 0, first.output
    assert "Demo programme loaded." in first.output
    assert DEMO_PASSWORD in first.output
    for email, *_ in DEMO_USERS:
        assert email in first.output
    second = runner.invoke(args=["d2w", "demo"])
    assert "already present" in second.output
    with app.app_context():
        roles = [u.role for u in db.session.scalars(select(User))]
        assert roles.count("staff") == 2 and roles.count("mentor") == 2 and roles.count("candidate") == 4
        admins = db.session.scalars(select(User).where(User.is_admin.is_(True))).all()
        assert len(admins) == 1
    assert login(app.test_client(), "admin@example.org", DEMO_PASSWORD).status_code == 302


def test_demo_programme_shows_every_feature(app):
    """Cohorts, profiles, self-declared answers with consent, sessions, registers, someone at risk."""
    from d2w.candidates.models import ConsentRecord, SensitiveAnswer
    from d2w.cohorts.models import Cohort, Enrolment
    from d2w.core.db import utcnow
    from d2w.programme import services as programme
    from d2w.programme.models import Attendance, ProgrammeSession

    assert app.test_cli_runner().invoke(args=["d2w", "demo"]).exit_code == 0
    with app.app_context():
        count = lambda model: db.session.scalar(select(sa.func.count()).select_from(model))  # noqa: E731
        assert count(Cohort) == 2
        assert count(Enrolment) == 4
        assert count(ProgrammeSession) == 7
        assert count(Attendance) == 9
        assert count(SensitiveAnswer) == count(ConsentRecord) == 4
        assert [p.user.name for p in programme.at_risk_candidates()] == ["Jade Campbell"]
        # Mentoring: Priya mentors Aisha and Tomasz, Kwame mentors Hamza; logs with private
        # notes and action items, one of them overdue.
        from d2w.mentoring.models import ActionItem, MentorAssignment, MentoringLog, MentorProfile, PrivateNote

        pairs = {(a.mentor.name, a.profile.name) for a in db.session.scalars(select(MentorAssignment))}
        assert pairs == {
            ("Priya Raman", "Aisha Rahman"),
            ("Priya Raman", "Tomasz Nowak"),
            ("Kwame Mensah", "Hamza Siddiqui"),
        }
        assert count(MentorProfile) == 2 and count(MentoringLog) == 3 and count(PrivateNote) == 2
        overdue = db.session.scalars(select(ActionItem).where(ActionItem.due_on < utcnow().date())).all()
        assert [i.description for i in overdue] == ["Write and rehearse a two-minute opening statement"]
    # Loading again changes nothing.
    assert app.test_cli_runner().invoke(args=["d2w", "demo"]).exit_code == 0
    with app.app_context():
        assert count(MentorAssignment) == 3


def test_purge_sessions_command(app, client, people):
    login(client, people["staff"].email)
    result = app.test_cli_runner().invoke(args=["d2w", "purge-sessions", "--days", "0"])
    assert result.exit_code == 0
    assert "Deleted 0 session(s)" in result.output  # the live one is kept
    with app.app_context():
        if db.engine.dialect.name == "sqlite":  # planner statistics, refreshed daily
            assert "Refreshed SQLite's planner statistics." in result.output
            with db.engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_stat1").scalar() > 0


def test_request_logs_carry_the_request_id_and_no_personal_data(app, client, people):
    from d2w.core.logging import JsonFormatter, RequestIdFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("d2w")
    logger.addHandler(handler)
    try:
        client.get("/auth/login")
        response = login(client, people["staff"].email)
        client.get("/auth/set-password/secret-token-in-path")
        client.get("/users/?q=Chidi")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    posts = [entry for entry in lines if entry.get("method") == "POST"]
    assert posts and posts[0]["request_id"] == response.headers["X-Request-ID"]
    assert posts[0]["route"] == "/auth/login"
    text = stream.getvalue()
    assert people["staff"].email not in text
    assert "secret-token-in-path" not in text
    assert "Chidi" not in text
    users_page = [entry for entry in lines if entry.get("route") == "/users/"]
    assert users_page and users_page[0]["user_id"] == str(people["staff"].id)  # who, by id only
    assert posts[0]["user_id"] is None  # the sign-in itself runs before there is a session


def test_outbox_mail(app):
    from d2w.core import mail

    with app.test_request_context():
        mail.send(
            "x@example.org", "Hello", "invitation.txt", user=type("U", (), {"name": "X"})(), link="L", invite_days=7
        )
    from pathlib import Path

    messages = mail.read_outbox(Path(app.config["MAIL_OUTBOX_DIR"]))
    assert messages[0]["Subject"] == "Hello"
    assert "Hello X" in messages[0].get_content()


def test_smtp_mail_uses_the_settings(app, monkeypatch):
    from d2w.core import mail

    sent = {}

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent["server"] = (host, port, timeout)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self, context):
            sent["tls"] = True

        def login(self, user, password):
            sent["login"] = (user, password)

        def send_message(self, msg):
            sent["to"] = msg["To"]

    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="smtp.example.org", MAIL_USERNAME="u", MAIL_PASSWORD="p")
    with app.test_request_context():
        mail.send("y@example.org", "Hi", "invitation.txt", user=type("U", (), {"name": "Y"})(), link="L", invite_days=7)
    assert sent == {"server": ("smtp.example.org", 587, 10), "tls": True, "login": ("u", "p"), "to": "y@example.org"}


def test_smtp_failure_is_a_mail_error_and_invite_still_saves(app, client, people, monkeypatch):
    from d2w.core import mail

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("no server")

    monkeypatch.setattr(mail.smtplib, "SMTP", refuse)
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="smtp.example.org")
    login(client, people["admin"].email)
    from tests.conftest import csrf_token

    token = csrf_token(client, "/users/invite")
    response = client.post(
        "/users/invite", data={"csrf_token": token, "name": "Ivy Invite", "email": "ivy@example.org", "role": "mentor"}
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "could not be sent" in page
    assert "Resend invitation" in page


@pytest.mark.parametrize("bad", ["nope", ""])
def test_unknown_mail_backend_is_an_error(app, bad):
    from d2w.core import mail

    app.config["MAIL_BACKEND"] = bad
    with app.test_request_context(), pytest.raises(mail.MailError):
        mail.send("x@example.org", "S", "invitation.txt", user=type("U", (), {"name": "X"})(), link="L", invite_days=7)


def test_demo_programme_with_seat_data_has_checks_and_applications(seat_data, app):
    """With the seats loaded (as the quick start does), the demo adds seat-fit checks and
    applications: one longlisted, one poor fit with a staff override, one being considered."""
    from d2w.applications.models import Application
    from d2w.seatfit.models import SeatFitCheck

    result = app.test_cli_runner().invoke(args=["d2w", "demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        checks = {(c.seat.name, c.band) for c in db.session.scalars(select(SeatFitCheck))}
        assert len(checks) == 4
        assert ("Ealing Central and Acton", "poor") in checks
        by_seat = {a.seat.name: a for a in db.session.scalars(select(Application))}
        assert {name: a.status for name, a in by_seat.items()} == {
            "Bethnal Green and Stepney": "longlisted",
            "Ealing Central and Acton": "fit_checked",
            "Oldham West, Chadderton and Royton": "considering",
        }
        assert by_seat["Ealing Central and Acton"].override_reason
        print(sorted(checks))


def test_aggregate_cache_keeps_a_value_for_its_age_and_is_off_at_zero(app):
    from d2w.core import cache

    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    with app.app_context():
        cache.clear()
        assert app.config["AGGREGATE_CACHE_SECONDS"] == 0  # tests always see fresh figures
        assert cache.aggregate(("k",), compute) == 1 and cache.aggregate(("k",), compute) == 2
        app.config["AGGREGATE_CACHE_SECONDS"] = 60
        assert cache.aggregate(("k",), compute) == 3
        assert cache.aggregate(("k",), compute) == 3  # kept
        assert cache.aggregate(("other",), compute) == 4  # another key
        cache.clear()
        assert cache.aggregate(("k",), compute) == 5
        cache.clear()
