"""Engagement pages at scale (issue #8): what the faster cohort, review and own-milestone pages
show, and that their queries stay the same few whatever the number of candidates and milestones."""

from __future__ import annotations

from sqlalchemy import select

from d2w.auth.models import User
from d2w.cohorts.models import HOLDS_PLACE, Cohort, Enrolment
from d2w.core.extensions import db
from d2w.engagement import services
from tests.conftest import login, page_queries
from tests.test_engagement import (
    _admin,
    _assign,
    _cohort,
    _log,
    _profile,
    _type,
    _type_id,
    _verify,
    seeded,  # noqa: F401 - the catalogue, for every test (autouse)
)

# Tables a page that shows names only must never read.
UNWANTED = ("FROM profile_languages",)


def _targets(app, people, cohort_id: int, wanted: dict[int, int]) -> None:
    with app.app_context():
        services.set_targets(_admin(people), db.session.get(Cohort, cohort_id), wanted)
        db.session.commit()


def test_cohort_progress_counts_only_targets_and_totals_every_verified_milestone(app, people):
    cohort_id = _cohort(app, people, "Speed cohort", [people["candidate"], people["candidate2"]])
    other_id = _cohort(app, people, "Other cohort", [people["candidate"]])
    with app.app_context():
        english, it = _type().id, _type("Running basic IT").id
    untargeted = _type_id(app, 5)
    assert untargeted not in (english, it)
    _targets(app, people, cohort_id, {english: 1, it: 2})
    for ref, type_id, reached in (
        (people["candidate"], english, 10),
        (people["candidate"], english, 5),  # over the target: counts once towards progress
        (people["candidate"], untargeted, 7),  # no target: in the totals, not in progress
        (people["candidate2"], it, 3),
    ):
        _verify(app, people, _log(app, ref, type_id=type_id, people_reached=reached, volunteers_recruited=1))
    _log(app, people["candidate2"], type_id=it, people_reached=100)  # awaiting verification: nowhere
    with app.app_context():
        progress = services.cohort_progress(db.session.get(Cohort, cohort_id))
        names = {people["candidate"].name: "1 of 3", people["candidate2"].name: "1 of 3"}
        assert {cp.profile.name: cp.overall.text for cp in progress.candidates} == names
        # Read like a profile, as the cohort report does.
        assert sorted(cp.profile.name for cp in progress.candidates) == sorted(names)
        assert [(tp.type.id, tp.progress.text) for tp in progress.by_type] == [(english, "1 of 2"), (it, "1 of 4")]
        assert progress.overall.text == "2 of 6"
        assert progress.totals == services.Totals(4, 25, 4)
        # Several cohorts at once: a candidate in both counts in each.
        totals = services.cohort_totals([cohort_id, other_id, 999_999])
        assert totals[cohort_id] == services.Totals(4, 25, 4)
        assert totals[other_id] == services.Totals(3, 22, 3)
        assert totals[999_999] == services.Totals()


def test_cohort_progress_leaves_out_candidates_without_a_place(app, people):
    cohort_id = _cohort(app, people, "Leavers cohort", [people["candidate"], people["candidate2"]])
    with app.app_context():
        english = _type().id
        enrolment = db.session.scalar(
            select(Enrolment).where(
                Enrolment.cohort_id == cohort_id, Enrolment.profile_id == _profile(people["candidate2"]).id
            )
        )
        enrolment.status = "withdrawn"
        db.session.commit()
    _targets(app, people, cohort_id, {english: 1})
    _verify(app, people, _log(app, people["candidate2"], type_id=english, people_reached=4))
    with app.app_context():
        progress = services.cohort_progress(db.session.get(Cohort, cohort_id))
        assert [cp.profile.name for cp in progress.candidates] == [people["candidate"].name]
        assert progress.totals == services.Totals()


def test_cohort_page_queries_do_not_grow_with_candidates_or_milestones(app, people, make):
    cohort_id = _cohort(app, people, "Growing cohort", [people["candidate"]])
    with app.app_context():
        english = _type().id
    _targets(app, people, cohort_id, {english: 2})
    client = app.test_client()
    login(client, people["staff"].email)
    path = f"/milestones/cohorts/{cohort_id}"
    few = page_queries(app, client, path)
    for i in range(6):
        make.enrol(cohort_id, make.user("candidate", name=f"Extra Candidate {i}"))
    for i in range(4):
        _verify(
            app,
            people,
            _log(
                app, people["candidate"], type_id=_type_id(app, i), evidence=None, evidence_url="https://example.org/x"
            ),
        )
    many = page_queries(app, client, path)
    # The data's tokens, the cohort, its targets with their types, the roster, the counts and the
    # totals; once drawn, the page is kept until the data changes: the tokens and the cohort.
    assert len(few) == len(many) == 6, many
    assert len(page_queries(app, client, path)) == 2
    assert not [q for q in many if any(t in q for t in UNWANTED)]
    page = client.get(path).get_data(as_text=True)
    assert page.count('class="progress-row"') == 1 + 1 + 7  # the cohort, one type, seven candidates


def test_review_counts_without_joins_and_filters_by_status_and_type(app, people):
    _assign(app, people, "mentor", "candidate")
    english_ids = [_log(app, people["candidate"]) for _ in range(2)]
    with app.app_context():
        it = _type("Running basic IT").id
    it_id = _log(app, people["candidate"], type_id=it)
    other = _log(app, people["candidate2"])
    _verify(app, people, english_ids[0])
    clients = {}
    for key in ("staff", "mentor"):
        clients[key] = app.test_client()
        login(clients[key], people[key].email)
    staff, mentor = clients["staff"], clients["mentor"]
    page = staff.get("/milestones/").get_data(as_text=True)
    assert "of 3" in page and f'/milestones/{english_ids[1]}"' in page and f'/milestones/{other}"' in page
    assert f'/milestones/{english_ids[0]}"' not in page  # verified: not awaiting
    page = staff.get(f"/milestones/?status=all&type={it}").get_data(as_text=True)
    assert "Showing 1–1 of 1" in page and f'/milestones/{it_id}"' in page
    page = mentor.get("/milestones/?status=all").get_data(as_text=True)
    assert "Showing 1–3 of 3" in page and f'/milestones/{other}"' not in page
    assert people["candidate"].name in page
    for client in (staff, mentor):
        queries = page_queries(app, client, "/milestones/?status=all&sort=candidate")
        # The data's tokens, the count (no joins) and the page (the types for the filter are kept
        # from the pages above); then the count and page too are kept until the data changes.
        assert len(queries) == 3, queries
        assert not [q for q in queries if "FROM milestone_types ORDER BY" in q]
        count = next(q for q in queries if "count(" in q.lower())
        assert "milestone_types" not in count and "JOIN users" not in count
        assert not [q for q in queries if any(t in q for t in UNWANTED)]
        assert len(page_queries(app, client, "/milestones/?status=all&sort=candidate")) == 1
    # a change shows at once: the mentor's count drops when a milestone is verified
    assert "Showing 1–2 of 2" in mentor.get("/milestones/?status=awaiting").get_data(as_text=True)
    _verify(app, people, english_ids[1])
    assert "Showing 1–1 of 1" in mentor.get("/milestones/?status=awaiting").get_data(as_text=True)


def test_own_milestones_page_counts_and_progress_in_every_cohort(app, people):
    first = _cohort(app, people, "First cohort", [people["candidate"]])
    second = _cohort(app, people, "Second cohort", [people["candidate"]])
    with app.app_context():
        english = _type().id
    _targets(app, people, first, {english: 2})
    _targets(app, people, second, {english: 1})
    _verify(app, people, _log(app, people["candidate"], type_id=english))
    _log(app, people["candidate"], type_id=english)
    client = app.test_client()
    login(client, people["candidate"].email)
    page = client.get("/milestones/mine").get_data(as_text=True)
    assert "1 awaiting verification, 0 returned to you, 1 verified." in page
    assert f'data-testid="progress-{first}-text">1 of 2 (50%)' in page
    assert f'data-testid="progress-{second}-text">1 of 1 (100%)' in page
    assert "Showing 1–2 of 2" in page
    few = page_queries(app, client, "/milestones/mine")
    for i in range(5):
        _log(app, people["candidate"], type_id=_type_id(app, i), evidence=None, evidence_url="https://example.org/x")
    third = _cohort(app, people, "Third cohort", [people["candidate"]])
    _targets(app, people, third, {english: 3})
    bare = _cohort(app, people, "Cohort with no targets", [people["candidate"]])
    many = page_queries(app, client, "/milestones/mine")
    # the profile with its counts, the page, and the cohorts with their targets
    assert len(few) == len(many) == 3, many
    assert not [q for q in many if any(t in q for t in UNWANTED)]
    with app.app_context():
        me = db.session.get(User, people["candidate"].id)
        member, counts, verified = services.own_counts(me)
        assert member == services.own_member(me)
        assert (counts, verified) == services.milestone_counts(member.id)
        assert sum(counts.values()) == 7 and counts["verified"] == 1 and verified == {english: 1}

        def shown(progress):
            return [(c.id, cp.overall, [(tp.type.id, tp.progress) for tp in cp.by_type]) for c, cp in progress]

        expected = services.candidate_progress_in(member, services.holding_cohorts(member.id), verified)
        assert shown(services.own_progress(member, verified)) == shown(expected)
        assert [c for c, _ in expected][-1].id in (first, second, third, bare) and len(expected) == 4
        assert any(c.id == bare and not cp.by_type for c, cp in services.own_progress(member, verified))
        # a candidate with nothing yet, and one whose profile is made on the way
        other = db.session.get(User, people["candidate2"].id)
        member, counts, verified = services.own_counts(other)
        assert (dict(counts), verified, services.own_progress(member, verified)) == ({}, {}, [])
        fresh = User(email="fresh@example.org", name="Fresh Candidate", role="candidate", password_hash="x")
        db.session.add(fresh)
        db.session.flush()
        member, counts, verified = services.own_counts(fresh)
        assert member.id == services.own_member(fresh).id and not counts


def test_progress_figures_carry_thousands_separators():
    from d2w.engagement.services import Progress

    assert Progress(done=639, target=2232).text == "639 of 2,232"


def test_own_milestone_statements_built_once_find_each_candidates_own(app, people):
    """A candidate's own milestones, counts and cohorts come from statements built once (per sort
    for the list): for two candidates in turn, every sort, direction and page, the same rows as
    the statements built with the candidate's own values."""
    from datetime import date, timedelta

    from sqlalchemy import func

    from d2w.core.db import read
    from d2w.core.pagination import Sort, apply_sort
    from d2w.engagement.models import Milestone, MilestoneType

    _cohort(app, people, "First own cohort", [people["candidate"], people["candidate2"]])
    _cohort(app, people, "Second own cohort", [people["candidate"]])
    for n in range(5):
        ref = people["candidate"] if n % 2 else people["candidate2"]
        _log(app, ref, type_id=_type_id(app, n), occurred_on=date.today() - timedelta(days=n % 3))
    _verify(app, people, _log(app, people["candidate"], type_id=_type_id(app, 1)))
    with app.app_context():
        pids = [_profile(people[r]).id for r in ("candidate", "candidate2", "candidate", "candidate2")]
        for pid in pids:
            old_cohorts = db.session.scalars(
                select(Cohort)
                .join(Enrolment, Enrolment.cohort_id == Cohort.id)
                .where(Enrolment.profile_id == pid, Enrolment.status.in_(HOLDS_PLACE))
                .order_by(Cohort.intake_start.desc(), Cohort.id)
            ).all()
            assert [c.id for c in services.holding_cohorts(pid)] == [c.id for c in old_cohorts]
            by_status, verified = services.milestone_counts(pid)
            rows = read(
                select(Milestone.status, Milestone.type_id, func.count())
                .where(Milestone.profile_id == pid)
                .group_by(Milestone.status, Milestone.type_id)
            ).all()
            assert sum(by_status.values()) == sum(n for _, _, n in rows)
            assert verified == {t: n for s, t, n in rows if s == "verified"}
            total = sum(by_status.values())
            assert total > 0
            for key in services.OWN_SORTS:
                for descending in (False, True):
                    sort = Sort(key, descending)
                    old = apply_sort(
                        select(
                            Milestone.id, MilestoneType.name, Milestone.place, Milestone.occurred_on, Milestone.status
                        )
                        .join(MilestoneType, MilestoneType.id == Milestone.type_id)
                        .where(Milestone.profile_id == pid),
                        sort,
                        services.OWN_SORTS,
                        Milestone.id.desc(),
                    )
                    for number in (1, 2):
                        shown = services.own_milestones(pid, total, sort, number, 2)
                        expected = read(old.limit(2).offset((shown.page - 1) * 2)).all()
                        assert shown.items
                        assert [(r.id, r.type_name, r.place, r.occurred_on, r.status) for r in shown.items] == [
                            tuple(e) for e in expected
                        ], (pid, key, descending, number)
