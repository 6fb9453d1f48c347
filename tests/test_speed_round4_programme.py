"""Programme pages, fourth round (issue #8): the register's fieldsets, a session's roster rows and
the session table's rows drawn in Python give the markup the Jinja loops gave; the statements
built once per kind of user (a session's page, the sessions list) find what the policy's
statement built for the actor finds; a candidate's session page is one query."""

from __future__ import annotations

import itertools
import pathlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func

from d2w.auth.models import User
from d2w.cohorts.models import Cohort
from d2w.core.db import read
from d2w.core.extensions import db
from d2w.core.pagination import Sort, apply_sort
from d2w.programme import policy, rendering, services
from d2w.programme.models import ProgrammeSession
from d2w.programme.skills import ATTENDANCE, SKILL_VALUES
from tests.conftest import login, page_queries
from tests.test_programme import _text, _today, prog  # noqa: F401 - prog is a fixture
from tests.test_speed_programme import STATUSES, _leave_cohort

# The Jinja the Python replaced, as the templates had it (round 3).
OLD_REGISTER = """
{% macro radios(name, shown, choices) -%}
        {% for value, label in choices %}{% set id = name ~ "-" ~ value %}
        <div class="radio">
          <input type="radio" id="{{ id }}" name="{{ name }}" value="{{ value }}"{% if shown == value %} checked{% endif %}>
          <label for="{{ id }}">{{ label }}</label>
        </div>
        {% endfor %}
{%- endmacro %}
{% macro register_fieldsets(rows, threshold, choices) -%}
{% set placeholder = "__register_field__" %}
{% set groups = {none: radios(placeholder, none, choices)} %}
{% for value, _ in choices %}{% set _ = groups.update({value: radios(placeholder, value, choices)}) %}{% endfor %}
{% for row in rows %}{% set name = row.field_name %}
    <fieldset class="register-row{% if row.error %} field-error{% endif %}"{% if row.error %} aria-describedby="{{ name }}-error"{% endif %}>
      <legend>
        <span class="register-name">{{ row.name }}</span>
        {% if row.consecutive_absences >= threshold %}<span class="tag tag-red">At risk: {{ row.consecutive_absences }} absences in a row</span>{% endif %}
        {% if row.saved is none %}<span class="muted small">Not marked yet</span>{% endif %}
      </legend>
      {% if row.error %}<p class="error-message" id="{{ name }}-error"><span class="visually-hidden">Error: </span>{{ row.error }}</p>{% endif %}
      <div class="radio-group">
        {{ (groups.get(row.shown) or groups[none])|replace(placeholder, name) }}
      </div>
    </fieldset>
{% endfor %}
{%- endmacro %}
"""

OLD_ROSTER = """
{% macro roster_rows(rows, threshold, tags) -%}
  {% for row in rows %}
    <tr>
      <td>{{ row.name }}</td>
      <td>{{ tags[row.saved] }}</td>
      <td>{{ row.consecutive_absences }}{% if row.consecutive_absences >= threshold %} <span class="tag tag-red">At risk</span>{% endif %}</td>
    </tr>
  {% endfor %}
{%- endmacro %}
"""

OLD_SESSION_ROWS = """
{% macro session_rows(sessions, _show_cohort) -%}
  {% for row in sessions %}
    {% set s = row.session %}
    <tr{% if s.is_cancelled %} class="cancelled"{% endif %}>
      <td><time datetime="{{ s.starts_at.isoformat() }}">{{ s.starts_at|datetime("%a %-d %b %Y, %H:%M") }}</time>–{{ s.ends_at|datetime("%H:%M") }}</td>
      <td><a href="{{ url_for('programme.detail', session_id=s.id) }}">{{ s.title }}</a>{% if s.is_cancelled %} <span class="tag tag-grey">Cancelled</span>{% endif %}<br><span class="muted small">{{ s.skill_label }}</span></td>
      {% if _show_cohort %}<td>{{ s.cohort_name }}</td>{% endif %}
      <td>{% if s.place %}{{ s.place }}{% endif %}
      {%- if s.place and s.online_url %}<br>{% endif %}
      {%- if s.online_url %}<a href="{{ s.online_url }}" rel="noopener noreferrer">Join online<span class="visually-hidden">: {{ s.title }}</span></a>{% endif %}</td>
      {% set summary = row.summary %}
      <td>{% if s.is_cancelled %}<span class="muted">–</span>
      {%- elif summary.marked %}{{ summary.percent }} <span class="muted small">({{ summary.attended }} of {{ summary.marked }} attended)</span>
      {%- else %}<span class="muted">Not taken</span>{% endif %}</td>
    </tr>
  {% endfor %}
{%- endmacro %}
"""


def _same(html) -> str:
    """Markup with formatting whitespace taken out (between tags, and runs of it)."""
    return re.sub(r"\s*\n\s*", "", re.sub(r">\s+<", "><", str(html))).strip()


NAMES = ("Amara Okafor", "<b>O'Neil & Sons</b>", 'Zoë "Zee" Ng', "Łukasz Nowak")


def _register_rows():
    rows = []
    for i, (saved, chosen, error, absences) in enumerate(
        itertools.product((None, *STATUSES), (None, "late", "absent"), (None, "Choose <one>"), (0, 2, 3, 7))
    ):
        row = services.RegisterRow(1000 + i, NAMES[i % len(NAMES)], saved, absences)
        row.chosen, row.error = chosen, error
        rows.append(row)
    return rows


def test_register_fieldsets_are_the_macro_s_markup(app):
    rows = _register_rows()
    with app.test_request_context("/"):
        old = app.jinja_env.from_string(OLD_REGISTER).module.register_fieldsets
        for threshold in (1, 3, 8):
            new = rendering.register_fieldsets(rows, threshold)
            assert _same(new) == _same(old(rows, threshold, ATTENDANCE))
        assert rendering.register_fieldsets([], 3) == ""
    page = str(rendering.register_fieldsets(rows, 3))
    assert "<b>O" not in page and "&lt;b&gt;O&#39;Neil &amp; Sons&lt;/b&gt;" in page
    assert page.count('type="radio"') == 4 * len(rows)


def test_roster_rows_are_the_macro_s_markup(app):
    rows = _register_rows()
    with app.test_request_context("/"):
        mark_tag = app.jinja_env.get_template("programme/_macros.html").module.mark_tag
        tags = {None: mark_tag(None, "Not marked"), **{v: mark_tag(v, label) for v, label in ATTENDANCE}}
        old = app.jinja_env.from_string(OLD_ROSTER).module.roster_rows
        for threshold in (1, 3, 8):
            assert _same(rendering.roster_rows(rows, threshold, tags)) == _same(old(rows, threshold, tags))


def _listed(i, starts, *, cancelled=False, place=None, online_url=None):
    return services.ListedSession(
        100 + i,
        f"Session <{i}> & co",
        SKILL_VALUES[i % len(SKILL_VALUES)],
        starts,
        starts + timedelta(hours=2, minutes=15),
        place,
        online_url,
        starts if cancelled else None,
        f"Cohort {i} & <friends>",
    )


def test_session_rows_are_the_table_s_markup(app, people, prog):  # noqa: F811
    # Both sides of both clock changes, and each combination of place, link, cancellation and marks.
    times = [
        datetime(2026, m, d, h, 30, tzinfo=UTC) for m, d, h in ((3, 28, 23), (3, 29, 1), (10, 24, 23), (10, 25, 1))
    ]
    rows = []
    for i, (starts, cancelled, (place, url), summary) in enumerate(
        itertools.product(
            times,
            (False, True),
            ((None, None), ("Hall <A>", None), (None, "https://x.example/j?a=1&b=2"), ("Room 1", "https://y.example")),
            (services.Summary(), services.Summary(1, 2, 0, 3), services.Summary(0, 0, 4, 0)),
        )
    ):
        rows.append(services.SessionRow(_listed(i, starts, cancelled=cancelled, place=place, online_url=url), summary))
    cohort_id, _ = prog.cohort(0)
    ids = prog.sessions(cohort_id, weeks=3, day=_today() + timedelta(days=2), online_url="https://meet.example.org/a")
    with app.test_request_context("/"):
        old = app.jinja_env.from_string(OLD_SESSION_ROWS).module.session_rows
        for show_cohort in (True, False):
            assert _same(rendering.session_rows(rows, show_cohort)) == _same(old(rows, show_cohort))
        # The models themselves, as the cohort page passes them.
        models = services.sessions_for_cohort(cohort_id)
        assert [r.session.id for r in models] == ids
        for show_cohort in (True, False):
            assert _same(rendering.session_rows(models, show_cohort)) == _same(old(models, show_cohort))
        # Kept per pair of instants: the same text as the filters give, however often asked.
        for starts in times:
            assert rendering.session_time(starts, starts + timedelta(hours=1)) == rendering.session_time(
                starts, starts + timedelta(hours=1)
            )


def _old_session_page(actor, *, when, cohort_id, skill, sort, page, per_page, now):
    """The sessions list as round 3 built it, anew for the actor on every call."""
    stmt = policy.visible_sessions(actor)
    if cohort_id is not None:
        stmt = stmt.where(ProgrammeSession.cohort_id == cohort_id)
    if skill:
        stmt = stmt.where(ProgrammeSession.skill_area == skill)
    if when == "upcoming":
        stmt = stmt.where(ProgrammeSession.ends_at > now)
    elif when == "past":
        stmt = stmt.where(ProgrammeSession.ends_at <= now)
    total = db.session.scalar(stmt.with_only_columns(func.count()).select_from(ProgrammeSession)) or 0
    stmt = stmt.with_only_columns(*services._LISTED_COLUMNS).join(Cohort, Cohort.id == ProgrammeSession.cohort_id)
    stmt = apply_sort(stmt, sort, services.SESSION_SORTS, ProgrammeSession.id)
    page = min(page, max(1, -(-total // per_page)))
    rows = read(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return total, page, [tuple(r) for r in rows]


def test_sessions_list_built_once_finds_what_the_policy_finds(app, people, prog):  # noqa: F811
    mine, _ = prog.cohort(2, name="beta cohort", extra=[people["candidate"]])
    other, _ = prog.cohort(2, name="Alpha cohort")
    prog.sessions(mine, weeks=4, day=_today() - timedelta(days=14), title="Mine weekly")
    prog.sessions(mine, weeks=2, day=_today() + timedelta(days=1), title="a later one", skill_area="canvassing")
    prog.sessions(other, weeks=5, day=_today() - timedelta(days=20), title="Zed theirs", skill_area="canvassing")
    now = datetime.now(UTC)
    with app.app_context():
        actors = [db.session.get(User, people[k].id) for k in ("staff", "admin", "candidate", "mentor")]
        seen = set()
        for actor, when, cohort_id, skill, key, desc, page in itertools.product(
            actors, ("upcoming", "past", "all"), (None, mine, other), (None, "canvassing"),
            services.SESSION_SORTS, (False, True), (1, 2, 9),
        ):  # fmt: skip
            sort = Sort(key, desc)
            args = {
                "when": when,
                "cohort_id": cohort_id,
                "skill": skill,
                "sort": sort,
                "page": page,
                "per_page": 3,
                "now": now,
            }
            got = services.session_page(actor, **args)
            total, number, rows = _old_session_page(actor, **args)
            assert (got.total, got.page) == (total, number)
            assert [tuple(r.session) for r in got.items] == rows
            want = services.session_summaries(r[0] for r in rows)
            assert [r.summary for r in got.items] == [want[r[0]] for r in rows]
            seen.add((actor.role, bool(rows)))
        assert {("staff", True), ("candidate", True), ("mentor", False)} <= seen


def test_candidate_session_page_is_one_query_with_their_own_mark(app, client, people, prog):  # noqa: F811
    cohort_id, pids = prog.cohort(2, extra=[people["candidate"]])
    me = pids[-1]
    other_cohort, _ = prog.cohort(1)
    marked, unmarked = prog.sessions(cohort_id, weeks=2, day=_today() - timedelta(days=7))
    (theirs,) = prog.sessions(other_cohort, day=_today())
    prog.mark(marked, {me: "late", pids[0]: "absent"})
    with app.app_context():
        candidate = db.session.get(User, people["candidate"].id)
        staff = db.session.get(User, people["staff"].id)
        for sid in (marked, unmarked):
            s, mark = services.own_session_view(candidate, sid)
            assert s == services.session_view(staff, sid)
            assert mark == services.mark_of(candidate, s) == ("late" if sid == marked else None)
        assert services.own_session_view(candidate, theirs) is None
        assert services.session_view(candidate, theirs) is None
    login(client, people["candidate"].email)
    queries = page_queries(app, client, f"/sessions/{marked}")
    assert len(queries) == 1, queries
    assert "<dd>Late</dd>" in _text(client.get(f"/sessions/{marked}"))
    assert "<dd>Not recorded</dd>" in _text(client.get(f"/sessions/{unmarked}"))
    assert client.get(f"/sessions/{theirs}").status_code == 404
    # After leaving the cohort, the marked session stays theirs (through the mark), the other goes.
    _leave_cohort(app, me, cohort_id)
    assert "<dd>Late</dd>" in _text(client.get(f"/sessions/{marked}"))
    assert client.get(f"/sessions/{unmarked}").status_code == 404


@pytest.mark.parametrize("path", ["/sessions/{}", "/sessions/{}/register"])
def test_session_and_register_pages_draw_every_candidate(app, client, people, prog, path):  # noqa: F811
    cohort_id, pids = prog.cohort(6)
    (sid,) = prog.sessions(cohort_id, day=_today())
    prog.mark(sid, {pid: STATUSES[i % 4] for i, pid in enumerate(pids[:-1])})
    _leave_cohort(app, pids[0], cohort_id)
    login(client, people["staff"].email)
    page = _text(client.get(path.format(sid)))
    with app.app_context():
        rows = services.register_rows(db.session.get(ProgrammeSession, sid))
    assert len(rows) == 5
    for row in rows:
        assert page.count(row.name) == 1
    if path.endswith("register"):
        assert page.count('type="radio"') == 20 and page.count(" checked>") == 4
        assert page.count("Not marked yet") == 1
    else:
        assert page.count("<tr>") == 1 + 5  # the header and a row a candidate
        assert "Marked, but no longer in the cohort" in page


# A candidate's schedule (programme/mine.html) before its rows were drawn in Python (round 8).
OLD_SCHEDULE = (
    '{% from "programme/_macros.html" import when, where, cancelled_tag, mark_tag %}\n'
    """{% macro upcoming_cards(upcoming) -%}
  <ul class="session-cards">
    {% for s in upcoming %}
    <li class="session-card{% if s.is_cancelled %} cancelled{% endif %}">
      <h3><a href="{{ url_for('programme.detail', session_id=s.id) }}">{{ s.title }}</a>{{ cancelled_tag(s) }}</h3>
      <p>{{ when(s) }}</p>
      <p>{% if s.is_cancelled %}Cancelled: please do not go.{% else %}{{ where(s) }}{% endif %}</p>
      <p class="muted small">{{ s.skill_label }}</p>
    </li>
    {% endfor %}
  </ul>
{%- endmacro %}
{% macro history_rows(rows) -%}
    {#- cancelled_tag(), when() and mark_tag() of programme/_macros.html, written out: a macro call a
        cell is most of the cost of a long table. -#}
    {% for row in rows %}{% set s = row.session %}
      <tr>
        <td><a href="{{ url_for('programme.detail', session_id=s.id) }}">{{ s.title }}</a>{% if s.is_cancelled %} <span class="tag tag-grey">Cancelled</span>{% endif %}<br><span class="muted small"><time datetime="{{ s.starts_at.isoformat() }}">{{ s.starts_at|datetime("%a %-d %b %Y, %H:%M") }}</time>–{{ s.ends_at|datetime("%H:%M") }}</span></td>
        <td>{% if s.is_cancelled %}<span class="muted">Cancelled</span>
        {%- elif row.status in ("present", "late") %}<span class="tag tag-green">{{ row.status_label }}</span>
        {%- elif row.status == "absent" %}<span class="tag tag-red">{{ row.status_label }}</span>
        {%- elif row.status == "excused" %}<span class="tag tag-amber">{{ row.status_label }}</span>
        {%- else %}<span class="muted">{{ row.status_label }}</span>{% endif %}</td>
      </tr>
    {% endfor %}
{%- endmacro %}
"""
)


def test_a_candidate_s_attendance_rows_and_upcoming_cards_are_the_old_macros_markup(app):
    times = [datetime(2026, m, d, h, 30, tzinfo=UTC) for m, d, h in ((3, 28, 23), (3, 29, 1), (10, 25, 1))]
    sessions = [
        _listed(i, starts, cancelled=cancelled, place=place, online_url=url)
        for i, (starts, cancelled, (place, url)) in enumerate(
            itertools.product(
                times, (False, True), ((None, None), ("Hall <A>", None), ("Room 1", "https://y.example/?a=1&b=2"))
            )
        )
    ]
    marks = (None, "present", "late", "absent", "excused")
    history = [services.HistoryRow(s, marks[i % len(marks)]) for i, s in enumerate(sessions)]
    source = pathlib.Path(app.root_path).parent.joinpath("templates/programme/mine.html").read_text()
    new_cards = re.search(r"{% macro upcoming_cards.*?{%- endmacro %}", source, re.S).group(0)
    with app.test_request_context("/"):
        old = app.jinja_env.from_string(OLD_SCHEDULE).module
        cards = app.jinja_env.from_string(new_cards).module.upcoming_cards
        assert _same(rendering.history_rows(history)) == _same(old.history_rows(history))
        assert _same(cards(sessions)) == _same(old.upcoming_cards(sessions))
        assert rendering.history_rows([]) == ""
        drawn = str(rendering.history_rows(history))
    assert "Session <0>" not in drawn and "Session &lt;0&gt; &amp; co" in drawn
    assert drawn.count("Not recorded") == sum(1 for r in history if r.status is None and not r.session.is_cancelled) > 0
    assert drawn.count('<span class="tag tag-green">') == sum(
        1 for r in history if r.status in ("present", "late") and not r.session.is_cancelled
    )
