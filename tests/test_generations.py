"""Figures kept until the data changes (d2w.core.generations): every write renews its topic's
token as it commits, in the same transaction; nothing else does; kept figures and page parts
follow the tokens, and kept forms carry each request's own CSRF token."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from d2w.audit import services as audit
from d2w.auth.models import User, UserSession
from d2w.cohorts.models import Cohort
from d2w.core import generations
from d2w.core.extensions import db
from d2w.seats.models import DataSource
from tests.conftest import ON_POSTGRES, count_queries, login, post
from tests.test_programme import prog  # noqa: F401 - a fixture

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _rows(app) -> dict[str, str]:
    with app.app_context():
        return dict(
            db.session.execute(select(generations.DataGeneration.topic, generations.DataGeneration.token)).all()
        )


def _tokens(app) -> dict[str, str]:
    """Each topic's token, as ``generations.tokens`` gives them."""
    return generations.fold(_rows(app).items())


@pytest.fixture(autouse=True)
def _empty_cache():
    generations.clear()
    yield
    generations.clear()


def test_topics_of_tables():
    assert generations.topic_of("cohorts") == generations.PROGRAMME
    assert generations.topic_of("mentoring_logs") == generations.PROGRAMME
    assert generations.topic_of("seat_results") == generations.SEATS
    assert generations.topic_of("audit_events") == generations.AUDIT
    for table in ("user_sessions", "login_throttles", "auth_tokens", "report_jobs", "data_generations"):
        assert generations.topic_of(table) is None
    # Every table d2w has is either a topic's or named as unmarked.
    import d2w.models  # noqa: F401

    for name in db.metadata.tables:
        assert generations.topic_of(name) in (None, *generations.TOPICS)


def test_the_migration_gives_each_topic_its_own_token(app):
    rows = _rows(app)
    stripes = [f"audit/{n}" for n in range(16)]
    assert set(rows) == {"programme", "seats", *stripes} == set(generations.all_rows())
    assert len(set(rows.values())) == 18 and all(len(t) == 32 for t in rows.values())
    tokens = _tokens(app)
    assert set(tokens) == set(generations.TOPICS)
    assert tokens["audit"] == "".join(rows[s] for s in stripes)  # in stripe order, 10 after 9
    with app.test_request_context():
        assert generations.tokens() == tokens


def test_folding_rows_into_topics():
    rows = [("audit/10", "k"), ("seats", "s"), ("audit/2", "c"), ("audit/0", "a"), ("programme", "p")]
    assert generations.fold(rows) == {"audit": "ack", "seats": "s", "programme": "p"}
    assert generations.fold([("audit", "old")]) == {"audit": "old"}  # a row without stripes
    assert generations.fold([]) == {}
    assert generations.rows_of("programme") == ["programme"]
    assert generations.rows_of("audit")[::15] == ["audit/0", "audit/15"]


def test_each_audit_event_renews_one_stripe_of_the_audit_token(app, people):
    chosen = set()
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        for n in range(40):
            before = _rows(app)
            audit.record(staff, "test.viewed", staff, summary=f"looked {n}")
            db.session.commit()
            after = _rows(app)
            changed = {row for row in after if after[row] != before[row]}
            assert len(changed) == 1 and changed <= set(generations.rows_of("audit"))
            chosen |= changed
            assert generations.fold(after.items())["audit"] != generations.fold(before.items())["audit"]
    assert len(chosen) > 1  # chosen at random (all 40 on one of 16 stripes: about 1 in 10^47)


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL (SQLite has one writer at a time)")
def test_two_audited_commits_on_different_stripes_do_not_wait_for_each_other(app, people, monkeypatch):
    """The point of the stripes: a transaction that has renewed one stripe holds its row lock
    until it commits; another renewing a different stripe goes on, one renewing the same waits."""
    stripe = iter(["audit/3", "audit/7", "audit/3"])
    monkeypatch.setattr(generations, "_row_to_renew", lambda topic: next(stripe))
    with app.app_context():
        first, second = db.engine.connect(), db.engine.connect()
        try:
            first.begin()
            generations.renew(first, [generations.AUDIT])  # holds audit/3 until it ends
            second.begin()
            second.execute(text("SET LOCAL lock_timeout = '200ms'"))
            generations.renew(second, [generations.AUDIT])  # audit/7: goes on at once
            second.commit()
            second.begin()
            second.execute(text("SET LOCAL lock_timeout = '200ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                generations.renew(second, [generations.AUDIT])  # audit/3: waits for the first
            second.rollback()
            first.commit()
        finally:
            first.close()
            second.close()


def test_orm_writes_renew_the_programme_token_only(app, people, make):
    before = _tokens(app)
    cohort_id = make.cohort("Renewed")  # an ORM insert, committed
    after_insert = _tokens(app)
    assert after_insert["programme"] != before["programme"]
    assert after_insert["seats"] == before["seats"]
    with app.app_context():
        db.session.get(Cohort, cohort_id).capacity = 40  # an ORM update
        db.session.commit()
    after_update = _tokens(app)
    assert after_update["programme"] != after_insert["programme"]
    with app.app_context():
        db.session.delete(db.session.get(Cohort, cohort_id))  # an ORM delete
        db.session.commit()
    assert _tokens(app)["programme"] != after_update["programme"]


def test_bulk_and_core_writes_renew_too(app, people, make):
    cohort_id = make.cohort("Bulk")
    before = _tokens(app)
    with app.app_context():
        db.session.execute(update(Cohort).where(Cohort.id == cohort_id).values(capacity=12))
        db.session.commit()
    after_bulk = _tokens(app)
    assert after_bulk["programme"] != before["programme"]
    with app.app_context():
        db.session.connection().execute(
            insert(DataSource.__table__).values(
                key="tst", title="A test source", publisher="Tests", licence="OGL", notes=""
            )
        )
        db.session.commit()
    after_core = _tokens(app)
    assert after_core["seats"] != after_bulk["seats"]
    assert after_core["programme"] == after_bulk["programme"]


def test_reads_and_sessions_renew_nothing_and_audit_events_only_the_audit_token(app, people):
    before = _tokens(app)
    with app.app_context():
        db.session.scalars(select(Cohort)).all()
        db.session.execute(update(UserSession).values(last_seen_at=UserSession.last_seen_at))
        db.session.commit()
    assert _tokens(app) == before
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        audit.record(staff, "test.viewed", staff, summary="looked")
        db.session.commit()
    after = _tokens(app)
    assert after["audit"] != before["audit"]
    assert (after["programme"], after["seats"]) == (before["programme"], before["seats"])
    assert sum(row.startswith("audit/") for row in _rows(app)) == 16  # renewed, none added


def test_a_rolled_back_write_renews_nothing_and_leaves_no_mark(app, people, make):
    cohort_id = make.cohort("Rolled back")
    before = _tokens(app)
    with app.app_context():
        db.session.execute(update(Cohort).where(Cohort.id == cohort_id).values(capacity=3))
        db.session.rollback()
        db.session.scalars(select(Cohort)).all()
        db.session.commit()  # a later read-only transaction on the same connection
    assert _tokens(app) == before
    with app.app_context():
        assert db.session.get(Cohort, cohort_id).capacity == 30


def test_the_token_changes_in_the_writing_transaction(app, people, make):
    """A reader sees the old token with the old data until the writer commits, then both new."""
    cohort_id = make.cohort("Atomic")
    before = _tokens(app)["programme"]
    with app.app_context():
        writer = db.engine.connect()
        try:
            session = Session(bind=writer)
            session.execute(update(Cohort).where(Cohort.id == cohort_id).values(capacity=7))
            session.flush()
            assert _tokens(app)["programme"] == before  # not committed yet: nothing renewed
            session.commit()
            session.close()
        finally:
            writer.close()
    assert _tokens(app)["programme"] != before


def test_tokens_are_read_once_per_transaction(app, people):
    with app.test_request_context():
        with count_queries(app) as statements:
            first = generations.tokens()
            again = generations.tokens()
        assert first == again and len(statements) == 1
        db.session.commit()
        with count_queries(app) as statements:
            generations.tokens()
        assert len(statements) == 1  # read again in the next transaction


def test_kept_figures_follow_the_token(app, people, make):
    calls = []

    def compute():
        calls.append(1)
        return len(db.session.scalars(select(Cohort)).all())

    with app.test_request_context():
        assert generations.kept(("test.cohorts",), compute) == 0
        assert generations.kept(("test.cohorts",), compute) == 0
        assert len(calls) == 1
        db.session.commit()
    make.cohort("One more")
    with app.test_request_context():
        assert generations.kept(("test.cohorts",), compute) == 1
        assert len(calls) == 2
        assert len(generations._figures) == 1  # what was kept under the old token is gone
        # another key is kept beside it; a seats-only figure ignores programme writes
        generations.kept(("test.other",), lambda: "x")
        generations.kept(("test.seats",), lambda: "s", topics=(generations.SEATS,))
        assert len(generations._figures) == 3
    make.cohort("And another")
    with app.test_request_context():
        assert generations.kept(("test.seats",), lambda: "recomputed", topics=(generations.SEATS,)) == "s"


def test_nothing_is_kept_when_turned_off_or_without_tokens(app, people):
    calls = []

    def compute():
        calls.append(1)
        return "figure"

    with app.test_request_context():
        app.config["KEEP_FIGURES_UNTIL_CHANGED"] = False
        generations.kept(("test.off",), compute)
        generations.kept(("test.off",), compute)
        assert len(calls) == 2
        app.config["KEEP_FIGURES_UNTIL_CHANGED"] = True
        db.session.execute(text("DELETE FROM data_generations"))
        db.session.commit()
        generations.kept(("test.none",), compute)
        generations.kept(("test.none",), compute)
        assert len(calls) == 4
        # the next write puts the rows back
        db.session.execute(update(User).where(User.id == people["staff"].id).values(name="Sam Staff"))
        db.session.commit()
    assert set(_tokens(app)) == {"programme"}


def test_a_kept_cohort_page_follows_enrolments_and_gives_each_session_its_token(app, people, make):
    cohort_id = make.cohort("Kept", capacity=5)
    make.enrol(cohort_id, people["candidate"])
    first = app.test_client()
    second = app.test_client()
    login(first, people["staff"].email)
    login(second, people["admin"].email)
    page = first.get(f"/cohorts/{cohort_id}").get_data(as_text=True)
    assert "Chidi Candidate" in page and "Cara Candidate" not in page
    first_tokens = set(_TOKEN.findall(page))
    with count_queries(app) as statements:
        page = second.get(f"/cohorts/{cohort_id}").get_data(as_text=True)
    assert not any("FROM enrolments" in s for s in statements)  # the roster came from what was kept
    second_tokens = set(_TOKEN.findall(page))
    assert len(first_tokens) == len(second_tokens) == 1 and first_tokens != second_tokens
    # the kept withdraw button posts with the second session's own token
    withdraw = re.search(r'action="(/cohorts/\d+/enrolments/\d+/withdraw)"', page).group(1)
    assert second.post(withdraw, data={"csrf_token": second_tokens.pop()}).status_code == 302
    page = first.get(f"/cohorts/{cohort_id}").get_data(as_text=True)
    assert "Withdrawn (1)" in page and "Candidates (0)" in page
    # an enrolment by the other member of staff shows at once
    assert post(second, f"/cohorts/{cohort_id}/enrol", {"email": "candidate2@example.org"}).status_code == 302
    assert "Cara Candidate" in first.get(f"/cohorts/{cohort_id}").get_data(as_text=True)


def test_every_kept_page_follows_a_change_of_what_it_shows(seat_data, app, people, make, prog):  # noqa: F811
    """Each page part kept until the programme's data changes (cohort roster, cohort engagement,
    mentoring health, a candidate's mentor suggestions, the applications board, the candidate
    and session lists) shows the new names after a rename."""
    from d2w.mentoring import services as mentoring
    from tests.test_applications import start
    from tests.test_mentoring import _log_fields, _mentor_profile, _profile

    cohort_id = make.cohort("Kept pages")
    profile_id = make.enrol(cohort_id, people["candidate"])
    prog.sessions(cohort_id, weeks=1, title="Kept session")
    start(app, people)
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        mentor = _mentor_profile(admin, people["mentor"].id)
        assignment = mentoring.assign(admin, _profile(people["candidate"].id), mentor, is_primary=True)
        from datetime import timedelta

        from d2w.core.db import utcnow

        mentoring.add_log(
            db.session.get(User, people["mentor"].id),
            assignment,
            _log_fields(met_on=utcnow().date() - timedelta(weeks=10)),
        )
        db.session.commit()
    client = app.test_client()
    login(client, people["staff"].email)
    pages = {
        f"/cohorts/{cohort_id}": "Chidi Candidate",
        f"/milestones/cohorts/{cohort_id}": None,
        "/mentoring/health": "Meera Mentor",
        f"/mentoring/candidates/{profile_id}/match": "Meera Mentor",
        "/applications/": "Chidi Candidate",
        "/candidates/": "Chidi Candidate",
        "/sessions/?when=all": "Kept pages",
    }
    for path, shown in pages.items():
        for _ in range(2):  # drawn, then kept
            response = client.get(path)
            assert response.status_code == 200, path
            if shown:
                assert shown in response.get_data(as_text=True), path
    with app.app_context():
        for ref, name in ((people["candidate"], "Chidinma Candidate"), (people["mentor"], "Meera Mentor-Shah")):
            db.session.get(User, ref.id).name = name
        db.session.get(Cohort, cohort_id).name = "Kept pages, renamed"
        db.session.commit()
    renamed = {"Chidi Candidate": "Chidinma Candidate", "Meera Mentor": "Meera Mentor-Shah", "Kept pages": "renamed"}
    for path, shown in pages.items():
        if shown:
            assert renamed[shown] in client.get(path).get_data(as_text=True), path


def test_the_kept_seat_browser_follows_the_seat_data(seat_data, app, people):
    from d2w.seats.models import Seat

    client = app.test_client()
    login(client, people["candidate"].email)
    path = "/seats/?q=bristol+central"
    assert "Bristol Central" in client.get(path).get_data(as_text=True)
    before = _tokens(app)
    with app.app_context():
        seat = db.session.scalar(select(Seat).where(Seat.name == "Bristol Central"))
        seat.name, seat_id = "Bristol Central (renamed)", seat.id
        db.session.commit()
    try:
        assert _tokens(app)["seats"] != before["seats"] and _tokens(app)["programme"] == before["programme"]
        assert "Bristol Central (renamed)" in client.get(path).get_data(as_text=True)
    finally:  # the seat tables are shared by the tests that use them
        with app.app_context():
            db.session.get(Seat, seat_id).name = "Bristol Central"
            db.session.commit()


def test_the_kept_audit_log_shows_each_new_event_and_renamed_actor(app, people):
    admin = app.test_client()
    login(admin, people["admin"].email)
    assert "test.first" not in admin.get("/audit/").get_data(as_text=True)
    with app.app_context():
        audit.record(db.session.get(User, people["staff"].id), "test.first", summary="one")
        db.session.commit()
    page = admin.get("/audit/").get_data(as_text=True)
    assert "test.first" in page and "Sam Staff" in page
    other = app.test_client()
    login(other, people["mentor"].email)  # a sign-in is an audit event too
    assert "Meera Mentor" in admin.get("/audit/?action=auth.login").get_data(as_text=True)
    with app.app_context():
        db.session.get(User, people["staff"].id).name = "Samira Staff"
        db.session.commit()
    assert "Samira Staff" in admin.get("/audit/").get_data(as_text=True)


def test_an_sqlite_file_database_runs_in_write_ahead_log_mode(app):
    from tests.conftest import ON_POSTGRES

    if ON_POSTGRES:
        pytest.skip("an SQLite setting")
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_a_cohort_changed_while_its_page_is_drawn_is_not_kept_under_the_new_token(app, people, make, monkeypatch):
    """The view reads the tokens before the cohort: if another worker renames the cohort after
    this request loaded it, what this request draws is kept under the old token, and the next
    request draws the new name."""
    from d2w.cohorts import views as cohort_views

    cohort_id = make.cohort("Before the rename")
    make.enrol(cohort_id, people["candidate"])  # the kept roster's caption names the cohort
    client = app.test_client()
    login(client, people["staff"].email)
    loaded = cohort_views.get_cohort

    def load_then_rename_elsewhere(cid):
        cohort = loaded(cid)  # this request's copy, with the old name
        other = Session(bind=db.engine)
        other.get(Cohort, cid).name = "After the rename"
        other.commit()  # another worker's write, committed while this request draws
        other.close()
        return cohort

    monkeypatch.setattr(cohort_views, "get_cohort", load_then_rename_elsewhere)
    assert "Candidates in Before the rename" in client.get(f"/cohorts/{cohort_id}").get_data(as_text=True)
    monkeypatch.setattr(cohort_views, "get_cohort", loaded)
    assert "Candidates in After the rename" in client.get(f"/cohorts/{cohort_id}").get_data(as_text=True)


def test_a_savepoint_leaves_the_renewal_to_the_outermost_commit(app, people, make):
    cohort_id = make.cohort("Savepoint")
    before = _tokens(app)["programme"]
    with app.app_context():
        with db.session.begin_nested():
            db.session.get(Cohort, cohort_id).capacity = 11
        # the savepoint is released: nothing renewed yet, the write still marked
        renewed = db.session.scalar(
            select(generations.DataGeneration.token).where(generations.DataGeneration.topic == "programme")
        )
        assert renewed == before
        db.session.commit()
    assert _tokens(app)["programme"] != before


def test_the_least_recently_used_part_goes_first(app, people):
    cache = generations.GenerationCache(2)
    with app.test_request_context():
        cache.kept(("a",), lambda: "a")
        cache.kept(("b",), lambda: "b")
        assert cache.kept(("a",), lambda: "a again") == "a"  # used: now the most recent
        cache.kept(("c",), lambda: "c")  # "b" goes
        assert len(cache) == 2
        assert cache.kept(("a",), lambda: "a again") == "a"
        assert cache.kept(("b",), lambda: "b again") == "b again"


def test_signing_in_records_the_time_without_renewing_the_programme_token(app, people):
    """The time of last sign-in is shown by no kept part: a sign-in renews the audit token (its
    audit event) and not the programme's, so kept pages survive people signing in."""
    before = _tokens(app)
    login(app.test_client(), people["staff"].email)
    after = _tokens(app)
    assert after["programme"] == before["programme"] and after["audit"] != before["audit"]
    with app.app_context():
        assert db.session.get(User, people["staff"].id).last_login_at is not None
