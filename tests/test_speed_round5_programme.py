"""Programme pages, fifth round (issue #8): the quick escaping, when/where/mark tags and hidden
fields drawn in Python give the markup markupsafe, the macros and WTForms gave; a session's page
counts its marks from the index and asks for departed candidates only when there are any; the
upcoming sessions list finds the same rows with its extra start-time bound."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from markupsafe import Markup, escape
from sqlalchemy import update

from d2w.auth.models import User
from d2w.core.extensions import db
from d2w.core.pagination import Sort
from d2w.programme import rendering, services
from d2w.programme.forms import EditSessionForm, RegisterForm
from d2w.programme.models import ProgrammeSession
from d2w.programme.skills import ATTENDANCE
from tests.conftest import login, page_queries
from tests.test_programme import _today, prog  # noqa: F401 - prog is a fixture
from tests.test_speed_programme import _leave_cohort
from tests.test_speed_round4_programme import _old_session_page

TEXTS = ("", "plain", "<b>O'Neil & Sons</b>", 'Zoë "Zee" Ng', "Łukasz &amp; co", "a > b < c", "'\"&<>")


def test_text_escapes_as_markupsafe_does():
    for value in (*TEXTS, Markup("<i>kept</i>"), Markup("&amp;")):
        assert rendering.text(value) == str(escape(value))
        assert type(rendering.text(value)) is str


def test_when_where_and_mark_tags_are_the_macros_markup(app):
    times = [datetime(2026, m, d, h, 30, tzinfo=UTC) for m, d, h in ((3, 28, 23), (3, 29, 1), (10, 25, 1))]
    with app.test_request_context("/"):
        macros = app.jinja_env.get_template("programme/_macros.html").module
        for starts, place, url, title in itertools.product(
            times, (None, "", "Room <1> & 'hall'"), (None, "https://example.org/?a=1&b=<2>"), TEXTS
        ):
            s = SimpleNamespace(
                starts_at=starts,
                ends_at=starts + timedelta(hours=1, minutes=45),
                place=place,
                online_url=url,
                title=title,
            )
            assert str(rendering.when(s)) == str(macros.when(s))
            assert str(rendering.where(s)) == str(macros.where(s))
            assert bool(rendering.where(s)) == bool(str(macros.where(s)))
        assert rendering.MARK_TAGS[None] == macros.mark_tag(None, "Not marked")
        for value, label in ATTENDANCE:
            assert rendering.MARK_TAGS[value] == macros.mark_tag(value, label)


def test_hidden_fields_are_hidden_tag_s_markup(app):
    with app.test_request_context("/"):
        for form in (RegisterForm(), EditSessionForm(), RegisterForm(formdata=None)):
            for field in form:
                if field.name in ("register_version", "version"):
                    field.data = "7\"<&'"
            assert str(rendering.hidden_tag(form)) == str(form.hidden_tag())
            assert 'name="csrf_token"' in str(rendering.hidden_tag(form))


def test_session_roster_is_one_query_with_or_without_departed_marks(app, client, people, prog):  # noqa: F811
    cohort_id, pids = prog.cohort(6)
    (sid,) = prog.sessions(cohort_id, day=_today())
    login(client, people["staff"].email)
    seen = []
    for step in range(4):
        if step == 1:
            prog.mark(sid, {pid: status for pid, (status, _) in zip(pids, itertools.cycle(ATTENDANCE))})
        if step == 2:
            _leave_cohort(app, pids[1], cohort_id)  # marked late, then left
        if step == 3:
            _leave_cohort(app, pids[5], cohort_id)  # marked late too, then left
        with app.app_context():
            s = db.session.get(ProgrammeSession, sid)
            got = services.session_roster(s)
            rows = services.register_rows(s)
            assert [vars(r) for r in got.rows] == [vars(r) for r in rows]
            assert got.departed == services.departed_marks(s)
            assert got.summary == services.session_summaries([sid])[sid]
        queries = page_queries(app, client, f"/sessions/{sid}")
        # the session, then the roster and the departed candidates' marks in one (counted in Python)
        assert len(queries) == 2, queries
        seen.append(len(got.departed))
    assert seen == [0, 0, 1, 2]


def test_upcoming_sessions_found_through_the_earliest_start_are_the_same(app, people, prog):  # noqa: F811
    cohort_id, _ = prog.cohort(1, extra=[people["candidate"]])
    ids = prog.sessions(cohort_id, weeks=6, day=_today() - timedelta(days=14), title="Weekly")
    now = datetime.now(UTC).replace(microsecond=0)
    # Sessions of varied length around now: a long one that started first and is not over, ones
    # that started after it and are over, ones to come, and one that is over exactly now.
    spans = [(-72, 48), (-48, -24), (-30, -1), (-1, 0), (2, 3), (24, 26)]
    with app.app_context():
        for sid, (start, end) in zip(ids, spans, strict=True):
            db.session.execute(
                update(ProgrammeSession)
                .where(ProgrammeSession.id == sid)
                .values(starts_at=now + timedelta(hours=start), ends_at=now + timedelta(hours=end))
            )
        db.session.commit()
        actors = [db.session.get(User, people[k].id) for k in ("staff", "candidate")]
        for actor, key, desc, moment in itertools.product(
            actors, services.SESSION_SORTS, (False, True), (now, now + timedelta(days=30), now - timedelta(days=30))
        ):
            args = {
                "when": "upcoming",
                "cohort_id": None,
                "skill": None,
                "sort": Sort(key, desc),
                "page": 1,
                "per_page": 10,
                "now": moment,
            }
            got = services.session_page(actor, **args)
            total, number, rows = _old_session_page(actor, **args)
            assert (got.total, got.page) == (total, number)
            assert [tuple(r.session) for r in got.items] == rows
        upcoming = services.session_page(actors[0], **{**args, "now": now, "sort": Sort("starts", False)})
        assert [r.session.id for r in upcoming.items] == [ids[0], ids[4], ids[5]]
