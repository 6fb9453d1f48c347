"""Mentoring: matching, assignments with database rules, logs with private notes, action items,
the mentor's home, the health page, reminders, and that a private note never leaks."""

from __future__ import annotations

import html
import threading
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from d2w.audit.models import AuditEvent
from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile
from d2w.core.db import utcnow
from d2w.core.errors import DomainError
from d2w.core.extensions import db
from d2w.mentoring import matching, services
from d2w.mentoring.models import ActionItem, MentorAssignment, MentoringLog, MentoringReminder, MentorProfile, StaffNote
from d2w.programme.skills import SKILL_LABELS
from tests.conftest import count_queries, login, post, run_at_once

# ---------------------------------------------------------------------------------------------
# The role matrix of mentoring's routes, in the same shape as MATRIX in test_access.py.
# The pair in mentoring_placeholders() is people["mentor2"] mentoring people["candidate2"]: so
# people["mentor"] (another mentor) and people["candidate"] (another candidate) get 404.

ROLES = ("anon", "candidate", "mentor", "staff", "admin")
L = "login"
H = "home"


def row(anon, candidate, mentor, staff, admin):
    return dict(zip(ROLES, (anon, candidate, mentor, staff, admin), strict=True))


MENTORING_MATRIX = {
    "mentoring.home": ("GET", "/mentoring/", row(L, 403, 200, 403, 403)),
    "mentoring.mine": ("GET", "/mentoring/mine", row(L, 200, 403, 403, 403)),
    "mentoring.health": ("GET", "/mentoring/health", row(L, 403, 403, 200, 200)),
    "mentoring.mentors": ("GET", "/mentoring/mentors", row(L, 403, 403, 200, 200)),
    "mentoring.edit_mentor": ("GET", "/mentoring/mentors/{mentor_user}/edit", row(L, 403, 404, 200, 200)),
    "mentoring.match": ("GET", "/mentoring/candidates/{profile}/match", row(L, 403, 403, 200, 200)),
    # An empty form: the page again with a message.
    "mentoring.assign": ("POST", "/mentoring/candidates/{profile}/assign", row(L, 403, 403, 400, 400)),
    "mentoring.assignment": ("GET", "/mentoring/assignments/{assignment}", row(L, 404, 404, 200, 200)),
    "mentoring.end": ("POST", "/mentoring/assignments/{assignment}/end", row(L, 403, 403, 302, 302)),
    "mentoring.new_log": ("GET", "/mentoring/assignments/{assignment}/logs/new", row(L, 403, 404, 403, 403)),
    "mentoring.staff_note": ("POST", "/mentoring/logs/{log}/staff-note", row(L, 403, 403, 400, 400)),
    "mentoring.complete_action": ("POST", "/mentoring/actions/{action}/done", row(L, 404, 404, 403, 403)),
}

MARKER = "PRIVATE-MARKER-7f3a9c"


def _profile(user_id: int) -> CandidateProfile:
    return db.session.scalar(select(CandidateProfile).where(CandidateProfile.user_id == user_id))


def _mentor_profile(admin, user_id: int, **over) -> MentorProfile:
    fields = services.MentorFields(
        region=over.get("region", "London"),
        skills=over.get("skills", ["media_tv", "canvassing"]),
        languages=over.get("languages", "English, Bengali"),
        capacity=over.get("capacity", 3),
        availability=over.get("availability", "Weekday evenings"),
    )
    return services.save_mentor_profile(admin, db.session.get(User, user_id), fields)


def _log_fields(**over) -> services.LogFields:
    values = {
        "met_on": utcnow().date() - timedelta(days=3),
        "duration_minutes": 45,
        "mode": "video",
        "summary": "Talked through the selection process and practised answers.",
        "private_note": None,
        "actions": [
            services.ActionFields("Draft a 2-minute speech", "candidate", utcnow().date() + timedelta(days=7)),
            services.ActionFields(
                "Introduce to the local association chair", "mentor", utcnow().date() - timedelta(days=1)
            ),
        ],
    }
    values.update(over)
    return services.LogFields(**values)


def mentoring_placeholders(app, people, private_note: str = MARKER) -> dict:
    """The objects MENTORING_MATRIX's paths name: {mentor_user} is people["mentor2"]'s user id;
    {assignment} pairs mentor2 with people["candidate2"]; {log} is a log of that pair with a
    private note (``private_note``), an action item owned by the candidate ({action}) and a
    staff note. {profile} (candidate2's profile) is shared with MATRIX."""
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        mentor_user = db.session.get(User, people["mentor2"].id)
        mentor = _mentor_profile(admin, mentor_user.id)
        _mentor_profile(admin, people["mentor"].id, region="North West", skills=["fundraising"], languages="English")
        profile = _profile(people["candidate2"].id)
        assignment = services.assign(admin, profile, mentor, is_primary=True)
        log = services.add_log(mentor_user, assignment, _log_fields(private_note=private_note))
        services.add_staff_note(admin, log, "Staff-only: follow up at the cohort review.")
        action = db.session.scalar(
            select(ActionItem).where(ActionItem.log_id == log.id, ActionItem.owner == "candidate")
        )
        db.session.commit()
        return {
            "mentor_user": mentor_user.id,
            "assignment": assignment.id,
            "log": log.id,
            "action": action.id,
            "profile": profile.id,
        }


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------------------------------------
# Matching: a pure function


def _offer(mentor_id, name, *, region="London", skills=(), languages=("English",), capacity=3, load=0):
    return matching.MentorOffer(
        mentor_id=mentor_id,
        name=name,
        region=region,
        skills=frozenset(skills),
        languages=frozenset(languages),
        capacity=capacity,
        load=load,
    )


def test_ranking_prefers_region_needed_skills_and_shared_languages_with_reasons():
    needs = matching.CandidateNeeds(
        region="London", languages=frozenset({"English", "Bengali"}), needed_skills=("media_tv", "canvassing")
    )
    mentors = [
        _offer(1, "Far Away", region="North West", skills=("fundraising",)),
        _offer(2, "Local Media", skills=("media_tv",), languages=("English", "bengali")),
        _offer(3, "Local Only"),
    ]
    ranked = matching.rank(needs, mentors, SKILL_LABELS)
    assert [s.mentor.name for s in ranked] == ["Local Media", "Local Only", "Far Away"]
    best = ranked[0]
    assert "Same region: London." in best.reasons
    assert "Covers skills the candidate still needs: Media and TV." in best.reasons
    assert "Also speaks bengali." in best.reasons
    assert "3 of 3 places free." in best.reasons
    assert not any("English" in r for r in best.reasons)  # a shared English is no reason


def test_focus_skills_outweigh_derived_needs_and_load_breaks_ties():
    needs = matching.CandidateNeeds(region=None, needed_skills=("canvassing",), focus_skills=("fundraising",))
    ranked = matching.rank(
        needs,
        [
            _offer(1, "Canvasser", skills=("canvassing",)),
            _offer(2, "Fundraiser", skills=("fundraising",)),
            _offer(3, "Busy Fundraiser", skills=("fundraising",), load=1),
        ],
        SKILL_LABELS,
    )
    # Busy Fundraiser and Canvasser score the same: the lighter load comes first.
    assert [(s.mentor.name, s.score) for s in ranked] == [("Fundraiser", 4), ("Canvasser", 3), ("Busy Fundraiser", 3)]
    assert "Covers the chosen focus: Fundraising." in ranked[0].reasons
    assert "Currently mentors 1." in ranked[2].reasons


def test_full_mentors_are_listed_last_and_unavailable():
    needs = matching.CandidateNeeds(region="London", needed_skills=("media_tv",))
    ranked = matching.rank(
        needs,
        [_offer(1, "Perfect But Full", skills=("media_tv",), capacity=2, load=2), _offer(2, "Free", region="Wales")],
    )
    assert [s.mentor.name for s in ranked] == ["Free", "Perfect But Full"]
    assert ranked[1].available is False
    assert "No spare place: mentoring 2 of 2." in ranked[1].reasons


def test_ethnicity_is_never_a_matching_input():
    fields = set(matching.CandidateNeeds.__dataclass_fields__)
    assert fields == {"region", "languages", "needed_skills", "focus_skills"}
    source = Path(matching.__file__).read_text()
    assert "flask" not in source.lower().replace("no flask", "")
    assert "ethnic_group" not in source and "eu_ref" not in source


# ---------------------------------------------------------------------------------------------
# Assignments: capacity and a single primary mentor, enforced by the database


def test_capacity_is_respected_and_released_when_an_assignment_ends(app, people, make):
    extra = make.user("candidate")
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        mentor = _mentor_profile(admin, people["mentor"].id, capacity=2)
        a1 = services.assign(admin, _profile(people["candidate"].id), mentor, is_primary=True)
        services.assign(admin, _profile(people["candidate2"].id), mentor, is_primary=True)
        assert mentor.active_mentees == 2
        with pytest.raises(DomainError, match="no spare place"):
            services.assign(admin, _profile(extra.id), mentor, is_primary=True)
        services.end_assignment(admin, a1, "Candidate moved region")
        assert mentor.active_mentees == 1
        services.assign(admin, _profile(extra.id), mentor, is_primary=True)
        with pytest.raises(DomainError, match="end an assignment before lowering"):
            _mentor_profile(admin, people["mentor"].id, capacity=1)
        db.session.commit()
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("mentoring.%"))).all()
        assert sorted(actions) == ["mentoring.assigned"] * 3 + ["mentoring.ended"]


def test_the_database_refuses_a_counter_past_capacity(app, people):
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        mentor = _mentor_profile(admin, people["mentor"].id, capacity=1)
        db.session.commit()
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.update(MentorProfile).where(MentorProfile.id == mentor.id).values(active_mentees=2))
            db.session.flush()
        db.session.rollback()


def test_one_active_primary_mentor_per_candidate(app, people):
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        m1 = _mentor_profile(admin, people["mentor"].id)
        m2 = _mentor_profile(admin, people["mentor2"].id)
        profile = _profile(people["candidate"].id)
        first = services.assign(admin, profile, m1, is_primary=True)
        with pytest.raises(DomainError, match="already has an active primary mentor"):
            services.assign(admin, profile, m2, is_primary=True)
        with pytest.raises(DomainError, match="already mentors"):
            services.assign(admin, profile, m1, is_primary=False)
        services.assign(admin, profile, m2, is_primary=False)  # an additional mentor is fine
        db.session.commit()
        # The database itself refuses a second active primary (a partial unique index).
        with pytest.raises(sa.exc.IntegrityError):
            db.session.add(MentorAssignment(mentor_id=m2.id, profile_id=profile.id, is_primary=True))
            db.session.flush()
        db.session.rollback()
        services.end_assignment(admin, db.session.get(MentorAssignment, first.id))
        services.assign(admin, profile, db.session.get(MentorProfile, m1.id), is_primary=True)  # ended ones don't count
        db.session.commit()


def _race(app, attempts):
    barrier = threading.Barrier(len(attempts))
    results: list[str] = []

    def run(fn):
        with app.app_context():
            try:
                barrier.wait()
                fn()
                db.session.commit()
                results.append("ok")
            except (DomainError, sa.exc.OperationalError, sa.exc.IntegrityError):
                db.session.rollback()
                results.append("refused")
            finally:
                db.session.remove()

    run_at_once(*(partial(run, fn) for fn in attempts))
    return sorted(results)


def test_two_staff_assigning_the_last_place_at_once_one_succeeds(app, people, make):
    staff2 = make.user("staff")
    with app.app_context():
        mentor_id = _mentor_profile(db.session.get(User, people["admin"].id), people["mentor"].id, capacity=1).id
        db.session.commit()

    def attempt(staff_id, candidate_id):
        def fn():
            actor = db.session.get(User, staff_id)
            services.assign(actor, _profile(candidate_id), db.session.get(MentorProfile, mentor_id), is_primary=True)

        return fn

    results = _race(
        app,
        [attempt(people["staff"].id, people["candidate"].id), attempt(staff2.id, people["candidate2"].id)],
    )
    assert results == ["ok", "refused"]
    with app.app_context():
        assert db.session.get(MentorProfile, mentor_id).active_mentees == 1
        assert _count(app, MentorAssignment) == 1


def test_two_staff_assigning_primary_mentors_to_one_candidate_at_once(app, people, make):
    staff2 = make.user("staff")
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        ids = [_mentor_profile(admin, people[k].id).id for k in ("mentor", "mentor2")]
        db.session.commit()

    def attempt(staff_id, mentor_id):
        def fn():
            actor = db.session.get(User, staff_id)
            profile = _profile(people["candidate"].id)
            services.assign(actor, profile, db.session.get(MentorProfile, mentor_id), is_primary=True)

        return fn

    results = _race(app, [attempt(people["staff"].id, ids[0]), attempt(staff2.id, ids[1])])
    assert results == ["ok", "refused"]
    with app.app_context():
        assert sum(db.session.get(MentorProfile, i).active_mentees for i in ids) == 1
        assert db.session.scalar(select(func.count()).where(MentorAssignment.status == "active")) == 1


# ---------------------------------------------------------------------------------------------
# Logs, private notes, staff notes and action items


def test_only_the_author_reads_a_private_note(app, client, people):
    ids = mentoring_placeholders(app, people)
    path = f"/mentoring/assignments/{ids['assignment']}"
    login(client, people["mentor2"].email)
    page = _text(client.get(path))
    assert MARKER in page and "subject access request" in page
    assert "Staff-only: follow up" not in page  # staff notes are for staff
    for who in ("candidate2", "staff", "admin"):
        c = app.test_client()
        login(c, people[who].email)
        page = _text(c.get(path))
        assert "Talked through the selection process" in page
        assert MARKER not in page, who
        assert ("Staff-only: follow up" in page) == (who in ("staff", "admin"))
    with app.app_context():  # nobody but the author can be handed the note by the service
        admin = db.session.get(User, people["admin"].id)
        assert services.private_notes_for(admin, [ids["log"]]) == {}
        assert services.private_notes_for(db.session.get(User, people["mentor2"].id), [ids["log"]]) == {
            ids["log"]: MARKER
        }


def test_candidate_sees_summary_and_items_and_marks_their_own_done(app, client, people):
    ids = mentoring_placeholders(app, people)
    login(client, people["candidate2"].email)
    page = _text(client.get("/mentoring/mine"))
    assert "Draft a 2-minute speech" in page
    assert "Introduce to the local association chair" not in page  # the mentor's item is not "theirs"
    response = post(client, f"/mentoring/actions/{ids['action']}/done", {"back": "mine"}, token_from="/mentoring/mine")
    assert response.status_code == 302 and response.headers["Location"] == "/mentoring/mine"
    assert "You have no open action items." in _text(client.get("/mentoring/mine"))
    with app.app_context():
        item = db.session.get(ActionItem, ids["action"])
        assert item.done_by_id == people["candidate2"].id
        mentor_item = db.session.scalar(select(ActionItem).where(ActionItem.owner == "mentor"))
    # The candidate may not tick the mentor's item, and nothing changes.
    post(client, f"/mentoring/actions/{mentor_item.id}/done", token_from="/mentoring/mine")
    with app.app_context():
        assert db.session.get(ActionItem, mentor_item.id).done_at is None


def test_mentor_b_gets_404_for_mentor_a_mentees_and_logs(app, client, people):
    ids = mentoring_placeholders(app, people)
    login(client, people["mentor"].email)
    for path in (
        f"/mentoring/assignments/{ids['assignment']}",
        f"/mentoring/assignments/{ids['assignment']}/logs/new",
        f"/candidates/{ids['profile']}",
        f"/mentoring/mentors/{ids['mentor_user']}/edit",
    ):
        assert client.get(path).status_code == 404, path
    assert post(client, f"/mentoring/actions/{ids['action']}/done").status_code == 404


def test_mentor_sees_a_reduced_profile_of_their_mentee(app, client, people):
    ids = mentoring_placeholders(app, people)
    with app.app_context():
        profile = db.session.get(CandidateProfile, ids["profile"])
        profile.postcode = "E1 6AN"
        db.session.commit()
    login(client, people["mentor2"].email)
    response = client.get(f"/candidates/{ids['profile']}")
    assert response.status_code == 200
    page = _text(response)
    assert people["candidate2"].name in page
    for hidden in ("Edit profile", "Self-declared", "Change stage", "Stage history", "E1 6AN", "/self-declared"):
        assert hidden not in page, hidden
    assert client.get(f"/candidates/{ids['profile']}/self-declared").status_code == 403
    assert client.get(f"/candidates/{ids['profile']}/edit").status_code == 403
    # Once the assignment ends, the profile is gone for the mentor.
    login(app.test_client(), people["staff"].email)
    staff = app.test_client()
    login(staff, people["staff"].email)
    post(staff, f"/mentoring/assignments/{ids['assignment']}/end", {"reason": "Finished"})
    assert client.get(f"/candidates/{ids['profile']}").status_code == 404


def test_staff_assign_from_the_match_page_and_end(app, client, people):
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        mentor = _mentor_profile(admin, people["mentor"].id)
        profile = _profile(people["candidate"].id)
        profile.home_region = "London"
        db.session.commit()
        mentor_id, profile_id = mentor.id, profile.id
    login(client, people["staff"].email)
    page = _text(client.get(f"/mentoring/candidates/{profile_id}/match"))
    assert "Same region: London." in page and "Meera Mentor" in page
    response = post(client, f"/mentoring/candidates/{profile_id}/assign", {"mentor": str(mentor_id), "is_primary": "y"})
    assert response.status_code == 302
    assignment_id = int(response.headers["Location"].rsplit("/", 1)[1])
    response = post(client, f"/mentoring/assignments/{assignment_id}/end", {"reason": "Paused"})
    assert response.status_code == 302
    with app.app_context():
        a = db.session.get(MentorAssignment, assignment_id)
        assert a.status == "ended" and a.end_reason == "Paused"
        assert db.session.get(MentorProfile, mentor_id).active_mentees == 0


# ---------------------------------------------------------------------------------------------
# Bad input on every form: a clear message at the field, and nothing changes


def _log_form(**over):
    data = {
        "met_on": (utcnow().date() - timedelta(days=1)).isoformat(),
        "duration_minutes": "60",
        "mode": "phone",
        "summary": "We spoke.",
        "private_note": "",
    }
    for i in range(3):
        data.update({f"actions-{i}-description": "", f"actions-{i}-owner": "", f"actions-{i}-due_on": ""})
    data.update(over)
    return data


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"met_on": ""}, "Enter the date you met"),
        ({"met_on": "2999-01-01"}, "cannot be in the future"),
        ({"duration_minutes": "0"}, "from 5 to 600"),
        ({"duration_minutes": "lots"}, "from 5 to 600"),
        ({"mode": "carrier pigeon"}, "Not a valid choice"),
        ({"summary": "   "}, "Write a summary"),
        ({"summary": "x" * 4001}, "under 4,000 characters"),
        (
            {"actions-0-description": "Do it", "actions-0-owner": "", "actions-0-due_on": "2030-01-01"},
            "Choose who owns",
        ),
        ({"actions-1-description": "Do it", "actions-1-owner": "mentor"}, "Enter a due date"),
        ({"actions-2-due_on": "2030-01-01"}, "Describe the action"),
        ({"actions-0-due_on": "not a date", "actions-0-description": "x", "actions-0-owner": "mentor"}, "date"),
    ],
)
def test_bad_log_input_changes_nothing(app, client, people, over, message):
    ids = mentoring_placeholders(app, people)
    before = _count(app, MentoringLog), _count(app, ActionItem)
    login(client, people["mentor2"].email)
    path = f"/mentoring/assignments/{ids['assignment']}/logs/new"
    response = post(client, path, _log_form(**over), token_from=path)
    assert response.status_code == 400
    page = _text(response)
    assert message in page and "There is a problem" in page
    assert (_count(app, MentoringLog), _count(app, ActionItem)) == before


def test_a_good_log_with_two_actions(app, client, people):
    ids = mentoring_placeholders(app, people)
    login(client, people["mentor2"].email)
    path = f"/mentoring/assignments/{ids['assignment']}/logs/new"
    data = _log_form(
        private_note="Second note",
        **{
            "actions-0-description": "Book a media slot",
            "actions-0-owner": "candidate",
            "actions-0-due_on": "2030-01-01",
            "actions-2-description": "Send contacts",
            "actions-2-owner": "mentor",
            "actions-2-due_on": "2030-02-01",
        },
    )
    response = post(client, path, data, token_from=path)
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ActionItem)) == 4


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"capacity": "", "region": ""}, "Enter a number from 0 to 20"),
        ({"capacity": "21"}, "Enter a number from 0 to 20"),
        ({"capacity": "2", "region": "Atlantis"}, "Not a valid choice"),
        ({"capacity": "2", "skills": ["astrology"]}, "Choose skill areas from the list"),
        ({"capacity": "2", "availability": "x" * 501}, "under 500 characters"),
        ({"capacity": "2", "languages": "x" * 61}, "too long for a language name"),
    ],
)
def test_bad_mentor_profile_input_changes_nothing(app, client, people, data, message):
    login(client, people["staff"].email)
    path = f"/mentoring/mentors/{people['mentor'].id}/edit"
    response = post(client, path, data, token_from=path)
    assert response.status_code == 400
    assert message in _text(response)
    assert _count(app, MentorProfile) == 0


def test_mentor_edits_their_own_profile(app, client, people):
    login(client, people["mentor"].email)
    path = f"/mentoring/mentors/{people['mentor'].id}/edit"
    data = {"region": "Wales", "skills": ["leading", "media_tv"], "languages": "English, Welsh", "capacity": "4"}
    assert post(client, path, data, token_from=path).status_code == 302
    with app.app_context():
        p = db.session.scalar(select(MentorProfile))
        assert (p.region, p.skill_list, p.language_list, p.capacity) == (
            "Wales",
            ["leading", "media_tv"],
            ["English", "Welsh"],
            4,
        )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose a mentor."),
        ({"mentor": "999999"}, "Choose a mentor from the list."),
        ({"mentor": "x"}, "Choose a mentor from the list."),
    ],
)
def test_bad_assign_input_changes_nothing(app, client, people, data, message):
    ids = mentoring_placeholders(app, people)
    before = _count(app, MentorAssignment)
    login(client, people["staff"].email)
    response = post(client, f"/mentoring/candidates/{ids['profile']}/assign", data)
    assert response.status_code == 400
    assert message in _text(response)
    assert _count(app, MentorAssignment) == before


def test_a_second_primary_from_the_form_is_refused_at_the_field(app, client, people):
    ids = mentoring_placeholders(app, people)
    with app.app_context():
        other = db.session.scalar(select(MentorProfile).where(MentorProfile.user_id == people["mentor"].id))
    login(client, people["staff"].email)
    response = post(
        client, f"/mentoring/candidates/{ids['profile']}/assign", {"mentor": str(other.id), "is_primary": "y"}
    )
    assert response.status_code == 400
    assert "already has an active primary mentor" in _text(response)
    assert _count(app, MentorAssignment) == 1


@pytest.mark.parametrize(("body", "message"), [("", "Write the note."), ("x" * 4001, "under 4,000 characters")])
def test_bad_staff_note_changes_nothing(app, client, people, body, message):
    ids = mentoring_placeholders(app, people)
    login(client, people["staff"].email)
    response = post(client, f"/mentoring/logs/{ids['log']}/staff-note", {f"log{ids['log']}-body": body})
    assert response.status_code == 400
    assert message in _text(response)
    assert _count(app, StaffNote) == 1


def test_staff_note_is_added_and_audited(app, client, people):
    ids = mentoring_placeholders(app, people)
    login(client, people["staff"].email)
    response = post(client, f"/mentoring/logs/{ids['log']}/staff-note", {f"log{ids['log']}-body": "Checked in."})
    assert response.status_code == 302
    assert _count(app, StaffNote) == 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "mentoring.staff_note")) == 2


def test_bad_end_reason_changes_nothing(app, client, people):
    ids = mentoring_placeholders(app, people)
    login(client, people["staff"].email)
    response = post(client, f"/mentoring/assignments/{ids['assignment']}/end", {"reason": "x" * 300})
    assert response.status_code == 302
    assert "under 255 characters" in _text(client.get(response.headers["Location"]))
    with app.app_context():
        assert db.session.get(MentorAssignment, ids["assignment"]).status == "active"


# ---------------------------------------------------------------------------------------------
# The mentor's home, the health page and their query counts


def _pairs(app, people, make, n: int, *, mentor_key="mentor"):
    """n more mentees for one mentor, each with an old log and an overdue action item."""
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        mentor_user = db.session.get(User, people[mentor_key].id)
        mentor = services.mentor_profile_of(mentor_user) or _mentor_profile(admin, mentor_user.id, capacity=20)
        from d2w.users import services as users

        for _ in range(n):
            make.n += 1
            user = users.create_user(
                admin, email=f"mentee{make.n}@example.org", name=f"Mentee {make.n:03d}", role="candidate"
            )
            a = services.assign(admin, _profile(user.id), mentor, is_primary=True)
            services.add_log(
                mentor_user,
                a,
                _log_fields(met_on=utcnow().date() - timedelta(weeks=10), private_note=f"note {make.n}"),
            )
        db.session.commit()


def test_mentor_home_shows_last_contact_next_step_overdue_and_lapse(app, client, people, make):
    _pairs(app, people, make, 1)
    login(client, people["mentor"].email)
    page = _text(client.get("/home"))
    assert "Mentee" in page and "No contact for 6+ weeks" in page
    assert "1 overdue" in page and "Draft a 2-minute speech" in page
    assert "note " not in page  # private notes are on the pair's page only


def test_lapse_weeks_is_a_setting(app, client, people, make):
    _pairs(app, people, make, 1)
    app.config["MENTORING_LAPSE_WEEKS"] = 12
    login(client, people["mentor"].email)
    assert "No contact for 12+ weeks" not in _text(client.get("/mentoring/"))


def test_mentor_home_query_count_does_not_grow(app, client, people, make):
    _pairs(app, people, make, 2)
    login(client, people["mentor"].email)
    with count_queries(app) as few:
        assert client.get("/mentoring/").status_code == 200
    _pairs(app, people, make, 12)
    with count_queries(app) as many:
        assert client.get("/mentoring/").status_code == 200
    assert len(few) == len(many)


def test_health_page_and_its_query_count(app, client, people, make):
    _pairs(app, people, make, 2)
    login(client, people["staff"].email)
    with count_queries(app) as few:
        response = client.get("/mentoring/health")
    page = _text(response)
    assert response.status_code == 200
    assert "No contact in 6 weeks" in page and "Overdue action items (2)" in page
    assert "note " not in page
    _pairs(app, people, make, 15)
    with count_queries(app) as many:
        assert client.get("/mentoring/health").status_code == 200
    assert len(few) == len(many)
    # Mentors' skills and languages and candidates' languages are not loaded for this page (the
    # benchmark found them costing 8 extra queries at scale).
    assert not [
        q for q in many if "FROM mentor_skills" in q or "FROM profile_languages" in q or "FROM mentor_languages" in q
    ]


def test_health_lists_mentors_at_capacity(app, client, people):
    mentoring_placeholders(app, people)
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        _mentor_profile(admin, people["mentor2"].id, capacity=1)
        db.session.commit()
    login(client, people["staff"].email)
    page = _text(client.get("/mentoring/health"))
    assert "Marcus Mentor</a>: 1 of 1" in page


# ---------------------------------------------------------------------------------------------
# Reminders


def test_remind_command_sends_once_a_day_and_holds_no_notes(app, people, make, outbox):
    _pairs(app, people, make, 2)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["d2w", "mentoring", "remind"])
    assert result.exit_code == 0, result.output
    assert "Sent 1 reminder e-mail(s)" in result.output
    messages = outbox()
    assert len(messages) == 1 and messages[0]["To"] == people["mentor"].email
    body = messages[0].get_content()
    assert "no session logged" not in body and "last contact" in body and "1 overdue item" in body
    assert "note" not in body.lower() and "Draft a 2-minute" not in body and "selection process" not in body
    assert _count(app, MentoringReminder) == 4  # two lapsed pairs, two overdue items
    result = runner.invoke(args=["d2w", "mentoring", "remind"])
    assert "Sent 0 reminder e-mail(s)" in result.output
    assert len(outbox()) == 1
    with app.app_context():  # the database refuses a duplicate too
        r = db.session.scalar(select(MentoringReminder))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.add(
                MentoringReminder(mentor_id=r.mentor_id, kind=r.kind, subject_id=r.subject_id, sent_on=r.sent_on)
            )
            db.session.flush()
        db.session.rollback()


# ---------------------------------------------------------------------------------------------
# The leak test: a private note's marker is in no response any other user can get


def _get_paths(app, ids: dict) -> list[str]:
    """Every GET route in the app, with its parameters filled with real objects' ids."""
    from tests.test_access import MATRIX

    paths = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        if rule.endpoint in MATRIX and MATRIX[rule.endpoint][0] == "GET":
            paths.add(MATRIX[rule.endpoint][1].format(**ids))
        else:  # a route not yet in MATRIX: build it from its own arguments
            values = {arg: ids.get(arg.removesuffix("_id"), 1) for arg in rule.arguments}
            with app.test_request_context():
                from flask import url_for

                paths.add(url_for(rule.endpoint, **values))
    # Searches and filtered lists, with the start of the marker as the query (a page echoes its
    # query; a leak would show the whole marker).
    start = MARKER[:14]
    paths.update({f"/candidates/?q={start}", f"/users/?q={start}", "/sessions/?when=all", "/audit/"})
    return sorted(paths)


def test_a_private_note_never_leaks(seat_data, app, people, make):
    from tests.test_access import ROLES as ALL_ROLES
    from tests.test_programme import programme_placeholders

    cohort_id = make.cohort("Leak cohort")
    make.enrol(cohort_id, people["candidate2"])
    ids = {"other": people["candidate2"].id, "cohort": cohort_id}
    ids.update(programme_placeholders(app, people, cohort_id))
    ids.update(mentoring_placeholders(app, people))
    from tests.test_engagement import engagement_placeholders

    ids.update(engagement_placeholders(app, people, cohort_id))
    from tests.test_applications import applications_placeholders
    from tests.test_dashboard import dashboard_placeholders
    from tests.test_reports import reports_placeholders
    from tests.test_seatfit import seatfit_placeholders
    from tests.test_seats import seats_placeholders

    ids.update(seats_placeholders(app, people))
    ids.update(seatfit_placeholders(app, people, cohort_id))
    ids.update(applications_placeholders(app, people, cohort_id))
    ids.update(reports_placeholders(app, people, cohort_id))
    ids.update(dashboard_placeholders(app, people, cohort_id))
    with app.app_context():
        from d2w.auth.models import UserSession
        from d2w.cohorts.models import Enrolment

        ids["enrolment"] = db.session.scalar(select(Enrolment.id))
        ids["other_session"] = db.session.scalar(select(UserSession.id)) or 1
        ids["session_id"] = ids["session"]
        ids["user"] = people["candidate2"].id
        ids["profile_id"] = ids["profile"]
    paths = _get_paths(app, ids)
    assert len(paths) > 30
    # The author sees it: the marker is really in the database and on their page.
    author = app.test_client()
    login(author, people["mentor2"].email)
    assert MARKER in _text(author.get(f"/mentoring/assignments/{ids['assignment']}"))
    others = ["mentor", "candidate", "candidate2", "staff", "admin", "anon"]
    assert set(ALL_ROLES) <= set(others)
    checked = 0
    for who in others:
        c = app.test_client()
        if who != "anon":
            assert login(c, people[who].email).status_code == 302
        for path in paths:
            response = c.get(path)
            # PDFs are binary (their text is checked with pdftotext in test_reports.py).
            assert MARKER.encode() not in response.get_data(), (who, path)
            checked += 1
            response.close()
    assert checked == len(paths) * len(others)
