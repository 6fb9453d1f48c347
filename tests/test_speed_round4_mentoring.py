"""Mentoring pages, round 4 of issue #8: the statements built once per scope of the policy give
the rows the policy's own statements give, the list of mentors gives what the ORM gives, and a
pair's page shows what the policies allow, with a fixed number of queries."""

from __future__ import annotations

import re

from sqlalchemy import select

from d2w.auth.models import User
from d2w.core.db import utcnow
from d2w.core.extensions import db
from d2w.mentoring import policy
from d2w.mentoring import services as mentoring
from d2w.mentoring.models import ActionItem, MentorAssignment, MentoringLog, MentorProfile
from tests.conftest import page_queries
from tests.test_mentoring import _mentor_profile
from tests.test_speed_seats_mentoring import _client, _pairs

WHO = ("staff", "admin", "mentor", "mentor2", "candidate", "candidate2")


def test_scope_conditions_are_the_policys_rule(app, people, make):
    """Each actor's visible assignments and mentor accounts, through the statements built once
    (``pair_view``, the mentor's home, the candidate's page, the list of mentors), are those of
    ``policy.visible_assignments`` and ``policy.visible_mentor_users``."""
    a_id, b_id = _pairs(app, people, make)
    with app.app_context():
        all_ids = db.session.scalars(select(MentorAssignment.id)).all()
        assert {a_id, b_id} <= set(all_ids)
        for who in WHO:
            actor = db.session.get(User, people[who].id)
            visible = set(db.session.scalars(policy.visible_assignments(actor).with_only_columns(MentorAssignment.id)))
            assert {i for i in all_ids if mentoring.pair_view(actor, i) is not None} == visible, who
            active = set(
                db.session.scalars(
                    policy.visible_assignments(actor)
                    .with_only_columns(MentorAssignment.id)
                    .where(MentorAssignment.status == "active")
                )
            )
            if who != "candidate" and who != "candidate2":  # the home joins the mentor's profile
                assert {line.id for line in mentoring.mentor_home(actor)} == active, who
            if who not in ("mentor", "mentor2"):  # the candidate's page joins the mentor's profile
                lines, items = mentoring.candidate_mentoring(actor)
                assert {line.id for line in lines} == visible, who
                assert {i.id for i in items} == set(
                    db.session.scalars(
                        select(ActionItem.id).where(
                            ActionItem.assignment_id.in_(active),
                            ActionItem.owner == "candidate",
                            ActionItem.done_at.is_(None),
                        )
                    )
                ), who
            users = set(db.session.scalars(policy.visible_mentor_users(actor).with_only_columns(User.id)))
            page = mentoring.mentor_page(actor, 1, 1000)
            assert {r.id for r in page.items} == users and page.total == len(users), who
        assert visible == set()  # candidate2 sees nothing
        expected = {
            "staff": {a_id, b_id},
            "mentor": {a_id},
            "mentor2": {b_id},
            "candidate": {a_id, b_id},
        }
        for who, ids in expected.items():
            actor = db.session.get(User, people[who].id)
            assert {i for i in (a_id, b_id) if mentoring.pair_view(actor, i) is not None} == ids


def _orm_mentor_rows(actor) -> list[tuple]:
    users = db.session.scalars(policy.visible_mentor_users(actor)).all()
    users = sorted(users, key=lambda u: (u.name.lower(), u.id))
    out = []
    for u in users:
        p = db.session.scalar(select(MentorProfile).where(MentorProfile.user_id == u.id))
        if p is None:
            out.append((u.id, u.name, u.active, None, None, None, None, "", "", False))
        else:
            out.append(
                (
                    u.id,
                    u.name,
                    u.active,
                    p.id,
                    p.region,
                    p.capacity,
                    p.active_mentees,
                    ", ".join(p.skill_labels),
                    ", ".join(p.language_list),
                    p.active_mentees >= p.capacity,
                )
            )
    return out


def test_mentor_page_rows_equal_the_orm_profiles_on_every_page(app, people, make):
    extra = [
        make.user("mentor", name="aaron Early"),
        make.user("mentor", name="Zed Last", active=False),
        make.user("mentor", name="Mo <b>Markup</b>"),
        make.user("mentor", name="Nia No Profile"),
    ]
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        _mentor_profile(admin, people["mentor"].id, skills=["canvassing", "media_tv"], languages="Urdu, English")
        _mentor_profile(admin, extra[0].id, skills=[], languages="", region=None, capacity=0)  # full at 0
        _mentor_profile(admin, extra[1].id, skills=["fundraising"], languages="Polish & Welsh")
        _mentor_profile(admin, extra[2].id, capacity=1)
        db.session.commit()
        for who in ("staff", "mentor", "mentor2", "candidate"):
            actor = db.session.get(User, people[who].id)
            expected = _orm_mentor_rows(actor)
            got, n = [], 1
            while True:
                page = mentoring.mentor_page(actor, n, 2)
                got += [(*r, r.full) for r in page.items]
                assert page.total == len(expected)
                if not page.has_next:
                    break
                n += 1
            assert got == expected, who
            # a page past the end is the last page
            last = mentoring.mentor_page(actor, 99, 2)
            assert last.page == max(1, -(-len(expected) // 2))
        assert len(_orm_mentor_rows(db.session.get(User, people["staff"].id))) >= 6
        assert [r[0] for r in _orm_mentor_rows(db.session.get(User, people["mentor"].id))] == [people["mentor"].id]
        assert _orm_mentor_rows(db.session.get(User, people["candidate"].id)) == []


def test_mentors_page_shows_the_rows_in_three_queries(app, people, make):
    make.user("mentor", name="Mo <b>Markup</b>")
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        _mentor_profile(admin, people["mentor"].id, skills=["canvassing", "media_tv"], languages="Urdu, English")
        _mentor_profile(admin, people["mentor2"].id, capacity=0, skills=[], languages="")
        db.session.commit()
        mentor_name = people["mentor"].name
    staff = _client(app, people["staff"])
    # the data's tokens, the count, one page, the profiles' skills and languages; then kept
    # until the data changes
    assert len(page_queries(app, staff, "/mentoring/mentors")) == 4
    assert len(page_queries(app, staff, "/mentoring/mentors")) == 1
    html = staff.get("/mentoring/mentors").get_data(as_text=True)
    assert "Mo &lt;b&gt;Markup&lt;/b&gt;</a>" in html
    assert f">{mentor_name}</a>" in html
    assert "<td>Canvassing, Media and TV</td>" in html or "<td>Media and TV, Canvassing</td>" in html
    assert "<td>English, Urdu</td>" in html
    assert '0 of 0 <span class="tag tag-amber">Full</span>' in html
    assert html.count("No mentor profile yet") >= 1
    # a change to a profile is drawn at once
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        _mentor_profile(admin, people["mentor2"].id, capacity=3, skills=[], languages="Welsh")
        db.session.commit()
    assert len(page_queries(app, staff, "/mentoring/mentors")) == 4
    assert "<td>Welsh</td>" in staff.get("/mentoring/mentors").get_data(as_text=True)


def test_pair_page_marks_what_each_reader_may_do(app, people, make):
    """The 'Mark as done' buttons are exactly the items ``policy.can_complete_item`` allows the
    reader, the end form is staff's under an active pair, and the headings and item lines are
    written as before."""
    a_id, b_id = _pairs(app, people, make)
    today = utcnow().date()
    for who in ("staff", "mentor", "candidate", "mentor2"):
        client = _client(app, people[who])
        for assignment_id in (a_id, b_id):
            response = client.get(f"/mentoring/assignments/{assignment_id}")
            with app.app_context():
                actor = db.session.get(User, people[who].id)
                a = db.session.get(MentorAssignment, assignment_id)
                if mentoring.pair_view(actor, assignment_id) is None:
                    assert response.status_code == 404
                    continue
                assert response.status_code == 200
                html = response.get_data(as_text=True)
                items = db.session.scalars(select(ActionItem).where(ActionItem.assignment_id == assignment_id)).all()
                allowed = {i.id for i in items if policy.can_complete_item(actor, a, i)}
                shown = {int(x) for x in re.findall(r'action="/mentoring/actions/(\d+)/done"', html)}
                assert shown == allowed, (who, assignment_id)
                for i in items:
                    line = f'{i.description} <span class="muted small">({i.owner_label}, due {i.due_on.strftime("%-d %b %Y")})</span>'
                    assert line in html
                    assert (i.is_overdue(today)) <= ('<span class="tag tag-red">Overdue</span>' in html)
                for log in db.session.scalars(select(MentoringLog).where(MentoringLog.assignment_id == assignment_id)):
                    heading = f"{log.met_on.strftime('%-d %B %Y')} · {log.mode_label} · {log.duration_minutes} minutes"
                    assert f'<h3 id="log-{log.id}-heading">{heading}</h3>' in html
                has_end_form = f'action="/mentoring/assignments/{assignment_id}/end"' in html
                assert has_end_form == (who == "staff" and a.is_active)
    # the candidate marks their own open item done: it is no longer offered
    candidate = _client(app, people["candidate"])
    html = candidate.get(f"/mentoring/assignments/{a_id}").get_data(as_text=True)
    item_id = int(re.search(r'action="/mentoring/actions/(\d+)/done"', html).group(1))
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert candidate.post(f"/mentoring/actions/{item_id}/done", data={"csrf_token": token}).status_code == 302
    html = candidate.get(f"/mentoring/assignments/{a_id}").get_data(as_text=True)
    assert f'action="/mentoring/actions/{item_id}/done"' not in html


def test_mentoring_pages_query_counts(app, people, make):
    a_id, _ = _pairs(app, people, make)
    # the pair (one statement per scope); logs; items; staff notes or the mentor's private notes
    assert len(page_queries(app, _client(app, people["staff"]), f"/mentoring/assignments/{a_id}")) == 4
    assert len(page_queries(app, _client(app, people["mentor"]), "/mentoring/")) == 3
    assert len(page_queries(app, _client(app, people["candidate"]), "/mentoring/mine")) == 2
