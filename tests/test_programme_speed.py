"""Programme pages at scale (issue #8): the sessions list, a session, its register and the
candidate's schedule show the same as before in a few queries that do not grow with rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from d2w.cohorts.models import Enrolment
from d2w.core.extensions import db
from tests.conftest import login, page_queries
from tests.test_programme import _text, _today, prog  # noqa: F401 - prog is a fixture

UNWANTED = ("FROM profile_languages",)


def test_sessions_list_counts_without_the_cohort_join_and_does_not_grow(app, client, people, prog):  # noqa: F811
    first, _ = prog.cohort(0, name="Alpha cohort")
    second, _ = prog.cohort(0, name="Beta cohort")
    prog.sessions(first, weeks=2, day=_today() + timedelta(days=3), title="Alpha upcoming")
    prog.sessions(second, weeks=1, day=_today() - timedelta(days=10), title="Beta past")
    login(client, people["staff"].email)
    page = _text(client.get("/sessions/"))
    assert page.count("Alpha upcoming</a>") == 2 and "Beta past" not in page
    page = _text(client.get(f"/sessions/?when=all&cohort={second}&sort=cohort"))
    assert "Beta past</a>" in page and "Alpha upcoming" not in page and "Beta cohort" in page
    few = page_queries(app, client, "/sessions/?when=all&sort=cohort")
    prog.sessions(second, weeks=30, day=_today() - timedelta(days=200))
    many = page_queries(app, client, "/sessions/?when=all&sort=cohort")
    # The data's tokens, the cohorts for the filter, the count, the page (with each cohort) and
    # the marks; then kept until the data changes (or the minute is out): the tokens alone.
    assert len(few) == len(many) == 5, many
    assert len(page_queries(app, client, "/sessions/?when=all&sort=cohort")) == 1
    count = next(q for q in many if "count(" in q.lower())
    assert "JOIN" not in count.upper()


def test_session_and_register_pages_do_not_grow_or_load_whole_profiles(app, client, people, prog):  # noqa: F811
    small, small_pids = prog.cohort(2)
    large, large_pids = prog.cohort(25)
    (s_small,) = prog.sessions(small, day=_today())
    (s_large,) = prog.sessions(large, day=_today())
    prog.mark(s_small, {small_pids[0]: "late"})
    prog.mark(s_large, dict.fromkeys(large_pids, "absent"))
    login(client, people["staff"].email)
    for path, expected in (("/sessions/{}", 1), ("/sessions/{}/register", 1)):
        few = page_queries(app, client, path.format(s_small))
        many = page_queries(app, client, path.format(s_large))
        # Besides the session itself: the roster with its marks (on the session's page with the
        # departed candidates' marks in the same query: see tests/test_speed_round5_programme.py).
        assert len(few) == len(many) == 1 + expected, (path, many)
        assert not [q for q in many if any(t in q for t in UNWANTED)]
    page = _text(client.get(f"/sessions/{s_small}"))
    assert page.count('<span class="tag tag-green">Late</span>') == 1
    assert page.count('<span class="muted">Not marked</span>') == 1
    page = _text(client.get(f"/sessions/{s_small}/register"))
    assert page.count('type="radio"') == 8 and page.count(" checked>") == 1
    assert f'id="status-{small_pids[0]}-late" name="status-{small_pids[0]}" value="late" checked>' in page


def test_history_keeps_marked_sessions_of_a_cohort_left(app, client, people, prog):  # noqa: F811
    cohort_id, (me,) = prog.cohort(0, extra=[people["candidate"]])
    marked, unmarked = prog.sessions(cohort_id, weeks=2, day=_today() - timedelta(days=20), title="Left cohort")
    prog.mark(marked, {me: "present"})
    with app.app_context():
        enrolment = db.session.scalar(select(Enrolment).where(Enrolment.profile_id == me))
        enrolment.status = "withdrawn"
        db.session.commit()
    login(client, people["candidate"].email)
    page = _text(client.get("/sessions/mine"))
    assert f'href="/sessions/{marked}"' in page and f'href="/sessions/{unmarked}"' not in page
    assert "Showing 1–1 of 1" in page


def test_candidate_session_page_reads_only_their_own_mark(app, client, people, prog):  # noqa: F811
    cohort_id, pids = prog.cohort(1, extra=[people["candidate"]])
    me = pids[-1]
    (sid,) = prog.sessions(cohort_id, day=_today())
    prog.mark(sid, {me: "excused", pids[0]: "absent"})
    login(client, people["candidate"].email)
    queries = page_queries(app, client, f"/sessions/{sid}")
    assert len(queries) == 1, queries  # the session (through the policy) with the mark
    page = _text(client.get(f"/sessions/{sid}"))
    assert "<dd>Excused</dd>" in page
