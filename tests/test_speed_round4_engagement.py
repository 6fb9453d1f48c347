"""Engagement pages, fourth round (issue #8): the review list's statements built once per kind of
user find what the policy's statement built for the actor finds, and the progress page's rows
drawn in Python give the markup the Jinja loop gave, from a column query of the cohorts."""

from __future__ import annotations

import itertools
import re

from sqlalchemy import func, select

from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile
from d2w.cohorts.models import Cohort
from d2w.core.db import read
from d2w.core.extensions import db
from d2w.core.pagination import Sort, apply_sort
from d2w.engagement import policy, rendering, services
from d2w.engagement.models import Milestone, MilestoneType
from tests.conftest import login, page_queries
from tests.test_engagement import (
    _assign,
    _cohort,
    _log,
    _type_id,
    _verify,
    seeded,  # noqa: F401 - the catalogue, for every test (autouse)
)

OLD_PROGRESS_ROWS = """
{% macro rows(cohorts, totals) -%}
    {% for c in cohorts %}{% set t = totals[c.id] %}
      <tr>
        <td><a href="{{ url_for('engagement.cohort_progress', cohort_id=c.id) }}">{{ c.name }}</a></td>
        <td class="num">{{ "{:,}".format(t.milestones) }}</td>
        <td class="num">{{ "{:,}".format(t.people_reached) }}</td>
        <td class="num">{{ "{:,}".format(t.volunteers_recruited) }}</td>
      </tr>
    {% endfor %}
{%- endmacro %}
"""


def _same(html) -> str:
    return re.sub(r"\s*\n\s*", "", re.sub(r">\s+<", "><", str(html))).strip()


def _old_review_page(actor, status, type_id, sort, number, per_page):
    """The review list as round 3 built it, anew for the actor on every call."""
    visible = policy.visible_milestones(actor)
    if status != "all":
        visible = visible.where(Milestone.status == status)
    if type_id is not None:
        visible = visible.where(Milestone.type_id == type_id)
    total = db.session.scalar(visible.with_only_columns(func.count()).select_from(Milestone)) or 0
    stmt = (
        visible.with_only_columns(
            Milestone.id,
            MilestoneType.name,
            Milestone.place,
            Milestone.occurred_on,
            Milestone.status,
            Milestone.created_at,
            User.name,
        )
        .select_from(Milestone)
        .join(MilestoneType, MilestoneType.id == Milestone.type_id)
        .join(CandidateProfile, CandidateProfile.id == Milestone.profile_id)
        .join(User, User.id == CandidateProfile.user_id)
    )
    stmt = apply_sort(stmt, sort, services.REVIEW_SORTS, Milestone.id)
    number = min(number, max(1, -(-total // per_page)))
    rows = read(stmt.limit(per_page).offset((number - 1) * per_page)).all()
    return total, number, [services.MilestoneRow(*r) for r in rows]


def test_review_list_built_once_finds_what_the_policy_finds(app, people):
    _assign(app, people, "mentor", "candidate")
    first, second = _type_id(app, 0), _type_id(app, 3)
    logged = [
        _log(app, people[ref], type_id=t, place=f"Place {i}")
        for i, (ref, t) in enumerate(itertools.product(("candidate", "candidate2"), (first, second, first)))
    ]
    for mid in logged[::2]:
        _verify(app, people, mid)
    with app.app_context():
        actors = [db.session.get(User, people[k].id) for k in ("staff", "admin", "mentor", "mentor2")]
        seen = set()
        for actor, status, type_id, key, desc, number in itertools.product(
            actors,
            ("logged", "verified", "all"),
            (None, first, second),
            services.REVIEW_SORTS,
            (False, True),
            (1, 2, 5),
        ):
            sort = Sort(key, desc)
            got = services.review_page(actor, status, type_id, sort, number, 2)
            total, page, rows = _old_review_page(actor, status, type_id, sort, number, 2)
            assert (got.total, got.page, got.items) == (total, page, rows)
            seen.add((actor.id, total))
        totals = {actor_id: max(t for a, t in seen if a == actor_id) for actor_id, _ in seen}
        assert totals[people["staff"].id] == totals[people["admin"].id] == 6
        assert totals[people["mentor"].id] == 3 and totals[people["mentor2"].id] == 0


def test_progress_rows_are_the_loop_s_markup_from_a_column_query(app, client, people):
    _cohort(app, people, "Zed & <co>", [people["candidate"]])
    _cohort(app, people, "alpha", [people["candidate"], people["candidate2"]])
    for ref, reached in (("candidate", 1234), ("candidate2", 7)):
        _verify(app, people, _log(app, people[ref], people_reached=reached, volunteers_recruited=1001))
    with app.test_request_context("/"):
        models = list(db.session.scalars(select(Cohort).order_by(Cohort.intake_start.desc(), func.lower(Cohort.name))))
        cohorts = services.progress_cohorts()
        assert [(c.id, c.name) for c in models] == [tuple(c) for c in cohorts] and len(cohorts) == 2
        totals = services.cohort_totals(c.id for c in models)
        old = app.jinja_env.from_string(OLD_PROGRESS_ROWS).module.rows
        new = rendering.progress_rows(cohorts, totals)
        assert _same(new) == _same(old(models, totals))
        assert "1,241" in new and "Zed &amp; &lt;co&gt;" in new
    login(client, people["staff"].email)
    queries = page_queries(app, client, "/milestones/progress")
    assert len(queries) == 3, queries  # the cohorts, their totals and the programme's
    assert "cohorts.name" in queries[0] and "cohorts.region" not in queries[0]
