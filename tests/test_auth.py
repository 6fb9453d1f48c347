"""Signing in and out, server-side sessions, password links and login abuse."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from d2w.audit.models import AuditEvent
from d2w.auth.models import AuthToken, User, UserSession
from d2w.core.db import utcnow
from d2w.core.extensions import db
from tests.conftest import PASSWORD, csrf_token, login, post


def actions(app):
    with app.app_context():
        return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_login_lands_on_home_and_records_the_sign_in(app, client, people):
    response = login(client, "Candidate@Example.org")  # e-mail is case-insensitive
    assert response.status_code == 302
    assert response.headers["Location"] == "/home"
    page = client.get("/home").get_data(as_text=True)
    assert "Hello, Chidi" in page
    assert "auth.login" in actions(app)


@pytest.mark.parametrize(
    "email,password",
    [
        ("candidate@example.org", "wrong password entirely"),
        ("nobody@example.org", PASSWORD),
        ("not an email", PASSWORD),
    ],
)
def test_every_failure_gives_the_same_generic_message(client, people, email, password):
    response = login(client, email, password)
    assert response.status_code == 401
    body = response.get_data(as_text=True)
    assert "The e-mail address or password is not right" in body
    assert "not active" in body  # same words whether the account exists, is wrong or is off


def test_deactivated_account_cannot_sign_in(client, make):
    user = make.user("mentor", active=False)
    response = login(client, user.email)
    assert response.status_code == 401
    assert "not right" in response.get_data(as_text=True)


def test_invited_account_without_password_cannot_sign_in(app, client, people):
    from d2w.users import services

    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        services.invite_user(admin, email="new@example.org", name="New Person", role="candidate")
        db.session.commit()
    assert login(client, "new@example.org", "").status_code == 401


def test_login_starts_a_fresh_session(app, client, people):
    client.get("/auth/login")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    login(client, people["staff"].email)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert "sid" in sess


def test_logout_ends_the_session_on_the_server(app, client, people):
    login(client, people["staff"].email)
    copied = client.get_cookie("d2w_session").value
    response = post(client, "/auth/logout")
    assert response.status_code == 302
    # The cookie copied before logout no longer works.
    other = app.test_client()
    other.set_cookie("d2w_session", copied)
    response = other.get("/home")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    with app.app_context():
        assert db.session.scalars(select(UserSession)).one().revoked_at is not None


def test_logout_needs_a_csrf_token(client, people):
    login(client, people["staff"].email)
    response = client.post("/auth/logout")
    assert response.status_code == 400
    assert client.get("/home").status_code == 200


def test_sign_out_everywhere_ends_every_session(app, people):
    a, b = app.test_client(), app.test_client()
    login(a, people["mentor"].email)
    login(b, people["mentor"].email)
    assert b.get("/home").status_code == 200
    post(a, "/account/sessions/end-all")
    assert a.get("/home").status_code == 302
    assert b.get("/home").status_code == 302


def test_sign_out_other_devices_keeps_this_one(app, people):
    a, b = app.test_client(), app.test_client()
    login(a, people["mentor"].email)
    login(b, people["mentor"].email)
    post(a, "/account/sessions/end-others")
    assert a.get("/home").status_code == 200
    assert b.get("/home").status_code == 302


def test_password_change_ends_other_sessions(app, people):
    a, b = app.test_client(), app.test_client()
    login(a, people["candidate"].email)
    login(b, people["candidate"].email)
    token = csrf_token(a, "/account/password")
    response = a.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase 77",
            "confirm": "a brand new passphrase 77",
        },
    )
    assert response.status_code == 302
    assert a.get("/home").status_code == 200
    assert b.get("/home").status_code == 302
    c = app.test_client()
    assert login(c, people["candidate"].email, PASSWORD).status_code == 401
    assert login(c, people["candidate"].email, "a brand new passphrase 77").status_code == 302


def test_password_change_rejects_wrong_current_and_weak_new(client, people):
    login(client, people["candidate"].email)
    token = csrf_token(client, "/account/password")
    response = client.post(
        "/account/password",
        data={"csrf_token": token, "current_password": "nope nope nope", "new_password": "x", "confirm": "x"},
    )
    assert response.status_code == 200
    assert "Your current password is not right" in response.get_data(as_text=True)
    response = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "password12345678",
            "confirm": "password12345678",
        },
    )
    assert "commonly used password" in response.get_data(as_text=True)


def test_user_cannot_end_someone_elses_session(app, people):
    a, b = app.test_client(), app.test_client()
    login(a, people["candidate"].email)
    login(b, people["candidate2"].email)
    with app.app_context():
        other = db.session.scalar(select(UserSession).where(UserSession.user_id == people["candidate2"].id))
    response = post(a, f"/account/sessions/{other.id}/end")
    assert response.status_code == 404
    assert b.get("/home").status_code == 200


def test_idle_session_expires(app, client, people):
    login(client, people["staff"].email)
    with app.app_context():
        us = db.session.scalars(select(UserSession)).one()
        us.last_seen_at = utcnow() - timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
        db.session.commit()
    response = client.get("/home")
    assert response.status_code == 302
    assert "Your session has ended" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_deactivating_a_user_ends_their_sessions(app, people):
    victim = app.test_client()
    login(victim, people["mentor"].email)
    admin = app.test_client()
    login(admin, people["admin"].email)
    response = post(admin, f"/users/{people['mentor'].id}/deactivate")
    assert response.status_code == 302
    assert victim.get("/home").status_code == 302
    assert "user.deactivated" in actions(app)


# ---------------------------------------------------------------------------------------------
# next=


@pytest.mark.parametrize(
    "target,expected",
    [
        ("/users/", "/users/"),
        ("/account/?tab=1", "/account/?tab=1"),
        ("https://evil.example/", "/home"),
        ("//evil.example/", "/home"),
        ("/\\evil.example", "/home"),
        ("\\\\evil.example", "/home"),
        ("javascript:alert(1)", "/home"),
        ("http:evil.example", "/home"),
        ("/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"),
    ],
)
def test_next_redirects_only_within_the_site(client, people, target, expected):
    response = login(client, people["admin"].email, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_login_page_carries_next_from_a_protected_page(client, people):
    response = client.get("/users/?role=mentor")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="/users/?role=mentor"' in page


# ---------------------------------------------------------------------------------------------
# Login abuse


def test_account_locks_after_repeated_failures_and_says_so(app, client, people):
    email = people["candidate"].email
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        assert login(client, email, "wrong wrong wrong").status_code == 401
    response = login(client, email, "wrong wrong wrong")
    assert response.status_code == 429
    assert "Sign-in is paused for this account" in response.get_data(as_text=True)
    # Even the right password is refused while locked, without checking it.
    response = login(client, email, PASSWORD)
    assert response.status_code == 429
    assert "auth.account_locked" in actions(app)


def test_unknown_addresses_lock_the_same_way(app, client, people):
    """The lock does not reveal whether an address has an account."""
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        login(client, "ghost@example.org", "whatever whatever")
    assert login(client, "ghost@example.org", "whatever whatever").status_code == 429


def test_lock_expires(app, client, people):
    from d2w.auth.models import LoginThrottle

    email = people["candidate"].email
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(client, email, "wrong wrong wrong")
    with app.app_context():
        row = db.session.scalars(select(LoginThrottle)).one()
        row.locked_until = utcnow() - timedelta(seconds=1)
        row.window_started_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    assert login(client, email, PASSWORD).status_code == 302
    with app.app_context():
        assert db.session.scalars(select(LoginThrottle)).first() is None


@pytest.fixture
def app_overrides(request):
    if "rate" in request.node.name:
        return {"LOGIN_RATE_LIMIT": "3 per minute", "LOGIN_MAX_FAILURES": 100}
    return {}


def test_per_ip_rate_limit_answers_429_with_a_page(client, people):
    for i in range(3):
        assert login(client, f"someone{i}@example.org", "wrong wrong wrong").status_code == 401
    response = login(client, "someone9@example.org", "wrong wrong wrong")
    assert response.status_code == 429
    body = response.get_data(as_text=True)
    assert "Too many attempts" in body
    assert "Traceback" not in body
    assert response.headers["Retry-After"]
    # Reading the page is not limited; only attempts are.
    assert client.get("/auth/login").status_code == 200


# ---------------------------------------------------------------------------------------------
# Invitations and password reset


def _link_token(message) -> str:
    body = message.get_content()
    marker = "/auth/set-password/"
    start = body.index(marker) + len(marker)
    return body[start:].split()[0]


def test_invitation_link_sets_a_password_once(app, client, people, outbox):
    login(client, people["admin"].email)
    token = csrf_token(client, "/users/invite")
    response = client.post(
        "/users/invite",
        data={"csrf_token": token, "name": "Nadia Hussain", "email": "Nadia@Example.org", "role": "candidate"},
    )
    assert response.status_code == 302
    messages = outbox()
    assert len(messages) == 1
    assert messages[0]["To"] == "nadia@example.org"
    raw = _link_token(messages[0])
    post(client, "/auth/logout")

    fresh = app.test_client()
    page = fresh.get(f"/auth/set-password/{raw}")
    assert page.status_code == 200
    assert "Welcome to Diversity To Win, Nadia Hussain" in page.get_data(as_text=True)
    token = csrf_token(fresh, f"/auth/set-password/{raw}")
    response = fresh.post(
        f"/auth/set-password/{raw}",
        data={"csrf_token": token, "password": "my own good passphrase", "confirm": "my own good passphrase"},
    )
    assert response.status_code == 302
    assert login(fresh, "nadia@example.org", "my own good passphrase").status_code == 302
    # Single use.
    assert app.test_client().get(f"/auth/set-password/{raw}").status_code == 404
    assert {"user.invited", "auth.invitation_accepted"} <= set(actions(app))


def test_invitation_link_expires(app, people, outbox):
    from d2w.users import services

    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        _, raw = services.invite_user(admin, email="late@example.org", name="Late Comer", role="mentor")
        for t in db.session.scalars(select(AuthToken)):
            t.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert app.test_client().get(f"/auth/set-password/{raw}").status_code == 404


def test_resending_an_invitation_kills_the_old_link(app, client, people, outbox):
    from d2w.users import services

    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        user, first = services.invite_user(admin, email="again@example.org", name="Try Again", role="mentor")
        db.session.commit()
        user_id = user.id
    login(client, people["admin"].email)
    assert post(client, f"/users/{user_id}/resend-invitation").status_code == 302
    second = _link_token(outbox()[-1])
    assert app.test_client().get(f"/auth/set-password/{first}").status_code == 404
    assert app.test_client().get(f"/auth/set-password/{second}").status_code == 200


def test_set_password_enforces_the_rules(app, people, outbox):
    from d2w.users import services

    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        _, raw = services.invite_user(admin, email="rules@example.org", name="Rule Follower", role="mentor")
        db.session.commit()
    c = app.test_client()
    token = csrf_token(c, f"/auth/set-password/{raw}")
    for pw, message in [
        ("short", "Use at least 12 characters"),
        ("password12345678", "commonly used password"),
    ]:
        response = c.post(f"/auth/set-password/{raw}", data={"csrf_token": token, "password": pw, "confirm": pw})
        assert response.status_code == 200
        assert message in response.get_data(as_text=True)
    response = c.post(
        f"/auth/set-password/{raw}",
        data={"csrf_token": token, "password": "one good passphrase", "confirm": "a different one here"},
    )
    assert "The two passwords do not match" in response.get_data(as_text=True)
    # The link still works after refusals.
    assert c.get(f"/auth/set-password/{raw}").status_code == 200


def test_password_reset_flow(app, people, outbox):
    c = app.test_client()
    logged_in = app.test_client()
    login(logged_in, people["mentor"].email)
    token = csrf_token(c, "/auth/forgot-password")
    response = c.post("/auth/forgot-password", data={"csrf_token": token, "email": "MENTOR@example.org"})
    assert response.status_code == 302
    message = outbox()[-1]
    assert message["Subject"] == "Reset your Diversity To Win password"
    raw = _link_token(message)
    token = csrf_token(c, f"/auth/set-password/{raw}")
    c.post(
        f"/auth/set-password/{raw}",
        data={"csrf_token": token, "password": "reset to this passphrase", "confirm": "reset to this passphrase"},
    )
    assert login(c, people["mentor"].email, "reset to this passphrase").status_code == 302
    assert logged_in.get("/home").status_code == 302  # resetting ends every other session
    assert app.test_client().get(f"/auth/set-password/{raw}").status_code == 404


def test_reset_for_unknown_address_says_the_same_and_sends_nothing(app, client, people, outbox):
    token = csrf_token(client, "/auth/forgot-password")
    pages = []
    for email in (people["staff"].email, "ghost@example.org"):
        response = client.post("/auth/forgot-password", data={"csrf_token": token, "email": email})
        assert response.status_code == 302
        pages.append(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "If there is an active account" in pages[0]
    assert "If there is an active account" in pages[1]
    assert len(outbox()) == 1


def test_reset_link_expires_after_an_hour(app, people, outbox):
    from d2w.auth import services

    with app.app_context():
        _, raw = services.request_password_reset(people["staff"].email)
        token = db.session.scalars(select(AuthToken)).one()
        assert token.expires_at - token.created_at == timedelta(minutes=60)
        token.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert app.test_client().get(f"/auth/set-password/{raw}").status_code == 404


def test_emails_hold_no_password_or_sensitive_data(app, client, people, outbox):
    token = csrf_token(client, "/auth/forgot-password")
    client.post("/auth/forgot-password", data={"csrf_token": token, "email": people["staff"].email})
    body = outbox()[-1].get_content()
    assert PASSWORD not in body
    assert "Sam Staff" in body
    with app.app_context():
        hashed = db.session.get(User, people["staff"].id).password_hash
    assert hashed not in body


def test_rate_limit_works_with_a_shared_redis_store(database_url, tmp_path, people):
    """Production keeps rate-limit counters in Redis, shared by every worker."""
    import os

    url = os.environ.get("D2W_TEST_REDIS_URL")
    if not url:
        pytest.skip("set D2W_TEST_REDIS_URL to run against Redis (CI does)")
    import redis

    with redis.Redis.from_url(url) as store:
        store.flushdb()
    from d2w import create_app

    settings = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_STORAGE_URI": url,
        "LOGIN_RATE_LIMIT": "2 per minute",
        "MAIL_OUTBOX_DIR": str(tmp_path),
    }
    worker_a, worker_b = create_app("testing", settings), create_app("testing", settings)
    assert login(worker_a.test_client(), "x@example.org", "wrong wrong wrong").status_code == 401
    assert login(worker_b.test_client(), "y@example.org", "wrong wrong wrong").status_code == 401
    # The third attempt from the same address is refused, whichever worker gets it.
    assert login(worker_a.test_client(), "z@example.org", "wrong wrong wrong").status_code == 429
    store = redis.Redis.from_url(url)
    assert any(b"auth.login" in key or b"LIMITER" in key for key in store.keys("*")), store.keys("*")
    store.flushdb()
    store.close()
    for worker in (worker_a, worker_b):
        with worker.app_context():
            db.session.remove()
            db.engine.dispose()
