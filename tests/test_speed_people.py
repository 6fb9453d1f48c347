"""People pages at scale (issue #8): the candidate profile and list, the milestone pages, the user
directory and the audit log read only the columns they show, in a fixed number of queries, and
show what the slower ORM paths showed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from d2w.audit import services as audit
from d2w.audit.models import AuditEvent
from d2w.auth.models import User
from d2w.candidates import policy as candidate_policy
from d2w.candidates import queries as candidate_queries
from d2w.candidates import services as candidates
from d2w.candidates.models import CandidateProfile, ProfileLanguage, StageChange
from d2w.candidates.queries import at_risk_ids
from d2w.cohorts.models import Enrolment
from d2w.core.db import utcnow
from d2w.core.extensions import db
from d2w.engagement import services as engagement
from d2w.engagement.models import Milestone, MilestoneEvent
from d2w.programme import services as programme
from d2w.programme.models import Attendance, ProgrammeSession
from d2w.users import services as users
from tests.conftest import login, page_queries
from tests.test_engagement import (
    _assign,
    _log,
    seeded,  # noqa: F401 - the catalogue, for every test (autouse)
)

LANGUAGES = "FROM profile_languages"


def _sessions(app, cohort_id: int, profile_id: int, statuses: list[str], *, cancelled: int = 0) -> None:
    """One session of the cohort per status, with the candidate marked so; then ``cancelled``
    cancelled sessions where they were present (which never count)."""
    with app.app_context():
        start = utcnow() - timedelta(days=60)
        for i, status in enumerate([*statuses, *["present"] * cancelled]):
            s = ProgrammeSession(
                cohort_id=cohort_id,
                title=f"Session {i}",
                skill_area="communication",
                starts_at=start + timedelta(days=i),
                ends_at=start + timedelta(days=i, hours=2),
                cancelled_at=utcnow() if i >= len(statuses) else None,
            )
            db.session.add(s)
            db.session.flush()
            db.session.add(Attendance(session_id=s.id, profile_id=profile_id, status=status))
        db.session.commit()


def _set(app, profile_id: int, **values) -> None:
    with app.app_context():
        profile = db.session.get(CandidateProfile, profile_id)
        for key, value in values.items():
            setattr(profile, key, value)
        db.session.commit()


# ---------------------------------------------------------------------------------------------
# The candidate profile


def test_profile_page_figures_equal_the_programme_rules(app, make, people):
    """At risk and attendance, read in the profile's own query, agree with the programme's
    functions on varied candidates (marked, cancelled, at risk or not, no place, nothing)."""
    cohort = make.cohort("Figures cohort")
    a, b, c, d = (make.user("candidate") for _ in range(4))
    pa, pb, pc = (make.enrol(cohort, ref) for ref in (a, b, c))
    pd = make.profile_id(d)
    _sessions(app, cohort, pa, ["present", "late", "absent", "excused", "absent"], cancelled=2)
    _sessions(app, cohort, pb, ["absent", "absent", "absent"])
    _sessions(app, cohort, pc, ["present"])
    _set(app, pa, consecutive_absences=1)
    _set(app, pb, consecutive_absences=3)
    _set(app, pd, consecutive_absences=5)  # no place: never at risk
    with app.app_context():
        db.session.execute(Enrolment.__table__.update().where(Enrolment.profile_id == pc).values(status="completed"))
        db.session.commit()
    _set(app, pc, consecutive_absences=4)  # completed: no current place
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        for threshold in (1, 2, 3, 4):
            for pid in (pa, pb, pc, pd):
                shown = candidate_queries.profile_page(staff, pid, threshold)
                assert shown.profile.id == pid
                assert shown.attendance == programme.candidate_rate(pid), (pid, threshold)
                assert shown.at_risk == bool(at_risk_ids([pid], threshold)), (pid, threshold)
        assert programme.candidate_rate(pa) == programme.Rate(2, 5)


def test_profile_page_languages_and_visibility(app, make, people):
    ref = make.user("candidate")
    pid = make.profile_id(ref)
    with app.app_context():
        for name in ("Urdu", "Bengali", "English"):
            db.session.add(ProfileLanguage(profile_id=pid, language=name))
        db.session.commit()
        staff = db.session.get(User, people["staff"].id)
        other = db.session.get(User, people["candidate"].id)
        mentor = db.session.get(User, people["mentor"].id)
        shown = candidate_queries.profile_page(staff, pid, 2)
        assert shown.profile.language_list == ["Bengali", "English", "Urdu"]
        assert shown.profile.user.name == ref.name
        # Not visible to another candidate, nor to a mentor who does not mentor them.
        assert candidate_queries.profile_page(other, pid, 2) is None
        assert candidate_queries.profile_page(mentor, pid, 2) is None
        assert candidate_queries.profile_page(staff, 999_999, 2) is None


def test_profile_lists_equal_the_orm_ones(app, make, people):
    cohort_a, cohort_b = make.cohort("Alpha cohort"), make.cohort("Beta cohort")
    ref = make.user("candidate")
    pid = make.enrol(cohort_a, ref)
    make.enrol(cohort_b, ref, status="invited")
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        profile = db.session.get(CandidateProfile, pid)
        before = profile.stage
        candidates.change_stage(staff, profile, "approved_list", "Joined")
        db.session.add(  # a change made by the system (an import): nobody's name
            StageChange(
                profile_id=pid,
                from_stage="approved_list",
                to_stage="applying",
                reason="Imported",
                changed_at=utcnow() + timedelta(seconds=5),
            )
        )
        db.session.commit()
        old = db.session.scalars(
            select(Enrolment).where(Enrolment.profile_id == pid).order_by(Enrolment.enrolled_at.desc())
        ).all()
        assert [(e.cohort_id, e.cohort.name, e.status, e.status_label, e.enrolled_at) for e in old] == [
            (e.cohort_id, e.cohort_name, e.status, e.status_label, e.enrolled_at) for e in candidates.enrolments_of(pid)
        ]
        history = candidates.stage_history(pid)
        assert [(h.from_stage, h.to_stage, h.reason, h.changed_by_name) for h in history[:2]] == [
            ("approved_list", "applying", "Imported", None),
            (before, "approved_list", "Joined", people["staff"].name),
        ]
        old_history = db.session.scalars(
            select(StageChange)
            .where(StageChange.profile_id == pid)
            .order_by(StageChange.changed_at.desc(), StageChange.id.desc())
        ).all()
        assert [
            (
                h.changed_at,
                h.from_stage,
                h.to_stage,
                h.reason,
                h.changed_by_id,
                h.changed_by.name if h.changed_by else None,
            )
            for h in old_history
        ] == [tuple(h) for h in history]
        # the page's one query of both equals the two
        assert candidates.enrolments_and_history(pid) == (candidates.enrolments_of(pid), history)
        assert len(history) >= 3 and len(candidates.enrolments_of(pid)) == 2
        bare = candidates.ensure_profile(db.session.get(User, make.user("candidate").id))
        db.session.commit()
        assert candidates.enrolments_and_history(bare.id) == ([], candidates.stage_history(bare.id))


def test_profile_page_queries_and_content(app, client, make, people):
    cohort = make.cohort("Shown cohort")
    pid = make.enrol(cohort, people["candidate"])
    _sessions(app, cohort, pid, ["absent", "absent", "present"])
    _set(app, pid, consecutive_absences=2)
    with app.app_context():
        db.session.add(ProfileLanguage(profile_id=pid, language="Sylheti"))
        staff = db.session.get(User, people["staff"].id)
        candidates.change_stage(staff, db.session.get(CandidateProfile, pid), "approved_list", "Started well")
        db.session.commit()
    _assign(app, people, "mentor", "candidate")
    path = f"/candidates/{pid}"
    counts = {}
    for key in ("staff", "candidate", "mentor"):
        client = app.test_client()
        login(client, people[key].email)
        client.get(path)
        queries = page_queries(app, client, path)
        html = client.get(path).get_data(as_text=True)
        counts[key] = len(queries)
        assert not [q for q in queries if "FROM stage_changes" in q] or key != "mentor"
        assert "Sylheti" in html and "Shown cohort" in html and "missed 2 sessions in a row" in html
        assert "Attended 1 of 3 marked sessions" in html
        if key == "mentor":
            assert "Started well" not in html and "Stage history" not in html
        else:
            assert "Started well" in html and ("by Sam Staff" in html) == (key == "staff")
    # The profile (with its user, languages, at-risk rule and attendance), then its enrolments
    # with, except for mentors, its stage history in the same query.
    assert counts == {"staff": 2, "candidate": 2, "mentor": 2}


# ---------------------------------------------------------------------------------------------
# The candidate list


def test_candidate_list_rows_and_queries(app, client, make, people):
    cohort = make.cohort("Listed cohort")
    refs = [make.user("candidate") for _ in range(3)]
    pids = [make.enrol(cohort, ref) for ref in refs]
    _set(app, pids[0], consecutive_absences=3, home_region="London", home_borough="Hackney")
    with app.app_context():
        db.session.add(ProfileLanguage(profile_id=pids[1], language="Polish"))
        db.session.commit()
    login(client, people["staff"].email)
    client.get("/candidates/")
    assert len(page_queries(app, client, "/candidates/")) == 1  # kept until the data changes: the tokens
    app.config["KEEP_FIGURES_UNTIL_CHANGED"] = False
    queries = page_queries(app, client, "/candidates/")
    # cohorts for the filter, the count, the page (with its at-risk rule), the places held
    assert len(queries) == 4
    assert not [q for q in queries if LANGUAGES in q]
    html = client.get("/candidates/?at_risk=y").get_data(as_text=True)
    assert refs[0].name in html and refs[1].name not in html and "At risk" in html and "Hackney" in html
    with app.app_context():
        threshold = app.config["AT_RISK_CONSECUTIVE_ABSENCES"]
        stmt = candidate_policy.visible_profiles(db.session.get(User, people["staff"].id)).order_by(CandidateProfile.id)
        expected = [
            (p.id, p.user.name, p.user.email, p.stage, p.home_region, p.home_borough, p.consecutive_absences)
            for p in db.session.scalars(stmt)
        ]
        risky = at_risk_ids([e[0] for e in expected], threshold)
        from d2w.candidates.queries import ListFilters, candidate_list
        from d2w.core.pagination import Sort

        staff = db.session.get(User, people["staff"].id)
        listed = candidate_list(staff, ListFilters(), Sort("name", False), 1, 1000, threshold).items
        got = sorted(listed, key=lambda r: r.id)
        assert [tuple(g)[:-1] for g in got] == expected
        assert {g.id for g in got if g.at_risk} == risky == {pids[0]}


# ---------------------------------------------------------------------------------------------
# Milestones


def test_milestone_detail_history_equals_the_orm_events(app, client, people):
    _assign(app, people, "mentor", "candidate")
    milestone_id = _log(app, people["candidate"])
    with app.app_context():
        mentor = db.session.get(User, people["mentor"].id)
        m = db.session.get(Milestone, milestone_id)
        engagement.return_milestone(mentor, m, version=m.version, comment="Say how many came.")
        db.session.commit()
        events = engagement.history(m)
        old = db.session.scalars(
            select(MilestoneEvent)
            .options(joinedload(MilestoneEvent.actor))
            .where(MilestoneEvent.milestone_id == m.id)
            .order_by(MilestoneEvent.at, MilestoneEvent.id)
        ).all()
        assert [(e.at, e.from_status, e.to_status, e.comment, e.actor_id, e.description) for e in old] == [
            (e.at, e.from_status, e.to_status, e.comment, e.actor_id, e.description) for e in events
        ]
        assert [e.actor_name for e in events] == [people["candidate"].name, people["mentor"].name]
        assert engagement.return_comment_in(m, events) == engagement.latest_return_comment(m) == "Say how many came."
    login(client, people["staff"].email)
    path = f"/milestones/{milestone_id}"
    client.get(path)
    queries = page_queries(app, client, path)
    assert len(queries) == 2  # the milestone (type, candidate) and its history
    assert not [q for q in queries if LANGUAGES in q]
    html = client.get(path).get_data(as_text=True)
    assert "Say how many came." in html and "Returned for changes</strong> by Meera Mentor" in html


def test_review_lists_show_the_status_tags(app, client, people):
    _assign(app, people, "mentor", "candidate")
    logged = _log(app, people["candidate"])
    returned = _log(app, people["candidate"])
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        m = db.session.get(Milestone, returned)
        engagement.return_milestone(staff, m, version=m.version, comment="More detail, please.")
        db.session.commit()
    login(client, people["staff"].email)
    html = client.get("/milestones/?status=all").get_data(as_text=True)
    assert f'href="/milestones/{logged}"' in html and f'href="/milestones/{returned}"' in html
    assert '<span class="tag tag-amber">' in html
    assert '<span class="tag tag-red">' in html
    client = app.test_client()
    login(client, people["candidate"].email)
    html = client.get("/milestones/mine").get_data(as_text=True)
    assert '<span class="tag tag-red">' in html and "tag-amber" in html


def test_review_type_filter_is_kept_and_cleared_on_catalogue_change(app, client, people):
    from d2w.core import cache

    app.config["AGGREGATE_CACHE_SECONDS"] = 60
    try:
        cache.clear()
        login(client, people["staff"].email)
        client.get("/milestones/")
        assert len([q for q in page_queries(app, client, "/milestones/") if "FROM milestone_types" in q]) == 0
        with app.app_context():
            engagement.create_type(
                db.session.get(User, people["admin"].id),
                engagement.TypeFields(
                    name="Hosting a hustings", description="", category="community", evidence_required=False
                ),
            )
            db.session.commit()
        cache.clear()  # as the catalogue views do after their commit
        assert "Hosting a hustings" in client.get("/milestones/").get_data(as_text=True)
    finally:
        app.config["AGGREGATE_CACHE_SECONDS"] = 0
        cache.clear()


# ---------------------------------------------------------------------------------------------
# The user directory and the audit log


def _directory_as_before(actor, q, role, status, sort, page, per_page):
    """The directory as the view built it on every request before it was built once per shape."""
    from sqlalchemy import func, or_

    from d2w.core.pagination import apply_sort, paginate
    from d2w.users import policy as user_policy

    stmt = user_policy.visible_users(actor)
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(User.name).like(like), User.email.like(like)))
    if role:
        stmt = stmt.where(User.role == role)
    if status == "active":
        stmt = stmt.where(User.active.is_(True), User.password_hash.is_not(None))
    elif status == "invited":
        stmt = stmt.where(User.active.is_(True), User.password_hash.is_(None))
    elif status == "inactive":
        stmt = stmt.where(User.active.is_(False))
    stmt = apply_sort(users.directory_rows(stmt), sort, users.DIRECTORY_SORTS, User.id)
    found = paginate(stmt, page, per_page, scalars=False)
    return found.total, found.page, users.to_rows(found.items)


def test_directory_pages_built_once_equal_the_statement_built_each_time(app, make, people):
    """Every filter, status, sort and page of the directory, for staff, an admin and a candidate
    (who sees nobody), asked twice in an order that reuses the kept statements with other
    values: the same rows, totals and page numbers as the statement built on each request."""
    from d2w.core.pagination import Sort

    make.user("candidate", name="Ina Invited", password=None)
    make.user("mentor", name="Dee Deactivated", active=False)
    for n in range(7):
        make.user(("candidate", "mentor")[n % 2], name=f"Zed {n} O'Neil", email=f"zed{n}@example.org")
    with app.app_context():
        actors = [db.session.get(User, people[r].id) for r in ("staff", "admin", "candidate")]
        cases = [
            (q, role, status, Sort(key, desc), page)
            for q in ("", "zed", "ZED 3", "o'neil", "%", "nobody")
            for role in ("", "candidate", "mentor")
            for status in ("", "active", "invited", "inactive", "bogus")
            for key, desc in (("name", False), ("email", True), ("last_login", False))
            for page in (1, 2)
        ]
        for _ in range(2):
            for actor in actors:
                for q, role, status, sort, page in cases[:: 7 if actor.role == "candidate" else 1]:
                    shown = users.directory_page(actor, q=q, role=role, status=status, sort=sort, page=page, per_page=4)
                    expected = _directory_as_before(actor, q, role, status, sort, page, 4)
                    assert (shown.total, shown.page, shown.items) == expected, (actor.role, q, role, status, sort, page)
        assert (
            users.directory_page(
                actors[2], q="", role="", status="", sort=Sort("name", False), page=1, per_page=4
            ).items
            == []
        )


def test_directory_rows_equal_the_accounts(app, client, make, people):
    make.user("candidate", name="Ina Invited", password=None)
    make.user("mentor", name="Dee Deactivated", active=False)
    with app.app_context():
        u = db.session.get(User, people["mentor"].id)
        u.last_login_at = utcnow()
        db.session.commit()
        staff = db.session.get(User, people["staff"].id)
        from d2w.users import policy as user_policy

        stmt = user_policy.visible_users(staff).order_by(User.id)
        old = [
            (u.id, u.name, u.email, u.role, u.role_label, u.active, u.has_password, u.last_login_at)
            for u in db.session.scalars(stmt)
        ]
        rows = users.to_rows(db.session.execute(users.directory_rows(stmt)))
        assert [
            (r.id, r.name, r.email, r.role, r.role_label, r.active, r.has_password, r.last_login_at) for r in rows
        ] == old
        assert {r.role_label for r in rows} >= {"Staff (admin)", "Staff", "Mentor", "Candidate"}
    login(client, people["staff"].email)
    client.get("/users/")
    queries = page_queries(app, client, "/users/")
    assert len(queries) == 2  # the count and the page
    assert not [q for q in queries if "password_hash," in q]
    html = client.get("/users/").get_data(as_text=True)
    assert "Invited" in html and "Deactivated" in html and f'href="/users/{people["mentor"].id}"' in html


def test_audit_log_rows_and_queries(app, client, people):
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        audit.record(admin, "test.user_touched", object_type="user", object_id=people["staff"].id, summary="one")
        audit.record(None, "test.system_ran", summary="two")
        db.session.commit()
    login(client, people["admin"].email)
    client.get("/audit/")
    assert len(page_queries(app, client, "/audit/")) == 1  # kept until the next event: the tokens
    app.config["KEEP_FIGURES_UNTIL_CHANGED"] = False  # below: the page as drawn
    queries = page_queries(app, client, "/audit/")
    # the two filter lists, the count and the page
    assert len(queries) == 4
    html = client.get("/audit/").get_data(as_text=True)
    assert f'<a href="/users/{people["staff"].id}">user {people["staff"].id}</a>' in html
    assert "System or anonymous" in html and "Ada Admin <span" in html
    assert "test.user_touched" in html and "test.system_ran" in html
    from d2w.audit.queries import EventRow, event_rows

    with app.app_context():
        old = db.session.scalars(
            select(AuditEvent)
            .options(joinedload(AuditEvent.actor))
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        ).all()
        rows = [
            EventRow(*r)
            for r in db.session.execute(
                event_rows(select(AuditEvent)).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            )
        ]
        assert len(rows) == len(old) >= 3
        assert [(r.at, r.action, r.object_type, r.object_id, r.summary, r.actor_name) for r in rows] == [
            (e.at, e.action, e.object_type, e.object_id, e.summary, e.actor.name if e.actor else None) for e in old
        ]


def test_profile_page_built_once_per_kind_finds_what_the_actors_own_statement_finds(app, make, people):
    """``profile_page`` runs a statement built once per kind of user with the actor's id bound
    at run time. For every kind (admin, staff, a mentor with a mentee, candidates) and several
    profiles, in an order that reuses each kept statement for another user of the same kind, it
    finds what the policy's statement built for the actor themself finds."""
    from d2w.candidates.queries import _page_statement
    from d2w.core.db import read
    from d2w.mentoring import services as mentoring
    from d2w.mentoring.models import MentorProfile

    cohort = make.cohort("Shapes cohort")
    mentee, other = make.user("candidate"), make.user("candidate")
    p_mentee, p_other = make.enrol(cohort, mentee), make.enrol(cohort, other)
    p_first = make.profile_id(people["candidate"])
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        fields = mentoring.MentorFields(
            region="London", skills=["canvassing"], languages="English", capacity=3, availability="Evenings"
        )
        for mentor_ref in ("mentor", "mentor2"):
            mentoring.save_mentor_profile(admin, db.session.get(User, people[mentor_ref].id), fields)
        first_mentor = db.session.scalar(select(MentorProfile).where(MentorProfile.user_id == people["mentor"].id))
        mentoring.assign(admin, db.session.get(CandidateProfile, p_mentee), first_mentor, is_primary=True)
        db.session.commit()
        actors = [
            db.session.get(User, ref.id)
            for ref in (
                people["mentor"],
                people["mentor2"],
                people["candidate"],
                mentee,
                people["staff"],
                people["admin"],
                people["mentor"],
                other,
            )
        ]
        profiles = (p_mentee, p_other, p_first, 999_999)
        for actor in actors:
            for pid in profiles:
                shown = candidate_queries.profile_page(actor, pid, 2)
                own = read(_page_statement(actor).params(profile_id=pid), {"threshold": 2}).unique().first()
                if own is None:
                    assert shown is None, (actor.role, actor.id, pid)
                else:
                    assert shown is not None, (actor.role, actor.id, pid)
                    assert shown.profile.id == own[0].id == pid
                    assert (shown.at_risk, shown.attendance.attended, shown.attendance.marked) == (
                        bool(own[1]),
                        own[2] or 0,
                        own[3] or 0,
                    )
        seen = {
            (actor.role, actor.id): {pid for pid in profiles if candidate_queries.profile_page(actor, pid, 2)}
            for actor in actors
        }
        assert seen[("mentor", people["mentor"].id)] == {p_mentee}
        assert seen[("mentor", people["mentor2"].id)] == set()
        assert seen[("candidate", people["candidate"].id)] == {p_first}
        assert seen[("candidate", mentee.id)] == {p_mentee}
        assert (
            seen[("staff", people["staff"].id)] == seen[("staff", people["admin"].id)] == {p_mentee, p_other, p_first}
        )


def _candidate_list_as_before(actor, filters, sort, page, per_page, threshold):
    """The candidate list as the view built it on every request before it was built once."""
    from sqlalchemy import exists, func, or_

    from d2w.candidates.queries import LIST_SORTS, CandidateRow
    from d2w.cohorts.models import HOLDS_PLACE, Enrolment
    from d2w.core.pagination import apply_sort, paginate
    from d2w.programme.services import at_risk_condition

    stmt = (
        candidate_policy.visible_profiles(actor)
        .with_only_columns(
            CandidateProfile.id,
            User.name,
            User.email,
            CandidateProfile.stage,
            CandidateProfile.home_region,
            CandidateProfile.home_borough,
            CandidateProfile.consecutive_absences,
            at_risk_condition(threshold),
        )
        .join(User, User.id == CandidateProfile.user_id)
    )
    if filters.q:
        like = f"%{filters.q.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(User.name).like(like), User.email.like(like)))
    if filters.cohort_id is not None:
        stmt = stmt.where(
            exists().where(
                Enrolment.profile_id == CandidateProfile.id,
                Enrolment.cohort_id == filters.cohort_id,
                Enrolment.status.in_(HOLDS_PLACE),
            )
        )
    if filters.stage:
        stmt = stmt.where(CandidateProfile.stage == filters.stage)
    if filters.region:
        stmt = stmt.where(CandidateProfile.home_region == filters.region)
    if filters.at_risk:
        stmt = stmt.where(at_risk_condition(threshold))
    stmt = apply_sort(stmt, sort, LIST_SORTS, CandidateProfile.id)
    found = paginate(stmt, page, per_page, scalars=False)
    return found.total, found.page, [CandidateRow(*row[:-1], bool(row[-1])) for row in found.items]


def test_candidate_list_built_once_equals_the_statement_built_each_time(app, make, people):
    """Every filter (alone and together), sort and page of the candidate list, for staff, an
    admin, a mentor and a candidate (who see only their own mentees or themselves), asked twice
    in an order that reuses the kept statements with other values: the same rows as before."""
    from d2w.candidates.queries import LIST_SORTS, ListFilters, candidate_list
    from d2w.core.pagination import Sort

    alpha, beta = make.cohort("Alpha cohort"), make.cohort("Beta cohort")
    refs = [make.user("candidate", name=f"Cand {n} O'Neil") for n in range(6)]
    pids = [make.enrol(alpha if n % 2 else beta, ref) for n, ref in enumerate(refs)]
    _set(app, pids[0], consecutive_absences=3, home_region="London", stage="in_programme")
    _set(app, pids[1], consecutive_absences=1, home_region="Wales")
    _set(app, pids[2], consecutive_absences=4, home_region="London")
    with app.app_context():
        actors = [db.session.get(User, people[r].id) for r in ("staff", "admin", "mentor", "candidate")]
        cases = [
            ListFilters(),
            ListFilters(q="o'neil"),
            ListFilters(q="CAND 2"),
            ListFilters(cohort_id=alpha),
            ListFilters(cohort_id=beta, region="London"),
            ListFilters(stage="in_programme"),
            ListFilters(region="Wales"),
            ListFilters(at_risk=True),
            ListFilters(q="cand", cohort_id=alpha, stage="prospective", region="London", at_risk=True),
            ListFilters(cohort_id=999_999),
        ]
        for _ in range(2):
            for actor in actors:
                for filters in cases:
                    for key in LIST_SORTS:
                        for descending, page, threshold in ((False, 1, 2), (True, 2, 3)):
                            sort = Sort(key, descending)
                            shown = candidate_list(actor, filters, sort, page, 3, threshold)
                            expected = _candidate_list_as_before(actor, filters, sort, page, 3, threshold)
                            assert (shown.total, shown.page, shown.items) == expected, (actor.role, filters, sort)
