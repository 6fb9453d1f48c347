"""Mentoring pages at scale (issue #8): what the faster health and match pages show, and that no
mentoring page's query count grows with the number of mentors, pairs, logs or action items."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile, ProfileLanguage
from d2w.candidates.policy import visible_profiles
from d2w.core.db import utcnow
from d2w.core.extensions import db
from d2w.mentoring import services
from d2w.mentoring.models import ActionItem, MentorAssignment, MentorProfile
from tests.conftest import count_queries, login, page_queries
from tests.test_mentoring import _log_fields, _mentor_profile, _profile, _text, mentoring_placeholders

# Queries a page must never need: the profiles' skills and languages (loaded with the ORM objects
# by default) on pages that show only names.
PROFILE_CHILDREN = ("FROM mentor_skills", "FROM mentor_languages", "FROM profile_languages")


def _children(queries: list[str]) -> list[str]:
    return [q for q in queries if any(table in q for table in PROFILE_CHILDREN)]


def _mentee(app, make, people, mentor_key: str, name: str, *, started_weeks_ago: int = 1, met_weeks_ago=(), note=""):
    """A candidate paired with the mentor, started some weeks ago, with a log per entry of
    ``met_weeks_ago`` (each with an open action item overdue since yesterday and one due next
    week). Returns the assignment id."""
    candidate = make.user("candidate", name=name)
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        mentor_user = db.session.get(User, people[mentor_key].id)
        mentor = services.mentor_profile_of(mentor_user) or _mentor_profile(admin, mentor_user.id, capacity=20)
        a = services.assign(admin, _profile(candidate.id), mentor, is_primary=True)
        a.started_at = utcnow() - timedelta(weeks=started_weeks_ago)
        db.session.flush()
        for weeks in met_weeks_ago:
            log = services.add_log(
                mentor_user,
                a,
                _log_fields(met_on=utcnow().date() - timedelta(weeks=weeks), private_note=note or None),
            )
            services.add_staff_note(admin, log, f"Staff note on {name}.")
        db.session.commit()
        return a.id


# ---------------------------------------------------------------------------------------------
# The health page


def test_health_lists_lapsed_pairs_never_met_first_then_oldest_contact(app, client, people, make):
    _mentee(app, make, people, "mentor", "Recent Rita", met_weeks_ago=[1])
    _mentee(app, make, people, "mentor", "Eight Ed", met_weeks_ago=[30, 8])
    _mentee(app, make, people, "mentor", "Twelve Tom", met_weeks_ago=[12])
    _mentee(app, make, people, "mentor", "Never Nia", started_weeks_ago=20)
    _mentee(app, make, people, "mentor", "New Ned")  # started a week ago: not lapsed yet
    login(client, people["staff"].email)
    page = _text(client.get("/mentoring/health"))
    lapsed = page[page.index("No contact in 6 weeks") : page.index("Overdue action items")]
    names = re.findall(r"Meera Mentor and (\w+ \w+)</a>", lapsed)
    assert names == ["Never Nia", "Twelve Tom", "Eight Ed"]
    assert "no session logged since" in lapsed and "last contact" in lapsed
    # the sessions-per-pair table lists every active pair by candidate name
    table = page[page.index("Sessions per pair per month") :]
    assert re.findall(r">(\w+ \w+)</a> <span class=\"muted small\">with Meera Mentor", table) == [
        "Eight Ed",
        "Never Nia",
        "New Ned",
        "Recent Rita",
        "Twelve Tom",
    ]


def test_health_counts_only_open_overdue_items_of_active_pairs(app, client, people, make):
    first = _mentee(app, make, people, "mentor", "Ann One", met_weeks_ago=[2])
    _mentee(app, make, people, "mentor", "Ben Two", met_weeks_ago=[3])
    ended = _mentee(app, make, people, "mentor", "Cat Three", met_weeks_ago=[4])
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        services.end_assignment(admin, db.session.get(MentorAssignment, ended))
        item = db.session.scalar(
            select(ActionItem).where(ActionItem.assignment_id == first, ActionItem.owner == "mentor")
        )
        item.done_at, item.done_by_id = utcnow(), people["mentor"].id
        db.session.commit()
    login(client, people["staff"].email)
    page = _text(client.get("/mentoring/health"))
    assert "Overdue action items (1)" in page
    overdue = page[page.index("Overdue action items") : page.index("Mentors at or over capacity")]
    assert "Meera Mentor and Ben Two</a>: Introduce to the local association chair" in overdue
    assert "Ann One" not in overdue and "Cat Three" not in overdue


def test_health_query_count_is_fixed_whatever_the_programme_size(app, client, people, make):
    _mentee(app, make, people, "mentor", "Solo Sam", met_weeks_ago=[10])
    login(client, people["staff"].email)
    with count_queries(app) as few:
        assert client.get("/mentoring/health").status_code == 200
    for i in range(30):  # more than a page of pairs, lapsed and overdue, and a full mentor
        _mentee(app, make, people, "mentor2" if i % 2 else "mentor", f"Mentee N{i:02d}", met_weeks_ago=[10, 9])
    with app.app_context():
        mentor = services.mentor_profile_of(db.session.get(User, people["mentor2"].id))
        mentor.capacity = mentor.active_mentees
        db.session.commit()
    with count_queries(app) as many:
        response = client.get("/mentoring/health")
    assert response.status_code == 200 and "Marcus Mentor</a>: 15 of 15" in _text(response)
    with count_queries(app) as second_page:
        assert client.get("/mentoring/health?page=2").status_code == 200
    assert len(few) == len(many) == len(second_page)
    assert not _children(many)


# ---------------------------------------------------------------------------------------------
# The match page


def _mentors(app, make, people, n: int) -> None:
    users = [make.user("mentor", name=f"Extra Mentor {make.n + 1:03d}") for _ in range(n)]
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        for i, user in enumerate(users):
            _mentor_profile(
                admin,
                user.id,
                region="London" if i % 3 else "Wales",
                skills=["media_tv"] if i % 2 else ["fundraising", "canvassing"],
                languages="English, Polish" if i % 4 else "English",
                capacity=0 if i % 5 == 0 else 2,  # some are full
            )
        db.session.commit()


def _suggested(page: str) -> list[str]:
    listing = page[page.index("Suggested mentors") : page.index("Assign a mentor")]
    return re.findall(r"<h3>([^<]+?)(?: <span|</h3>)", listing)


def test_match_page_describes_the_best_20_and_every_mentor_on_request(app, client, people, make):
    mentoring_placeholders(app, people)
    _mentors(app, make, people, 25)
    with app.app_context():
        profile = _profile(people["candidate"].id)
        ranked = services.suggestions(profile)
        profile_id = profile.id
        available = [s.mentor.name for s in ranked if s.available]
    total = len(ranked)
    assert total == 27
    login(client, people["staff"].email)
    page = _text(client.get(f"/mentoring/candidates/{profile_id}/match"))
    assert _suggested(page) == [s.mentor.name for s in ranked[:20]]
    assert f"The 20 best of {total} mentors." in page
    assert f"Show all {total} mentors" in page
    # The assign list still offers every available mentor, best first.
    select_html = page[page.index('<select id="mentor"') : page.index("</select>")]
    assert re.findall(r'<option value="\d+">([^<]+)</option>', select_html) == available
    everything = _text(client.get(f"/mentoring/candidates/{profile_id}/match?all=1&focus=fundraising"))
    assert len(_suggested(everything)) == total and "Show all" not in everything
    assert '<input type="hidden" name="all" value="1">' in everything  # the focus form keeps "all"


def test_match_page_query_count_does_not_grow_with_mentors(app, client, people, make):
    mentoring_placeholders(app, people)
    login(client, people["staff"].email)
    with app.app_context():
        profile_id = _profile(people["candidate2"].id).id
    with count_queries(app) as few:
        assert client.get(f"/mentoring/candidates/{profile_id}/match").status_code == 200
    _mentors(app, make, people, 30)
    with count_queries(app) as many:
        assert client.get(f"/mentoring/candidates/{profile_id}/match?focus=media_tv").status_code == 200
    assert len(few) == len(many)
    # Mentors are read as columns: no mentor ORM rows with their user joined in.
    assert not [q for q in many if "FROM mentor_profiles JOIN users AS users_1" in q]


def test_match_candidate_is_the_visible_profile_as_three_columns(app, people):
    mentoring_placeholders(app, people)  # mentor2 mentors candidate2
    with app.app_context():
        languaged = _profile(people["candidate"].id)
        db.session.add_all(
            [ProfileLanguage(profile_id=languaged.id, language=lang) for lang in ("Yoruba", "English", "Polish")]
        )
        languaged.home_region = "London"
        db.session.commit()
        profiles = [_profile(people[who].id) for who in ("candidate", "candidate2")]
        for who in ("staff", "admin", "mentor", "mentor2", "candidate", "candidate2"):
            actor = db.session.get(User, people[who].id)
            visible = set(db.session.scalars(visible_profiles(actor).with_only_columns(CandidateProfile.id)))
            for profile in profiles:
                found = services.match_candidate(actor, profile.id)
                if profile.id not in visible:
                    assert found is None, (who, profile.id)
                    continue
                assert (found.id, found.name, found.home_region, found.language_list) == (
                    profile.id,
                    profile.name,
                    profile.home_region,
                    profile.language_list,
                ), who
            assert services.match_candidate(actor, 999_999) is None
        assert services.match_candidate(db.session.get(User, people["staff"].id), languaged.id).language_list == [
            "English",
            "Polish",
            "Yoruba",
        ]


def test_a_kept_match_page_reads_the_candidate_as_one_row(app, client, people):
    mentoring_placeholders(app, people)
    login(client, people["staff"].email)
    with app.app_context():
        profile_id = _profile(people["candidate2"].id).id
    path = f"/mentoring/candidates/{profile_id}/match"
    drawn = page_queries(app, client, path)
    kept = page_queries(app, client, path)
    # the data's tokens and the candidate's id, name and region; the languages only when drawn
    assert len(kept) == 2, kept
    assert [q for q in drawn if "FROM profile_languages" in q] and not [q for q in kept if "profile_languages" in q]
    assert client.get("/mentoring/candidates/999999/match").status_code == 404


# ---------------------------------------------------------------------------------------------
# The pair's page, the mentor's home, the candidate's page and the mentors list


def _client_of(app, person):
    client = app.test_client()
    login(client, person.email)
    return client


def test_assignment_page_query_count_does_not_grow_with_logs(app, people):
    ids = mentoring_placeholders(app, people)
    path = f"/mentoring/assignments/{ids['assignment']}"
    clients = {role: _client_of(app, people[role]) for role in ("staff", "mentor2", "candidate2")}
    counts = {}
    for role, client in clients.items():
        with count_queries(app) as queries:
            assert client.get(path).status_code == 200
        counts[role] = len(queries)
        assert not _children(queries), role
    with app.app_context():
        mentor_user = db.session.get(User, people["mentor2"].id)
        admin = db.session.get(User, people["admin"].id)
        a = db.session.get(MentorAssignment, ids["assignment"])
        for weeks in range(1, 9):
            log = services.add_log(mentor_user, a, _log_fields(met_on=utcnow().date() - timedelta(weeks=weeks)))
            services.add_staff_note(admin, log, f"Staff note {weeks}.")
        db.session.commit()
    for role, client in clients.items():
        with count_queries(app) as queries:
            response = client.get(path)
        assert response.status_code == 200
        assert ("Staff note 8." in _text(response)) == (role == "staff")
        assert len(queries) == counts[role], role


def test_mentor_home_loads_no_languages_and_a_fixed_number_of_queries(app, people, make):
    _mentee(app, make, people, "mentor", "First Fay", met_weeks_ago=[3])
    client = _client_of(app, people["mentor"])
    with count_queries(app) as few:
        assert client.get("/mentoring/").status_code == 200
    for i in range(6):
        _mentee(app, make, people, "mentor", f"More M{i}", met_weeks_ago=[2, 7])
    with count_queries(app) as many:
        response = client.get("/mentoring/")
    assert response.status_code == 200 and "More M5" in _text(response)
    assert len(few) == len(many)
    # the profile's skills are shown; languages, and the mentees' languages, are not
    assert not [q for q in many if "FROM mentor_languages" in q or "FROM profile_languages" in q]


def test_candidate_mentoring_page_query_count_does_not_grow(app, people):
    mentoring_placeholders(app, people)
    client = _client_of(app, people["candidate2"])
    with count_queries(app) as few:
        assert client.get("/mentoring/mine").status_code == 200
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        mentor_user = db.session.get(User, people["mentor"].id)
        mentor = db.session.scalar(select(MentorProfile).where(MentorProfile.user_id == mentor_user.id))
        a = services.assign(admin, _profile(people["candidate2"].id), mentor, is_primary=False)
        for weeks in (1, 2, 3):
            services.add_log(mentor_user, a, _log_fields(met_on=utcnow().date() - timedelta(weeks=weeks)))
        db.session.commit()
    with count_queries(app) as many:
        response = client.get("/mentoring/mine")
    assert response.status_code == 200 and "Meera Mentor" in _text(response)
    assert len(few) == len(many) and not _children(many)


def test_mentors_list_query_count_does_not_grow(app, client, people, make):
    mentoring_placeholders(app, people)
    login(client, people["staff"].email)
    with count_queries(app) as few:
        assert client.get("/mentoring/mentors").status_code == 200
    _mentors(app, make, people, 30)
    with count_queries(app) as many:
        assert client.get("/mentoring/mentors?page=2").status_code == 200
    assert len(few) == len(many)


def test_a_pair_keeps_its_latest_meeting_date_whatever_order_logs_arrive_in(app, people, make):
    """add_log keeps the latest date (an earlier meeting logged later does not move it back);
    refresh_last_met, used after bulk loads and by the migration, works out the same dates."""
    late_first = _mentee(app, make, people, "mentor", "Order Test", started_weeks_ago=30, met_weeks_ago=(2, 9, 5))
    never = _mentee(app, make, people, "mentor", "Never Met", started_weeks_ago=30)
    today = utcnow().date()
    with app.app_context():
        pair = db.session.get(MentorAssignment, late_first)
        assert pair.last_met_on == today - timedelta(weeks=2)
        assert db.session.get(MentorAssignment, never).last_met_on is None
        db.session.execute(MentorAssignment.__table__.update().values(last_met_on=None))
        services.refresh_last_met()
        db.session.commit()
        assert db.session.get(MentorAssignment, late_first).last_met_on == today - timedelta(weeks=2)
        assert db.session.get(MentorAssignment, never).last_met_on is None
        # the health page's lapsed list follows the kept date
        admin = db.session.get(User, people["admin"].id)
        lapsed = {line.id: line.last_contact for line in services.health(admin).lapsed}
        assert never in lapsed and lapsed[never] is None
        assert late_first not in lapsed  # met two weeks ago
