"""The user directory, invitations, role changes and deactivation."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from d2w.audit.models import AuditEvent
from d2w.auth.models import User
from d2w.core.errors import Conflict, DomainError, Forbidden
from d2w.core.extensions import db
from d2w.users import services
from tests.conftest import count_queries, csrf_token, login, post


def _get(app, user_ref):
    return db.session.get(User, user_ref.id)


def test_invite_refuses_bad_input_and_changes_nothing(app, client, people):
    login(client, people["admin"].email)
    token = csrf_token(client, "/users/invite")
    cases = [
        ({"name": "", "email": "a@example.org", "role": "mentor"}, "Enter the person's name."),
        ({"name": "A B", "email": "not-an-email", "role": "mentor"}, "Enter a valid e-mail address"),
        ({"name": "A B", "email": "STAFF@example.org", "role": "mentor"}, "There is already an account"),
        ({"name": "A B", "email": "c@example.org", "role": "wizard"}, "Not a valid choice"),
        ({"name": "A B", "email": "d@example.org", "role": "mentor", "is_admin": "y"}, "Only staff can be admins"),
        ({"name": "x" * 121, "email": "e@example.org", "role": "mentor"}, "Field cannot be longer than 120"),
    ]
    with app.app_context():
        before = db.session.query(User).count()
    for data, message in cases:
        response = client.post("/users/invite", data={**data, "csrf_token": token})
        assert response.status_code == 200, data
        assert message in html.unescape(response.get_data(as_text=True)), (data, message)
    with app.app_context():
        assert db.session.query(User).count() == before


def test_staff_who_are_not_admins_cannot_invite_by_service(app, people):
    with app.app_context():
        staff = _get(app, people["staff"])
        with pytest.raises(Forbidden):
            services.invite_user(staff, email="z@example.org", name="Z Z", role="mentor")


def test_edit_user_changes_role_audits_it_and_ends_their_sessions(app, client, people):
    victim = app.test_client()
    login(victim, people["mentor"].email)
    login(client, people["admin"].email)
    uid = people["mentor"].id
    token = csrf_token(client, f"/users/{uid}/edit")
    page = client.get(f"/users/{uid}/edit").get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in page
    response = client.post(
        f"/users/{uid}/edit",
        data={"csrf_token": token, "name": "Meera Mentor-Shah", "role": "staff", "version": "1"},
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, uid)
        assert (user.name, user.role) == ("Meera Mentor-Shah", "staff")
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.role_changed")).one()
        assert event.summary == "Mentor → Staff"
        assert event.actor_id == people["admin"].id
    assert victim.get("/home").status_code == 302


def test_two_admins_editing_the_same_user_do_not_silently_overwrite(app, people, make):
    other_admin = make.user("staff", is_admin=True)
    a, b = app.test_client(), app.test_client()
    login(a, people["admin"].email)
    login(b, other_admin.email)
    uid = people["candidate"].id
    token_a = csrf_token(a, f"/users/{uid}/edit")
    token_b = csrf_token(b, f"/users/{uid}/edit")
    first = a.post(
        f"/users/{uid}/edit", data={"csrf_token": token_a, "name": "Name From A", "role": "candidate", "version": "1"}
    )
    assert first.status_code == 302
    second = b.post(
        f"/users/{uid}/edit", data={"csrf_token": token_b, "name": "Name From B", "role": "candidate", "version": "1"}
    )
    assert second.status_code == 409
    body = second.get_data(as_text=True)
    assert "Somebody else changed this account" in body
    assert 'value="Name From A"' in body  # the current state is shown
    with app.app_context():
        assert db.session.get(User, uid).name == "Name From A"


def test_stale_version_is_a_conflict_in_the_service(app, people):
    with app.app_context():
        admin = _get(app, people["admin"])
        user = _get(app, people["candidate"])
        with pytest.raises(Conflict):
            services.update_user(admin, user, name="X Y", role="candidate", is_admin=False, version=user.version - 1)


def test_admin_cannot_demote_or_deactivate_themselves(app, people):
    with app.app_context():
        admin = _get(app, people["admin"])
        with pytest.raises(DomainError, match="own admin rights"):
            services.update_user(admin, admin, name=admin.name, role="staff", is_admin=False, version=admin.version)
        with pytest.raises(DomainError):
            services.deactivate_user(admin, admin)


def test_admin_flag_requires_staff_role_in_the_database(app, people):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        user = _get(app, people["mentor"])
        user.is_admin = True
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_email_is_unique_whatever_the_case(app, people):
    with app.app_context(), pytest.raises(DomainError, match="already an account"):
        services.create_user(None, email="ADMIN@EXAMPLE.ORG", name="Dup", role="staff")


def test_email_uniqueness_is_a_database_constraint(app, people):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        db.session.add(User(email="admin@example.org", name="Dup", role="staff"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_deactivate_and_reactivate(app, client, people):
    login(client, people["admin"].email)
    uid = people["candidate2"].id
    post(client, f"/users/{uid}/deactivate")
    page = client.get(f"/users/{uid}").get_data(as_text=True)
    assert "Deactivated" in page
    assert "Reactivate account" in page
    post(client, f"/users/{uid}/reactivate")
    with app.app_context():
        assert db.session.get(User, uid).active
        acts = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(uid))).all()
        assert {"user.deactivated", "user.reactivated"} <= set(acts)


def test_directory_filters_search_and_sort(client, people, make):
    make.user("mentor", name="Zara Zephaniah", email="zara@example.org")
    login(client, people["staff"].email)
    page = client.get("/users/?q=zeph").get_data(as_text=True)
    assert "Zara Zephaniah" in page and "Meera Mentor" not in page
    page = client.get("/users/?role=mentor").get_data(as_text=True)
    assert "Meera Mentor" in page and "Chidi Candidate" not in page
    page = client.get("/users/?sort=name&dir=desc").get_data(as_text=True)
    assert page.index("Zara Zephaniah") < page.index("Ada Admin")
    assert 'aria-sort="descending"' in page


def test_directory_is_paginated(app, client, people, make):
    for i in range(30):
        make.user("candidate", name=f"Bulk Person {i:02d}")
    login(client, people["staff"].email)
    first = client.get("/users/").get_data(as_text=True)
    assert "Showing 1–25 of 36" in first
    second = client.get("/users/?page=2").get_data(as_text=True)
    assert "Showing 26–36 of 36" in second


def _directory_queries(app, client):
    with count_queries(app) as statements:
        response = client.get("/users/?sort=last_login")
        assert response.status_code == 200
    return len(statements)


def test_directory_query_count_does_not_grow_with_people(app, client, people, make):
    login(client, people["staff"].email)
    few = _directory_queries(app, client)
    for i in range(40):
        make.user("candidate", name=f"More Person {i:02d}")
    many = _directory_queries(app, client)
    assert few == many
    assert many <= 4  # session lookup, count, page (+ nothing per row)


def test_audit_page_query_count_is_bounded(app, client, people, make):
    login(client, people["admin"].email)
    with count_queries(app) as few:
        client.get("/audit/")
    for i in range(30):
        make.user("candidate", name=f"Audit Person {i:02d}")
    with count_queries(app) as many:
        client.get("/audit/")
    assert len(few) == len(many)


def test_invite_form_has_no_default_role(client, people):
    login(client, people["admin"].email)
    page = client.get("/users/invite").get_data(as_text=True)
    assert '<option selected value="">Choose a role</option>' in page
    token = csrf_token(client, "/users/invite")
    response = client.post(
        "/users/invite", data={"csrf_token": token, "name": "A B", "email": "ab@example.org", "role": ""}
    )
    assert "Choose a role." in response.get_data(as_text=True)


def test_destructive_buttons_ask_for_confirmation(client, people):
    login(client, people["admin"].email)
    page = client.get(f"/users/{people['mentor'].id}").get_data(as_text=True)
    assert 'data-confirm="Deactivate Meera Mentor?' in page


@pytest.mark.parametrize(
    "ua,expected",
    [
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36",
            "Chrome on Linux",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1",
            "Safari on iPhone",
        ),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0", "Firefox on Windows"),
        ("", "Unknown browser"),
        (None, "Unknown browser"),
    ],
)
def test_browser_summary(ua, expected):
    from d2w.core.templating import browser_summary

    assert browser_summary(ua) == expected
