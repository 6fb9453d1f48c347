"""Candidate profiles, pipeline stages, and self-declared sensitive answers with consent."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from d2w.audit.models import AuditEvent
from d2w.auth.models import User
from d2w.candidates import services
from d2w.candidates.models import CandidateProfile, ConsentRecord, SensitiveAnswer, StageChange
from d2w.core.errors import Conflict, DomainError, Forbidden
from d2w.core.extensions import db
from tests.conftest import count_queries, csrf_token, login


def _profile(app, ref) -> CandidateProfile:
    return services.profile_of(db.session.get(User, ref.id))


def _user(ref) -> User:
    return db.session.get(User, ref.id)


def test_every_candidate_account_has_one_profile(app, people):
    with app.app_context():
        assert _profile(app, people["candidate"]) is not None
        assert services.profile_of(_user(people["mentor"])) is None
        count = db.session.scalar(select(sa.func.count()).select_from(CandidateProfile))
        assert count == 2


def test_clean_languages():
    assert services.clean_languages("english;  Bengali, sylheti, English") == ["English", "Bengali", "Sylheti"]
    assert services.clean_languages("") == []
    with pytest.raises(DomainError):
        services.clean_languages("x" * 61)


def test_candidate_edits_own_profile(app, client, people):
    login(client, people["candidate"].email)
    response = client.get("/candidates/me")
    assert response.status_code == 302
    path = response.headers["Location"]
    pid = int(path.rstrip("/").split("/")[-1])
    token = csrf_token(client, f"/candidates/{pid}/edit")
    response = client.post(
        f"/candidates/{pid}/edit",
        data={
            "csrf_token": token,
            "version": "1",
            "phone": "07700 900123",
            "postcode": "e1 6an",
            "home_region": "London",
            "home_borough": "Tower Hamlets",
            "languages": "English, Bengali, Sylheti",
            "community_links": "Brick Lane mosque youth group",
            "is_councillor": "y",
        },
    )
    assert response.status_code == 302
    page = client.get(f"/candidates/{pid}").get_data(as_text=True)
    assert "Bengali, English, Sylheti" in page
    assert "E1 6AN" in page
    assert "Councillor" in page


def test_profile_edit_refuses_bad_region_and_stale_version(app, client, people):
    login(client, people["candidate"].email)
    with app.app_context():
        pid = _profile(app, people["candidate"]).id
    token = csrf_token(client, f"/candidates/{pid}/edit")
    response = client.post(
        f"/candidates/{pid}/edit",
        data={"csrf_token": token, "version": "1", "home_region": "Atlantis", "languages": ""},
    )
    assert response.status_code == 200
    assert "Not a valid choice" in response.get_data(as_text=True)
    response = client.post(
        f"/candidates/{pid}/edit",
        data={"csrf_token": token, "version": "0", "phone": "1", "languages": "", "home_region": ""},
    )
    assert response.status_code == 409
    assert "Somebody else changed this profile" in response.get_data(as_text=True)
    with app.app_context():
        assert _profile(app, people["candidate"]).phone is None


def test_profile_update_conflict_in_service(app, people):
    with app.app_context():
        profile = _profile(app, people["candidate"])
        with pytest.raises(Conflict):
            services.update_profile(_user(people["candidate"]), profile, services.ProfileChanges(), version=99)


def test_candidates_cannot_see_each_other(app, client, people):
    with app.app_context():
        other = _profile(app, people["candidate2"]).id
    login(client, people["candidate"].email)
    for path in (f"/candidates/{other}", f"/candidates/{other}/edit", f"/candidates/{other}/self-declared"):
        assert client.get(path).status_code == 404, path


def test_mentors_cannot_open_profiles_or_sensitive_data(app, client, people):
    with app.app_context():
        pid = _profile(app, people["candidate"]).id
    login(client, people["mentor"].email)
    for path in ("/candidates/", f"/candidates/{pid}/self-declared"):
        assert client.get(path).status_code == 403, path
    # Mentors may open their own mentees' profiles only: anyone else's is "not found".
    assert client.get(f"/candidates/{pid}").status_code == 404


def test_stage_change_keeps_history_and_audits(app, client, people):
    with app.app_context():
        pid = _profile(app, people["candidate"]).id
    login(client, people["staff"].email)
    token = csrf_token(client, f"/candidates/{pid}/stage")
    response = client.post(
        f"/candidates/{pid}/stage", data={"csrf_token": token, "stage": "approved_list", "reason": ""}
    )
    assert "Say why the stage is changing." in response.get_data(as_text=True)
    response = client.post(
        f"/candidates/{pid}/stage",
        data={"csrf_token": token, "stage": "approved_list", "reason": "Passed the assessment day"},
    )
    assert response.status_code == 302
    page = client.get(f"/candidates/{pid}").get_data(as_text=True)
    assert "Passed the assessment day" in page
    assert "by Sam Staff" in page
    with app.app_context():
        change = db.session.scalars(select(StageChange)).one()
        assert (change.from_stage, change.to_stage, change.changed_by_id) == (
            "prospective",
            "approved_list",
            people["staff"].id,
        )
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "candidate.stage_changed")).summary == (
            "Prospective → On the approved list"
        )


def test_candidates_cannot_change_their_own_stage(app, people):
    with app.app_context():
        me = _user(people["candidate"])
        with pytest.raises(Forbidden):
            services.change_stage(me, services.profile_of(me), "selected", "I say so")


def test_approved_list_needs_a_date_when_decided(app, client, people):
    with app.app_context():
        pid = _profile(app, people["candidate"]).id
    login(client, people["staff"].email)
    token = csrf_token(client, f"/candidates/{pid}/approved-list")
    response = client.post(f"/candidates/{pid}/approved-list", data={"csrf_token": token, "status": "approved"})
    assert "Enter the date of the decision." in response.get_data(as_text=True)
    response = client.post(
        f"/candidates/{pid}/approved-list", data={"csrf_token": token, "status": "approved", "decided_on": "2026-10-01"}
    )
    assert response.status_code == 302
    assert "Approved (1 October 2026)" in client.get(f"/candidates/{pid}").get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Sensitive answers


def test_answers_need_consent_and_record_it(app, people):
    with app.app_context():
        me = _user(people["candidate"])
        profile = services.profile_of(me)
        with pytest.raises(DomainError, match="consent"):
            services.record_sensitive(me, profile, "eu_ref_vote", "leave", consent=False)
        assert db.session.scalars(select(SensitiveAnswer)).all() == []
        services.record_sensitive(me, profile, "eu_ref_vote", "leave", consent=True)
        db.session.commit()
        consent = db.session.scalars(select(ConsentRecord)).one()
        assert (consent.field, consent.action, consent.entered_by_id) == ("eu_ref_vote", "given", me.id)
        assert consent.text_version


def test_prefer_not_to_say_is_distinct_from_not_answered(app, people):
    with app.app_context():
        me = _user(people["candidate"])
        profile = services.profile_of(me)
        services.record_sensitive(me, profile, "ethnic_group", "prefer_not_to_say", consent=True)
        view = services.read_sensitive(me, profile)
        assert view.answers["ethnic_group"] == "prefer_not_to_say"
        assert view.label("ethnic_group") == "Prefer not to say"
        assert view.answers["date_of_birth"] is None
        assert view.label("date_of_birth") == "Not answered"


@pytest.mark.parametrize(
    "field,value",
    [
        ("ethnic_group", "martian"),
        ("eu_ref_vote", "abstained"),
        ("date_of_birth", "yesterday"),
        ("date_of_birth", "2999-01-01"),
        ("religion", "x"),
    ],
)
def test_invalid_answers_are_refused(app, people, field, value):
    with app.app_context():
        me = _user(people["candidate"])
        with pytest.raises(DomainError):
            services.record_sensitive(me, services.profile_of(me), field, value, consent=True)


def test_database_refuses_invalid_sensitive_values(app, people):
    with app.app_context():
        me = _user(people["candidate"])
        profile = services.profile_of(me)
        answer = services.record_sensitive(me, profile, "eu_ref_vote", "remain", consent=True)
        db.session.commit()
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE sensitive_answers SET value = 'martian' WHERE id = :id"), {"id": answer.id})


def test_withdrawing_consent_clears_the_answer_and_keeps_the_record(app, people):
    with app.app_context():
        me = _user(people["candidate"])
        profile = services.profile_of(me)
        services.record_sensitive(me, profile, "date_of_birth", "1998-05-04", consent=True)
        assert services.withdraw_consent(me, profile, "date_of_birth") is True
        db.session.commit()
        assert db.session.scalars(select(SensitiveAnswer)).all() == []
        actions = [c.action for c in db.session.scalars(select(ConsentRecord).order_by(ConsentRecord.id))]
        assert actions == ["given", "withdrawn"]
        assert services.withdraw_consent(me, profile, "date_of_birth") is False


def test_candidate_saves_and_withdraws_through_the_page(app, client, people):
    login(client, people["candidate"].email)
    with app.app_context():
        pid = _profile(app, people["candidate"]).id
    path = f"/candidates/{pid}/self-declared"
    token = csrf_token(client, path)
    response = client.post(
        path,
        data={
            "csrf_token": token,
            "field": "eu_ref_vote",
            "eu_ref_vote-csrf_token": token,
            "eu_ref_vote-value": "remain",
            "eu_ref_vote-submit": "1",
        },
    )
    assert response.status_code == 400
    assert "Tick the consent box" in html.unescape(response.get_data(as_text=True))
    response = client.post(
        path,
        data={
            "field": "eu_ref_vote",
            "eu_ref_vote-csrf_token": token,
            "eu_ref_vote-value": "remain",
            "eu_ref_vote-consent": "y",
            "eu_ref_vote-submit": "1",
        },
    )
    assert response.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "<dd>Remain</dd>" in page
    response = client.post(
        path,
        data={
            "field": "date_of_birth",
            "date_of_birth-csrf_token": token,
            "date_of_birth-prefer_not": "y",
            "date_of_birth-consent": "y",
            "date_of_birth-submit": "1",
        },
    )
    assert response.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "<dd>Prefer not to say</dd>" in page
    response = client.post(path, data={"csrf_token": token, "field": "eu_ref_vote", "withdraw": "1"})
    assert response.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "<dd>Remain</dd>" not in page


def test_staff_reads_of_sensitive_data_are_audited_and_candidates_are_not(app, client, people):
    with app.app_context():
        me = _user(people["candidate"])
        profile = services.profile_of(me)
        services.record_sensitive(me, profile, "ethnic_group", "asian_bangladeshi", consent=True)
        db.session.commit()
        pid = profile.id
    login(client, people["candidate"].email)
    client.get(f"/candidates/{pid}/self-declared")
    staff = app.test_client()
    login(staff, people["staff"].email)
    page = staff.get(f"/candidates/{pid}/self-declared").get_data(as_text=True)
    assert "Bangladeshi" in page
    with app.app_context():
        views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sensitive.viewed")).all()
        assert [v.actor_id for v in views] == [people["staff"].id]
        # No event ever holds a value.
        dump = " ".join(e.summary for e in db.session.scalars(select(AuditEvent)))
        assert "bangladeshi" not in dump.lower()


def test_profile_page_does_not_show_sensitive_values(app, client, people):
    with app.app_context():
        me = _user(people["candidate"])
        profile = services.profile_of(me)
        services.record_sensitive(me, profile, "eu_ref_vote", "leave", consent=True)
        db.session.commit()
        pid = profile.id
    login(client, people["staff"].email)
    page = client.get(f"/candidates/{pid}").get_data(as_text=True)
    assert "Leave" not in page
    with app.app_context():
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sensitive.viewed")).all() == []


def test_age_on():
    from datetime import date

    assert services.age_on(date(2000, 11, 23), date(2026, 11, 22)) == 25
    assert services.age_on(date(2000, 11, 22), date(2026, 11, 22)) == 26


# ---------------------------------------------------------------------------------------------
# The list


def test_list_filters(app, client, people, make):
    cohort = make.cohort("North West BME")
    make.enrol(cohort, people["candidate"])
    make.enrol(make.cohort("Wales Young"), people["candidate2"])
    with app.app_context():
        p2 = _profile(app, people["candidate2"])
        p2.home_region = "Wales"
        p2.consecutive_absences = 3
        db.session.commit()
    login(client, people["staff"].email)
    page = client.get(f"/candidates/?cohort={cohort}").get_data(as_text=True)
    assert "Chidi Candidate" in page and "Cara Candidate" not in page
    with app.app_context():
        db.session.get(CandidateProfile, _profile(app, people["candidate2"]).id).stage = "prospective"
        db.session.commit()
    page = client.get("/candidates/?region=Wales").get_data(as_text=True)
    assert "Cara Candidate" in page and "Chidi Candidate" not in page
    page = client.get("/candidates/?at_risk=y").get_data(as_text=True)
    assert "Cara Candidate" in page and "Chidi Candidate" not in page
    page = client.get("/candidates/?stage=in_programme").get_data(as_text=True)
    assert "Chidi Candidate" in page and "Cara Candidate" not in page
    page = client.get("/candidates/?q=cara").get_data(as_text=True)
    assert "Cara Candidate" in page and "Chidi Candidate" not in page


def _bulk_candidates(app, cohort_id, n, start=0):
    """Insert many candidates quickly (no passwords), enrolled in a cohort."""
    from d2w.candidates.models import ProfileLanguage
    from d2w.cohorts.models import Cohort, Enrolment

    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        cohort.capacity = max(cohort.capacity, cohort.places_taken + n)
        for i in range(start, start + n):
            user = User(email=f"bulk{i}@example.org", name=f"Bulk Candidate {i:04d}", role="candidate")
            db.session.add(user)
            profile = CandidateProfile(user=user, home_region="London", languages=[ProfileLanguage(language="English")])
            db.session.add(profile)
            db.session.flush()
            db.session.add(Enrolment(cohort_id=cohort_id, profile_id=profile.id, status="active"))
        cohort.places_taken += n
        db.session.commit()


@pytest.mark.parametrize("path", ["/candidates/", "/candidates/?sort=stage&dir=desc&region=London"])
def test_candidate_list_query_count_is_fixed(app, client, people, make, path):
    cohort = make.cohort("Big cohort", capacity=1000)
    _bulk_candidates(app, cohort, 10)
    login(client, people["staff"].email)
    with count_queries(app) as few:
        assert client.get(path).status_code == 200
    _bulk_candidates(app, cohort, 490, start=10)
    with count_queries(app) as many:
        response = client.get(path)
        assert response.status_code == 200
    assert len(few) == len(many), (few, many)
    assert "Showing 1–25 of" in response.get_data(as_text=True)
