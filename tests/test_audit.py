"""The append-only audit log and its admin page."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from d2w.audit import services as audit
from d2w.audit.models import AuditEvent, AuditLogIsAppendOnly
from d2w.auth.models import User
from d2w.core.db import utcnow
from d2w.core.extensions import db
from tests.conftest import PASSWORD, login


def test_events_carry_actor_request_id_and_ip(app, client, people):
    response = login(client, people["staff"].email)
    rid = response.headers["X-Request-ID"]
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login")).one()
        assert event.actor_id == people["staff"].id
        assert event.request_id == rid
        assert event.ip == "127.0.0.1"
        assert (event.object_type, event.object_id) == ("user", str(people["staff"].id))


def test_failed_logins_are_recorded_without_the_password(app, client, people):
    login(client, people["staff"].email, "my secret guess 123")
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).all()
        assert len(events) == 1
        dump = " ".join(f"{e.summary} {e.object_id}" for e in db.session.scalars(select(AuditEvent)))
        assert "my secret guess" not in dump
        assert PASSWORD not in dump


def test_record_writes_one_row_at_once_named_after_its_object(app, people):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        before = utcnow()
        audit.record(staff, "test.object", db.session.get(User, people["candidate"].id), summary="x" * 300)
        audit.record(None, "test.named", object_type="cohort", object_id=7)
        # written in the caller's transaction, before any flush or commit
        rows = db.session.execute(
            select(AuditEvent.actor_id, AuditEvent.object_type, AuditEvent.object_id, AuditEvent.summary, AuditEvent.at)
            .where(AuditEvent.action.like("test.%"))
            .order_by(AuditEvent.id)
        ).all()
        assert [r[:3] for r in rows] == [(staff.id, "user", str(people["candidate"].id)), (None, "cohort", "7")]
        assert rows[0].summary == "x" * 255 and rows[1].summary == ""
        assert all(before <= r.at <= utcnow() for r in rows)
        db.session.rollback()  # and undone with it
        assert db.session.scalar(select(sa.func.count()).where(AuditEvent.action.like("test.%"))) == 0


def test_the_orm_refuses_to_change_or_delete_events(app, people):
    with app.app_context():
        audit.record(None, "test.event")
        db.session.commit()
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "test.event")).one()
        event.summary = "tampered"
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(AuditEvent, event.id))
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.flush()
        db.session.rollback()


def test_the_database_refuses_to_change_or_delete_events(app, people):
    with app.app_context():
        audit.record(None, "test.event")
        db.session.commit()
        for statement in ("UPDATE audit_events SET summary = 'x'", "DELETE FROM audit_events"):
            with pytest.raises(sa.exc.DatabaseError), db.engine.begin() as conn:
                conn.execute(sa.text(statement))
        assert db.session.scalar(select(sa.func.count()).select_from(AuditEvent)) >= 1


def test_admin_can_filter_the_log(app, client, people):
    login(client, people["candidate"].email, "wrong wrong wrong")
    login(client, people["admin"].email)
    page = client.get("/audit/?action=auth.login_failed").get_data(as_text=True)
    assert "auth.login_failed" in page
    assert "<code>auth.login</code>" not in page
    page = client.get("/audit/?actor=ada").get_data(as_text=True)
    assert "<code>auth.login</code>" in page
    assert "auth.login_failed" not in page.split("<tbody>")[1]


def test_audit_date_filter_validates(client, people):
    login(client, people["admin"].email)
    response = client.get("/audit/?date_from=2026-12-01&date_to=2026-11-01")
    assert response.status_code == 200
    assert "The end date must be on or after the start date." in response.get_data(as_text=True)
    response = client.get("/audit/?date_from=not-a-date")
    assert response.status_code == 200
    assert "Not a valid date value" in response.get_data(as_text=True)


def test_audit_dates_are_london_days(app, client, people):
    from datetime import date

    login(client, people["admin"].email)
    today = date.today().isoformat()
    page = client.get(f"/audit/?date_from={today}&date_to={today}").get_data(as_text=True)
    assert "<code>auth.login</code>" in page
    page = client.get("/audit/?date_to=2000-01-01").get_data(as_text=True)
    assert "No events match these filters." in page


def test_audit_filters_by_object(app, client, people):
    login(app.test_client(), people["candidate"].email)
    login(app.test_client(), people["mentor"].email)
    login(client, people["admin"].email)
    page = client.get(f"/audit/?object_type=user&object_id={people['mentor'].id}").get_data(as_text=True)
    rows = page.split("<tbody>")[1]
    assert f"user {people['mentor'].id}</a>" in rows
    assert f"user {people['candidate'].id}</a>" not in rows


def test_distinct_values_steps_through_an_index(app):
    """The audit log's filter lists come from a loose index scan: the same values, in order, as
    SELECT DISTINCT, with NULLs left out, on either database."""
    from sqlalchemy import select

    from d2w.audit.models import AuditEvent
    from d2w.core.db import distinct_values
    from d2w.core.extensions import db

    with app.app_context():
        for action, kind in [
            ("b.two", "user"),
            ("a.one", None),
            ("b.two", "cohort"),
            ("c.three", "user"),
            ("a.one", None),
        ]:
            db.session.add(AuditEvent(action=action, object_type=kind, summary=""))
        db.session.flush()
        for column in (AuditEvent.action, AuditEvent.object_type):
            plain = db.session.scalars(select(column).where(column.is_not(None)).distinct().order_by(column)).all()
            assert distinct_values(column) == plain
        assert distinct_values(AuditEvent.action)[:1] == ["a.one"]
        db.session.rollback()
        db.session.execute(AuditEvent.__table__.delete())
        assert distinct_values(AuditEvent.action) == []
        db.session.rollback()


def test_the_audit_log_runs_the_same_queries_for_few_and_many_events(app, client, people):
    """The page: the session, the two filter lists, the count and the page of events (with their
    actors joined), however many events and kinds of event there are."""
    from d2w.audit.models import AuditEvent
    from d2w.core.extensions import db
    from tests.conftest import count_queries

    login(client, people["admin"].email)
    client.get("/audit/")
    with count_queries(app) as kept:
        assert client.get("/audit/").status_code == 200
    assert len([q for q in kept if "FROM audit_events" in q]) == 0  # kept until the next event
    app.config["KEEP_FIGURES_UNTIL_CHANGED"] = False  # below: the page as drawn
    with count_queries(app) as few:
        assert client.get("/audit/").status_code == 200
    with app.app_context():
        for i in range(300):
            db.session.add(
                AuditEvent(action=f"test.action{i % 30}", object_type=f"kind{i % 7}", actor_id=people["staff"].id)
            )
        db.session.commit()
    with count_queries(app) as many:
        response = client.get("/audit/?page=2")
    assert response.status_code == 200
    assert "test.action29" in response.get_data(as_text=True)  # offered in the action filter
    assert len(many) == len(few), (len(few), len(many))


# The rows as the audit log's template drew them before d2w.audit.rendering.
_OLD_ROWS = """\
{% set user_base = url_for('users.detail', user_id=0)[:-1] %}
  {% for e in page.items %}
  <tr>
    <td><time datetime="{{ e.at.isoformat() }}">{{ e.at|datetime("%-d %b %Y, %H:%M:%S") }}</time></td>
    <td>{% if e.actor_name is not none %}{{ e.actor_name }} <span class="muted">{{ e.actor_email }}</span>{% else %}<span class="muted">System or anonymous</span>{% endif %}</td>
    <td><code>{{ e.action }}</code></td>
    <td>{% if e.object_type == "user" and e.object_id %}<a href="{{ user_base }}{{ e.object_id }}">user {{ e.object_id }}</a>{% elif e.object_type %}{{ e.object_type }} {{ e.object_id or "" }}{% endif %}</td>
    <td>{{ e.summary }}</td>
    <td>{{ e.ip or "" }}</td>
    <td><code class="small">{{ (e.request_id or "")[:8] }}</code></td>
  </tr>
  {% else %}
  <tr><td colspan="7">No events match these filters.</td></tr>
  {% endfor %}
"""


def test_the_rows_drawn_in_python_are_the_templates_rows(app):
    """Awkward values (markup in names and summaries, quotes, no actor, no object, a user object
    without an id, ids that are not numbers, a summer and a winter time) draw the same either way."""
    from datetime import UTC, datetime

    from d2w.audit.queries import EventRow
    from d2w.audit.rendering import event_rows
    from d2w.core.pagination import Page

    events = [
        EventRow(
            datetime(2026, 7, 1, 23, 30, 5, tzinfo=UTC),
            "user.invited",
            "user",
            "42",
            "via <b>cohort</b> & co",
            "127.0.0.1",
            "0123456789abcdef",
            7,
            'Ada "Admin" <x>',
            "ada&co@example.org",
        ),
        EventRow(datetime(2026, 1, 2, 0, 0, 0, tzinfo=UTC), "system.ran", None, None, "", None, None, None, None, None),
        EventRow(datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC), "x.y", "user", None, "'q'", "::1", "short", 1, "B", "b@e"),
        EventRow(datetime(2026, 10, 25, 1, 59, 59, tzinfo=UTC), "x.z", "cohort", "<3>", "s", "", "", 2, "", ""),
    ]
    with app.test_request_context():
        template = app.jinja_env.from_string(_OLD_ROWS)
        for items in (events, events[1:2], []):
            old = template.render(page=Page(items=items, page=1, per_page=50, total=len(items)))
            assert str(event_rows(items)).strip() == old.strip(), items  # but the whitespace around them
