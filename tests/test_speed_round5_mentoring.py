"""Mentoring pages, fifth round (issue #8): a pair's logs, a mentor's mentee rows and the rows of
the list of mentors drawn in Python give the markup the Jinja loops gave; the blank staff note
and end forms, drawn once per app, carry each request's CSRF token and id (and still work); the
private notes' statement built once finds each mentor's own notes only."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta

from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select

from d2w.auth.models import User
from d2w.core.extensions import db
from d2w.mentoring import rendering, services
from d2w.mentoring import views as mentoring_views
from d2w.mentoring.models import MentoringLog, PrivateNote, StaffNote
from tests.conftest import page_queries
from tests.test_speed_seats_mentoring import _client, _pairs

# The Jinja the Python replaced, as the templates had it (round 4).
OLD_LOGS = """
{% macro log_articles(logs, today, completable, see_staff_notes, note_html) -%}
{% for v in logs %}{% set log = v.log %}
<article class="panel" id="log-{{ log.id }}" aria-labelledby="log-{{ log.id }}-heading">
  <h3 id="log-{{ log.id }}-heading">{{ log.heading }}</h3>
  <h4>Summary</h4>
  <p class="prewrap">{{ log.summary }}</p>
  {% if v.private_note %}
  <h4>Your private note</h4>
  <p class="muted small">Only you can read this here. The candidate may still obtain it through a subject access request.</p>
  <p class="prewrap">{{ v.private_note }}</p>
  {% endif %}
  {% if v.actions %}
  <h4>Action items</h4>
  <ul class="action-items">
    {% for item in v.actions %}
    <li>
      {% if item.is_done %}<span class="tag tag-green">Done</span>{% elif item.is_overdue(today) %}<span class="tag tag-red">Overdue</span>{% endif %}
      {{ item.description }} <span class="muted small">({{ item.owner_and_due }})</span>
      {% if item.id in completable %}
      <form method="post" action="{{ url_for('mentoring.complete_action', item_id=item.id) }}" class="inline-form">
        <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
        <button type="submit" class="link-button">Mark as done<span class="visually-hidden">: {{ item.description }}</span></button>
      </form>
      {% endif %}
    </li>
    {% endfor %}
  </ul>
  {% endif %}
  {% if see_staff_notes %}
  <h4>Staff notes</h4>
  {% for n in v.staff_notes %}<p class="prewrap">{{ n.body }} <span class="muted small">({{ n.author_name }}, {{ n.created_at|datetime }})</span></p>{% else %}<p class="muted">None.</p>{% endfor %}
  {{ note_html[log.id] }}
  {% endif %}
</article>
{% endfor %}
{%- endmacro %}
"""

OLD_MENTEES = """
{% macro mentee_rows(rows, weeks) -%}
    {% for r in rows %}
      <tr>
        <td><a href="{{ url_for('mentoring.assignment', assignment_id=r.id) }}">{{ r.candidate_name }}</a>{% if not r.is_primary %} <span class="muted small">(additional mentor)</span>{% endif %}
          <br><a class="small" href="{{ url_for('candidates.detail', profile_id=r.profile_id) }}">Profile<span class="visually-hidden"> of {{ r.candidate_name }}</span></a></td>
        <td>{% if r.last_contact %}{{ r.last_contact.strftime("%-d %b %Y") }}{% else %}None logged yet{% endif %}{% if r.lapsed %} <span class="tag tag-amber">No contact for {{ weeks }}+ weeks</span>{% endif %}</td>
        <td>{% if r.next_step %}{{ r.next_step.description }} <span class="muted small">({{ r.next_step.owner_label }}, due {{ r.next_step.due_on.strftime("%-d %b") }})</span>{% else %}–{% endif %}</td>
        <td>{% if r.overdue %}<span class="tag tag-red">{{ r.overdue }} overdue</span>{% else %}None{% endif %}</td>
        <td><a href="{{ url_for('mentoring.new_log', assignment_id=r.id) }}">Log a session<span class="visually-hidden"> with {{ r.candidate_name }}</span></a></td>
      </tr>
    {% endfor %}
{%- endmacro %}
"""

OLD_MENTORS = """
{% macro mentor_rows(items) -%}
  {% for p in items %}
    <tr>
      <td><a href="{{ url_for('mentoring.edit_mentor', user_id=p.id) }}">{{ p.name }}</a>{% if not p.active %} <span class="tag tag-grey">Deactivated</span>{% endif %}</td>
      {% if p.profile_id is not none %}
      <td>{{ p.region or "–" }}</td>
      <td>{{ p.skills or "–" }}</td>
      <td>{{ p.languages or "–" }}</td>
      <td>{{ p.active_mentees }} of {{ p.capacity }}{% if p.full %} <span class="tag tag-amber">Full</span>{% endif %}</td>
      {% else %}
      <td colspan="4"><span class="muted">No mentor profile yet</span></td>
      {% endif %}
    </tr>
  {% endfor %}
{%- endmacro %}
"""

TEXTS = ("Planned a stall.", "<b>O'Neil & Sons</b>", 'Zoë "Zee" Ng\n  two lines', "Łukasz & <i>co</i>")


def _same(html) -> str:
    """Markup with formatting whitespace taken out (between tags, and runs of it)."""
    return re.sub(r"\s*\n\s*", "", re.sub(r">\s+<", "><", str(html))).strip()


def _log_views(today: date) -> list[services.LogView]:
    views = []
    item_id = 500
    modes = ("in_person", "phone", "video")
    for i, (private, n_actions, n_notes) in enumerate(itertools.product((None, "", TEXTS[1]), (0, 1, 3), (0, 2))):
        log_id = 9000 + i
        actions = []
        for k in range(n_actions):
            item_id += 1
            due = today + timedelta(days=(k - 1) * (i + 1))  # past, today, future
            done = datetime(2025, 1 + i % 12, 1 + k, 23, 30, tzinfo=UTC) if (i + k) % 3 == 0 else None
            actions.append(
                services.ActionLine(item_id, log_id, TEXTS[(i + k) % 4], ("mentor", "candidate")[k % 2], due, done)
            )
        notes = [
            services.StaffNoteLine(
                70 + i * 2 + k, log_id, TEXTS[(i + k + 1) % 4], datetime(2026, 3, 29, k, 59, tzinfo=UTC), TEXTS[k]
            )
            for k in range(n_notes)
        ]
        log = services.LogLine(log_id, date(2026, 1 + i % 12, 1 + i), 5 * (i + 1), modes[i % 3], TEXTS[i % 4])
        views.append(services.LogView(log, actions, notes, private))
    return views


def test_log_articles_are_the_template_s_markup(app):
    today = date(2026, 5, 1)
    logs = _log_views(today)
    items = [item.id for v in logs for item in v.actions]
    with app.test_request_context("/"):
        old = app.jinja_env.from_string(OLD_LOGS).module.log_articles
        note_html = {v.log.id: Markup('<form action="/x/%d">&amp;</form>') % v.log.id for v in logs}
        for completable, see in ((set(), False), (set(items[::2]), True), (set(items), True), (set(items), False)):
            new = rendering.log_articles(
                logs,
                today=today,
                completable=completable,
                see_staff_notes=see,
                note_html=note_html if see else {},
                csrf_token=generate_csrf,
            )
            assert _same(new) == _same(old(logs, today, completable, see, note_html))
        page = str(
            rendering.log_articles(
                logs,
                today=today,
                completable=set(items),
                see_staff_notes=True,
                note_html=note_html,
                csrf_token=generate_csrf,
            )
        )
        # text inside pre-wrapped paragraphs is the same, whitespace and all
        assert '<p class="prewrap">Zoë &#34;Zee&#34; Ng\n  two lines</p>' in page
        assert "<b>" not in page and "&lt;b&gt;O&#39;Neil &amp; Sons&lt;/b&gt;" in page
        assert page.count(f'value="{generate_csrf()}"') == len(items)
        assert (
            rendering.log_articles(
                [], today=today, completable=set(), see_staff_notes=True, note_html={}, csrf_token=generate_csrf
            )
            == ""
        )


def test_mentee_rows_are_the_template_s_markup(app):
    today = date(2026, 5, 1)
    rows = []
    for i, (primary, contact, step, overdue, lapsed) in enumerate(
        itertools.product((True, False), (None, date(2026, 4, 3)), (None, 0, 1), (0, 2), (False, True))
    ):
        next_step = (
            None
            if step is None
            else services.ActionLine(
                600 + i, 10, TEXTS[i % 4], ("mentor", "candidate")[step], today + timedelta(days=i * 17), None
            )
        )
        rows.append(services.MenteeLine(100 + i, 2000 + i, primary, TEXTS[i % 4], contact, next_step, overdue, lapsed))
    with app.test_request_context("/"):
        old = app.jinja_env.from_string(OLD_MENTEES).module.mentee_rows
        for weeks in (3, 6):
            assert _same(rendering.mentee_rows(rows, weeks)) == _same(old(rows, weeks))
        assert rendering.mentee_rows([], 6) == ""
    # every month's short name, as strftime writes it
    for month in range(1, 13):
        d = date(2026, month, 9)
        assert rendering._day_month(d) == d.strftime("%-d %b")


def test_mentor_rows_are_the_template_s_markup(app):
    rows = []
    for i, (active, has_profile, region, skills, languages, taken) in enumerate(
        itertools.product(
            (True, False), (True, False), (None, "London"), ("", "Canvassing, Media"), ("", TEXTS[1]), (0, 3)
        )
    ):
        if has_profile:
            rows.append(services.MentorRow(300 + i, TEXTS[i % 4], active, 40 + i, region, 3, taken, skills, languages))
        else:
            rows.append(services.MentorRow(300 + i, TEXTS[i % 4], active, None, None, None, None, "", ""))
    with app.test_request_context("/"):
        old = app.jinja_env.from_string(OLD_MENTORS).module.mentor_rows
        assert _same(rendering.mentor_rows(rows)) == _same(old(rows))
        assert rendering.mentor_rows([]) == ""


def _token(html: str, name: str) -> str:
    return re.search(rf'name="{re.escape(name)}" type="hidden" value="([^"]+)"', html).group(1)


def test_kept_blank_forms_carry_each_request_s_token_and_id(app, people, make):
    """The staff note and end forms are drawn once per app; later pages (another client, another
    pair) show them with their own token and ids, the same markup as drawn afresh, and they
    work."""
    a_id, b_id = _pairs(app, people, make)
    app.extensions.pop(mentoring_views.BLANK_FORMS, None)
    first = _client(app, people["staff"])
    first_html = first.get(f"/mentoring/assignments/{b_id}").get_data(as_text=True)  # ended: no end form
    assert "staff_note" in app.extensions[mentoring_views.BLANK_FORMS]
    assert "end" not in app.extensions[mentoring_views.BLANK_FORMS]
    staff = _client(app, people["admin"])
    html = staff.get(f"/mentoring/assignments/{a_id}").get_data(as_text=True)
    assert set(app.extensions[mentoring_views.BLANK_FORMS]) == {"staff_note", "end"}
    html = staff.get(f"/mentoring/assignments/{a_id}").get_data(as_text=True)  # from the kept forms
    with app.app_context():
        log_ids = db.session.scalars(select(MentoringLog.id).where(MentoringLog.assignment_id == a_id)).all()
    token = _token(html, "csrf_token")
    assert token != _token(first_html, f"log{_first_log(first_html)}-csrf_token")
    for log_id in log_ids:
        assert _token(html, f"log{log_id}-csrf_token") == token
        assert f'action="/mentoring/logs/{log_id}/staff-note"' in html
        assert f'id="log{log_id}-body"' in html
    assert str(mentoring_views.NOTE_FORM_MARKER) not in html
    # the same markup as the forms drawn afresh for this request
    with app.test_request_context("/"):
        from flask import session

        session.update(_session_of(staff))
        fresh_note = mentoring_views._note_form_html(mentoring_views._staff_note_form(log_ids[0]), log_ids[0])
        fresh_end = app.jinja_env.get_template("mentoring/_end_form.html").render(
            end_form=mentoring_views.EndForm(formdata=None), assignment_id=a_id
        )
        kept_note = mentoring_views._note_forms_html(
            [services.LogView(services.LogLine(log_ids[0], date.today(), 5, "video", ""), [], [], None)], {}
        )[log_ids[0]]
        assert _same(kept_note) == _same(fresh_note)
        assert _same(mentoring_views._end_form_html(a_id)) == _same(fresh_end)
    # the kept forms work: a staff note, then ending the pair
    response = staff.post(
        f"/mentoring/logs/{log_ids[0]}/staff-note",
        data={
            f"log{log_ids[0]}-csrf_token": _token(html, f"log{log_ids[0]}-csrf_token"),
            f"log{log_ids[0]}-body": "Kept.",
        },
    )
    assert response.status_code == 302
    response = staff.post(f"/mentoring/assignments/{a_id}/end", data={"csrf_token": token, "reason": "Done"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(
            select(StaffNote.body).where(StaffNote.log_id == log_ids[0], StaffNote.body == "Kept.")
        )
        assert db.session.get(services.MentorAssignment, a_id).status == "ended"
    # a form sent back with errors is drawn as itself, the others from the kept form
    response = staff.post(
        f"/mentoring/logs/{log_ids[1]}/staff-note",
        data={f"log{log_ids[1]}-csrf_token": token, f"log{log_ids[1]}-body": ""},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    start = html.index(f'<article class="panel" id="log-{log_ids[1]}"')
    article = html[start : html.index("</article>", start)]
    assert "Write the note." in article
    assert html.count("Write the note.") == article.count("Write the note.")
    for log_id in log_ids:
        assert f'action="/mentoring/logs/{log_id}/staff-note"' in html


def _first_log(html: str) -> int:
    return int(re.search(r'action="/mentoring/logs/(\d+)/staff-note"', html).group(1))


def _session_of(client) -> dict:
    with client.session_transaction() as sess:
        return dict(sess)


def test_kept_forms_without_csrf_protection(app):
    """With CSRF protection off the forms hold no token: kept as drawn, only the id changes."""
    app.config["WTF_CSRF_ENABLED"] = False
    app.extensions.pop(mentoring_views.BLANK_FORMS, None)
    for _ in range(3):
        with app.test_request_context("/"):
            fresh = app.jinja_env.get_template("mentoring/_end_form.html").render(
                end_form=mentoring_views.EndForm(formdata=None), assignment_id=77
            )
            assert "csrf_token" not in fresh
            assert mentoring_views._end_form_html(77) == fresh
            note = mentoring_views._blank_note_form_html()
            assert note == mentoring_views._note_form_html(
                mentoring_views._staff_note_form(mentoring_views.NOTE_FORM_MARKER), mentoring_views.NOTE_FORM_MARKER
            )
    assert app.extensions[mentoring_views.BLANK_FORMS]["end"][1] is None


def test_private_notes_statement_finds_the_actor_s_own_notes(app, people, make):
    """The statement built once, run for one mentor and then another (and for staff), finds each
    actor's own notes, as a statement built for the actor does."""
    a_id, b_id = _pairs(app, people, make)
    with app.app_context():
        log_ids = db.session.scalars(select(MentoringLog.id)).all()
        mentor2 = db.session.get(User, people["mentor2"].id)
        b_log = db.session.scalar(select(MentoringLog.id).where(MentoringLog.assignment_id == b_id))
        db.session.add(PrivateNote(log_id=b_log, author_id=mentor2.id, body="Mine, mentor2's"))
        db.session.flush()
        for who in ("mentor", "mentor2", "staff", "mentor", "candidate", "mentor2"):
            actor = db.session.get(User, people[who].id)
            for ids in (log_ids, log_ids[:2], [b_log]):
                expected = {
                    n.log_id: n.body
                    for n in db.session.scalars(
                        select(PrivateNote).where(PrivateNote.log_id.in_(ids), PrivateNote.author_id == actor.id)
                    )
                }
                assert services.private_notes_for(actor, ids) == expected, who
        mentor = db.session.get(User, people["mentor"].id)
        assert len(services.private_notes_for(mentor, log_ids)) == 3
        assert services.private_notes_for(mentor2, log_ids) == {b_log: "Mine, mentor2's"}
        assert services.private_notes_for(db.session.get(User, people["staff"].id), log_ids) == {}
        db.session.rollback()


def test_log_headings_and_item_dates_as_strftime_wrote_them():
    for d in (date(2026, 1, 1), date(2025, 12, 31), date(2026, 9, 9)):
        log = services.LogLine(1, d, 45, "video", "")
        assert log.heading == f"{d.strftime('%-d %B %Y')} · Video · 45 minutes"
        item = services.ActionLine(1, 1, "x", "candidate", d, None)
        assert item.owner_and_due == f"Candidate, due {d.strftime('%-d %b %Y')}"


def test_pair_page_query_counts_stay(app, people, make):
    a_id, _ = _pairs(app, people, make)
    # the pair; logs; items; staff notes (staff) or the mentor's private notes
    assert len(page_queries(app, _client(app, people["staff"]), f"/mentoring/assignments/{a_id}")) == 4
    assert len(page_queries(app, _client(app, people["mentor"]), f"/mentoring/assignments/{a_id}")) == 4
    assert len(page_queries(app, _client(app, people["candidate"]), f"/mentoring/assignments/{a_id}")) == 3
    assert len(page_queries(app, _client(app, people["mentor"]), "/mentoring/")) == 3
    assert len(page_queries(app, _client(app, people["staff"]), "/mentoring/mentors")) == 4  # with the tokens


def test_links_built_once_are_url_for_s(app):
    from flask import url_for

    links = (
        ("mentoring.assignment", "assignment_id"),
        ("mentoring.new_log", "assignment_id"),
        ("mentoring.complete_action", "item_id"),
        ("mentoring.edit_mentor", "user_id"),
        ("candidates.detail", "profile_id"),
    )
    for base_url in ("http://localhost/", "http://localhost/d2w%20app/"):
        with app.test_request_context("/", base_url=base_url):
            for endpoint, name in links:
                link = rendering._link(endpoint, name)
                for ident in (1, 42, 1987654301, 2147483647):
                    assert link(ident) == str(url_for(endpoint, **{name: ident})), (base_url, endpoint)
