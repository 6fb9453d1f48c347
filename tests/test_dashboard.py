"""The programme dashboard and the CSV exports; the small-number rule.

The CSV exports' own tests are in test_exports.py; their routes are in DASHBOARD_MATRIX here.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from d2w.applications.models import Application
from d2w.audit.models import AuditEvent
from d2w.auth.models import User
from d2w.candidates import services as candidates
from d2w.candidates.models import CandidateProfile
from d2w.cohorts import services as cohorts
from d2w.cohorts.models import Cohort
from d2w.core.errors import Forbidden
from d2w.core.extensions import db
from d2w.dashboard import services, smallnumbers
from d2w.dashboard.smallnumbers import SECONDARY, SMALL, percentage, protect, suppress
from d2w.engagement import catalogue
from d2w.engagement.models import Milestone, MilestoneType
from d2w.programme.models import Attendance, ProgrammeSession
from d2w.seats.models import Seat
from d2w.users import services as users
from tests.conftest import count_queries

ROLES = ("anon", "candidate", "mentor", "staff", "admin")
L = "login"  # a redirect to the sign-in page


def row(anon, candidate, mentor, staff, admin):
    return dict(zip(ROLES, (anon, candidate, mentor, staff, admin), strict=True))


# The role matrix of this domain's routes, in the shape of MATRIX in test_access.py: endpoint ->
# (method, path template, expected status per role). Paths may name the placeholders below.
# {cohort} is the matrix's cohort (it holds people["candidate2"]).
DASHBOARD_MATRIX: dict = {
    "dashboard.index": ("GET", "/dashboard/", row(L, 403, 403, 200, 200)),
    "exports.index": ("GET", "/exports/?cohort={cohort}", row(L, 403, 403, 200, 200)),
    "exports.candidates": ("GET", "/exports/candidates.csv", row(L, 403, 403, 200, 200)),
    "exports.attendance": ("GET", "/exports/attendance.csv?cohort={cohort}", row(L, 403, 403, 200, 200)),
    "exports.milestones": ("GET", "/exports/milestones.csv", row(L, 403, 403, 200, 200)),
    "exports.applications": ("GET", "/exports/applications.csv?cohort={cohort}", row(L, 403, 403, 200, 200)),
}


def dashboard_placeholders(app, people, cohort_id: int) -> dict:
    """Real objects for the placeholders DASHBOARD_MATRIX's paths name (people["candidate2"] owns them)."""
    return {}


# ---------------------------------------------------------------------------------------------
# The small-number rule: units


def test_suppress_hides_one_to_threshold_minus_one_and_shows_zero():
    assert suppress(0, 10) == 0
    assert [suppress(n, 10) for n in range(1, 10)] == ["fewer than 10"] * 9
    assert suppress(10, 10) == 10
    assert suppress(1234, 10) == 1234
    assert suppress(4, 5) == "fewer than 5" and suppress(5, 5) == 5
    assert suppress(1, 1) == 1  # a threshold of 1 turns the rule off


def test_percentage_needs_a_base_of_at_least_the_threshold_and_a_shown_count():
    assert percentage(3, 9, 10) is None  # base under the threshold
    assert percentage(10, 9, 10) is None  # nonsense (more than the base)
    assert percentage(5, 40, 10) is None  # the count itself is hidden
    assert percentage(0, 40, 10) == "0%"
    assert percentage(10, 40, 10) == "25%"
    assert percentage(10, 80, 10) == "13%"  # 12.5% rounds half up
    assert percentage(20, 30, 10) == "67%"
    assert percentage(10, 10, 10) == "100%"
    assert percentage(0, 0, 10) is None


@pytest.mark.parametrize("bad", [-1, 1.5, "3", None, True])
def test_counts_must_be_whole_numbers_of_zero_or_more(bad):
    with pytest.raises(ValueError):
        suppress(bad, 10)
    with pytest.raises(ValueError):
        protect([("a", 20), ("b", bad)], 10)


def test_protect_shows_everything_when_nothing_is_small():
    b = protect([("A", 40), ("B", 0), ("C", 12)], 10)
    assert not b.withheld and not b.any_hidden
    assert [(r.count, r.text, r.percent) for r in b.rows] == [(40, "40", "77%"), (0, "0", "0%"), (12, "12", "23%")]
    assert b.total == 52 and b.bars() == [("A", 40.0), ("B", 0.0), ("C", 12.0)]


def test_one_small_row_takes_another_row_with_it():
    """40 + 3 + 25 = 68: with only the 3 hidden, 68 - 40 - 25 would give it back."""
    b = protect([("A", 40), ("B", 3), ("C", 25), ("D", 0)], 10)
    by_label = {r.label: r for r in b.rows}
    assert by_label["B"].hidden == SMALL and by_label["B"].text == "fewer than 10" and by_label["B"].count is None
    assert by_label["D"].text == "0"  # a zero is never hidden
    # The last row that can help (C, from the bottom up) is hidden too, as "not shown": all a
    # reader can tell is that B + C = 28 with C at least 10, so B is anything from 1 to 9.
    assert by_label["C"].hidden == SECONDARY and by_label["C"].text == "not shown"
    assert by_label["A"].text == "40" and by_label["A"].percent == "59%" and b.total == 68
    assert all(r.percent is None for r in b.rows if r.hidden)
    assert b.bars() == [("A", 40.0), ("D", 0.0)]


def test_rows_are_hidden_until_the_small_one_could_be_anything_from_one_to_nine():
    """B + C = 15 with C at least 10 would put B at 5 or under: A must go too."""
    b = protect([("A", 40), ("B", 3), ("C", 12), ("D", 0)], 10)
    assert [r.text for r in b.rows] == ["not shown", "fewer than 10", "not shown", "0"]
    assert b.total == 55


def test_two_small_rows_that_add_up_to_the_threshold_protect_each_other():
    b = protect([("A", 40), ("B", 4), ("C", 6)], 10)
    assert [r.hidden for r in b.rows] == [None, SMALL, SMALL]


def test_a_total_under_the_threshold_withholds_the_breakdown():
    b = protect([("A", 4), ("B", 3), ("C", 0)], 10)
    assert b.withheld and b.rows == () and b.total == 7 and b.bars() == []


def test_threshold_is_a_parameter():
    assert protect([("A", 40), ("B", 3), ("C", 4)], 3).rows[1].text == "3"
    assert protect([("A", 40), ("B", 3), ("C", 4)], 5).rows[1].text == "fewer than 5"


# ---------------------------------------------------------------------------------------------
# The small-number rule: properties, over many random breakdowns


def random_counts(rng: random.Random, threshold: int, *, largest: int = 400, most_rows: int = 9) -> list[int]:
    """A breakdown with a mix of zeros, small counts, counts near the threshold and large ones."""
    out = []
    for _ in range(rng.randint(1, most_rows)):
        kind = rng.random()
        if kind < 0.2:
            out.append(0)
        elif kind < 0.55:
            out.append(rng.randint(1, max(1, threshold - 1)))
        elif kind < 0.8:
            out.append(rng.randint(threshold, threshold * 2 + 2))
        else:
            out.append(rng.randint(threshold, largest))
    return out


def label_aware_range(b: smallnumbers.Breakdown, index: int) -> tuple[int, int]:
    """What a reader who knows the total, every figure shown and the meaning of the labels (small:
    1..t-1; not shown: t or more) can work out about hidden row ``index``, by interval arithmetic."""
    t = b.threshold
    hidden_sum = b.total - sum(r.count for r in b.rows if r.count is not None)
    others = [r for i, r in enumerate(b.rows) if r.hidden and i != index]
    low_others = sum(1 if r.hidden == SMALL else t for r in others)
    high_others = None if any(r.hidden == SECONDARY for r in others) else sum(t - 1 for r in others)
    low = max(1, hidden_sum - high_others) if high_others is not None else 1
    high = min(t - 1, hidden_sum - low_others)
    return low, high


@pytest.mark.parametrize("seed", range(40))
def test_property_small_numbers_never_show_and_cannot_be_worked_out(seed):
    rng = random.Random(seed)
    for _ in range(250):
        t = rng.randint(2, 15)
        counts = random_counts(rng, t)
        labels = [f"group {i}" for i in range(len(counts))]
        b = protect(list(zip(labels, counts, strict=True)), t)
        assert b.total == sum(counts) and b.threshold == t
        if b.withheld:
            assert b.rows == () and b.bars() == []
            # Withheld only when nothing could protect the small rows.
            assert any(0 < n < t for n in counts)
            continue
        assert [r.label for r in b.rows] == labels
        for r, n in zip(b.rows, counts, strict=True):
            # No figure shown is from 1 to t - 1; every such count is hidden as "fewer than t".
            if 0 < n < t:
                assert r.hidden == SMALL and r.count is None and r.text == f"fewer than {t}"
            elif r.hidden is None:
                assert r.count == n and r.text == f"{n:,}"
            else:
                assert r.hidden == SECONDARY and r.count is None and r.text == "not shown" and n >= t
            # Percentages only of a shown count, and only when the base is at least t.
            if r.percent is not None:
                assert r.count is not None and b.total >= t
                assert r.percent == f"{(200 * n + b.total) // (2 * b.total)}%"
            elif r.count is not None and b.total >= t:
                pytest.fail(f"a shown count without its percentage: {counts}, t={t}")
        # The chart never draws a hidden row.
        assert b.bars() == [(r.label, float(r.count)) for r in b.rows if r.count is not None]
        # Subtraction from the total tells a reader nothing more than "1 to t - 1".
        for i, r in enumerate(b.rows):
            if r.hidden == SMALL:
                assert label_aware_range(b, i) == (1, t - 1), (counts, t, i)


def _display(counts: list[int], t: int):
    b = protect([(str(i), n) for i, n in enumerate(counts)], t)
    return b.withheld, tuple((r.count, r.hidden) for r in b.rows), b.total


def _consistent_tables(counts: list[int], t: int) -> tuple[list[list[int]], list[int]]:
    """Every table a reader who knows this very procedure cannot tell apart from ``counts``."""
    withheld, rows, total = shown = _display(counts, t)
    hidden = [i for i, (_, h) in enumerate(rows) if h]
    hidden_sum = total - sum(c for c, h in rows if not h)
    ranges = [range(1, t) if rows[i][1] == SMALL else range(t, hidden_sum + 1) for i in hidden]
    tables = []
    for values in itertools.product(*ranges):
        if sum(values) != hidden_sum:
            continue
        candidate = list(counts)
        for i, v in zip(hidden, values, strict=True):
            candidate[i] = v
        if _display(candidate, t) == shown:
            tables.append(candidate)
    return tables, hidden


@pytest.mark.parametrize("seed", range(8))
def test_property_even_knowing_the_procedure_no_small_count_is_exact(seed):
    """Brute force: enumerate every table that would be displayed the same way; each small row
    must take at least two values among them (thresholds of 4 or more)."""
    rng = random.Random(1000 + seed)
    checked = 0
    for _ in range(150):
        t = rng.randint(4, 10)
        counts = random_counts(rng, t, largest=3 * t, most_rows=6)
        withheld, rows, _ = _display(counts, t)
        if withheld or not any(h for _, h in rows):
            continue
        tables, hidden = _consistent_tables(counts, t)
        assert counts in tables
        for i in hidden:
            if 0 < counts[i] < t:
                assert len({table[i] for table in tables}) >= 2, (counts, t, i)
                checked += 1
    assert checked > 50


# ---------------------------------------------------------------------------------------------
# Building a programme to measure


class World:
    """Candidates, cohorts, sessions, marks, milestones and applications, made directly."""

    def __init__(self, app, people):
        self.app = app
        self.people = people
        self.n = 0

    def staff(self) -> User:
        return db.session.get(User, self.people["admin"].id)

    def cohort(self, name: str, region: str = "London") -> int:
        with self.app.app_context():
            c = cohorts.create_cohort(
                self.staff(),
                cohorts.CohortFields(
                    name=name,
                    focus="both",
                    intake_start=date(2026, 1, 1),
                    intake_end=date(2027, 12, 31),
                    capacity=500,
                    region=region,
                ),
            )
            db.session.commit()
            return c.id

    def candidates(
        self,
        n: int,
        *,
        cohort_id: int | None = None,
        region: str | None = None,
        stage: str | None = None,
        ethnic_group: str | None = None,
        born: date | str | None = None,
        name: str = "Person",
    ) -> list[int]:
        """``n`` candidates with the given answers; returns their profile ids."""
        ids = []
        with self.app.app_context():
            staff = self.staff()
            cohort = db.session.get(Cohort, cohort_id) if cohort_id else None
            for _ in range(n):
                self.n += 1
                user = users.create_user(
                    None, email=f"w{self.n}@example.org", name=f"{name} {self.n}", role="candidate"
                )
                profile = candidates.ensure_profile(user)
                profile.home_region = region
                if cohort is not None:
                    cohorts.enrol(staff, cohort, profile)
                if stage is not None:
                    profile.stage = stage
                if ethnic_group:
                    candidates.record_sensitive(staff, profile, "ethnic_group", ethnic_group, consent=True)
                if born:
                    value = born if isinstance(born, str) else born.isoformat()
                    candidates.record_sensitive(staff, profile, "date_of_birth", value, consent=True)
                ids.append(profile.id)
            db.session.commit()
        return ids

    def session(self, cohort_id: int, starts_at: datetime, marks: dict[int, str], *, cancelled: bool = False) -> int:
        with self.app.app_context():
            s = ProgrammeSession(
                cohort_id=cohort_id,
                title="A session",
                skill_area="communication",
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=2),
                place="Town hall",
                cancelled_at=starts_at if cancelled else None,
            )
            db.session.add(s)
            db.session.flush()
            for profile_id, status in marks.items():
                db.session.add(Attendance(session_id=s.id, profile_id=profile_id, status=status))
            db.session.commit()
            return s.id

    def milestone(
        self, profile_id: int, type_name: str, *, status: str = "verified", people: int = 0, volunteers: int = 0
    ):
        with self.app.app_context():
            catalogue.ensure_seeded()
            t = db.session.scalar(select(MilestoneType).where(MilestoneType.name.startswith(type_name)))
            m = Milestone(
                profile_id=profile_id,
                type_id=t.id,
                occurred_on=date(2026, 5, 1),
                place="Community centre",
                description="A description.",
                people_reached=people,
                volunteers_recruited=volunteers,
                status=status,
                verified_at=datetime(2026, 5, 2, tzinfo=UTC) if status == "verified" else None,
            )
            db.session.add(m)
            db.session.commit()
            return m.id

    def application(self, profile_id: int, status: str = "considering", seat_offset: int = 0) -> int:
        with self.app.app_context():
            seat_id = db.session.scalar(select(Seat.id).order_by(Seat.id).offset(seat_offset).limit(1))
            a = Application(
                profile_id=profile_id, seat_id=seat_id, status=status, created_by_id=self.people["admin"].id
            )
            db.session.add(a)
            db.session.commit()
            return a.id


@pytest.fixture
def world(app, people):
    return World(app, people)


def _staff_user(people) -> User:
    return db.session.get(User, people["staff"].id)


# ---------------------------------------------------------------------------------------------
# The figures


def test_funnel_counts_each_stage_in_order_with_filters(app, people, world):
    london = world.cohort("London intake")
    world.candidates(3, cohort_id=london, region="London", stage="approved_list")
    world.candidates(2, region="North West", stage="selected")
    world.candidates(1, region="London", stage="withdrawn")
    with app.app_context():
        everyone = services.funnel(services.Filters())
        assert [b.key for b in everyone] == [
            "prospective",
            "in_programme",
            "approved_list",
            "applying",
            "selected",
            "elected",
            "withdrawn",
        ]
        counts = {b.key: b.count for b in everyone}
        # people["candidate"] and ["candidate2"] are prospective.
        assert counts == {
            "prospective": 2,
            "in_programme": 0,
            "approved_list": 3,
            "applying": 0,
            "selected": 2,
            "elected": 0,
            "withdrawn": 1,
        }
        in_cohort = {b.key: b.count for b in services.funnel(services.Filters(cohort_id=london))}
        assert sum(in_cohort.values()) == 3 and in_cohort["approved_list"] == 3
        in_london = {b.key: b.count for b in services.funnel(services.Filters(region="London"))}
        assert sum(in_london.values()) == 4 and in_london["withdrawn"] == 1


def test_attendance_by_month_in_uk_time_skipping_cancelled_sessions(app, people, world):
    cohort = world.cohort("Attendance cohort")
    other = world.cohort("Other cohort", region="North West")
    a, b, c = world.candidates(3, cohort_id=cohort, region="London")
    (d,) = world.candidates(1, cohort_id=other, region="North West")
    # 23:30 UTC on 31 July is 00:30 on 1 August in London (BST): an August session.
    world.session(cohort, datetime(2026, 7, 31, 23, 30, tzinfo=UTC), {a: "present", b: "late", c: "absent"})
    world.session(cohort, datetime(2026, 7, 10, 17, 0, tzinfo=UTC), {a: "absent", b: "excused"})
    world.session(cohort, datetime(2026, 7, 17, 17, 0, tzinfo=UTC), {a: "present"}, cancelled=True)
    world.session(other, datetime(2026, 8, 5, 17, 0, tzinfo=UTC), {d: "present"})
    world.session(cohort, datetime(2025, 1, 5, 17, 0, tzinfo=UTC), {a: "present"})  # too long ago
    today = date(2026, 8, 20)
    with app.app_context():
        months = services.attendance_by_month(services.Filters(), today=today)
        assert len(months) == 12 and months[0].month == date(2025, 9, 1) and months[-1].month == date(2026, 8, 1)
        by_month = {m.month: m for m in months}
        july, august = by_month[date(2026, 7, 1)], by_month[date(2026, 8, 1)]
        assert (july.sessions, july.marked, july.attended, july.percent) == (1, 2, 0, "0%")
        assert (august.sessions, august.marked, august.attended, august.percent) == (2, 4, 3, "75%")
        assert by_month[date(2026, 6, 1)].rate is None and by_month[date(2026, 6, 1)].percent == "–"
        only_cohort = {
            m.month: m for m in services.attendance_by_month(services.Filters(cohort_id=cohort), today=today)
        }
        assert (only_cohort[date(2026, 8, 1)].marked, only_cohort[date(2026, 8, 1)].attended) == (3, 2)
        north_west = {
            m.month: m for m in services.attendance_by_month(services.Filters(region="North West"), today=today)
        }
        assert (north_west[date(2026, 8, 1)].marked, north_west[date(2026, 7, 1)].marked) == (1, 0)


def test_milestone_totals_by_type_and_category(app, people, world):
    cohort = world.cohort("Milestone cohort")
    (a,) = world.candidates(1, cohort_id=cohort)
    (b,) = world.candidates(1)
    world.milestone(a, "Running a free English", people=12, volunteers=2)
    world.milestone(a, "Running a free English", status="logged", people=50)
    world.milestone(b, "Running a free English", people=5)
    world.milestone(b, "A voter-registration", status="returned")
    with app.app_context():
        totals = services.milestone_totals(services.Filters())
        assert [c.category for c in totals.categories] == ["community", "classes", "campaigning", "media", "civic"]
        classes = next(c for c in totals.categories if c.category == "classes")
        english = next(t for t in classes.types if t.name.startswith("Running a free English"))
        assert (english.verified, english.awaiting) == (2, 1)
        assert (english.people_reached, english.volunteers_recruited) == (17, 2)
        assert (totals.verified, totals.awaiting, totals.people_reached) == (2, 1, 17)
        campaigning = next(c for c in totals.categories if c.category == "campaigning")
        assert sum(t.returned for t in campaigning.types) == 1 and campaigning.verified == 0
        in_cohort = services.milestone_totals(services.Filters(cohort_id=cohort))
        assert (in_cohort.verified, in_cohort.awaiting, in_cohort.people_reached) == (1, 1, 12)


def test_applications_by_status(seat_data, app, people, world):
    cohort = world.cohort("Applications cohort")
    (a,) = world.candidates(1, cohort_id=cohort)
    (b,) = world.candidates(1)
    world.application(a, "considering", 0)
    world.application(a, "withdrawn", 1)
    world.application(b, "considering", 2)
    with app.app_context():
        counts = {bar.key: bar.count for bar in services.applications_by_status(services.Filters())}
        assert counts["considering"] == 2 and counts["withdrawn"] == 1 and counts["selected"] == 0
        assert list(counts)[0] == "considering" and len(counts) == 9
        in_cohort = {bar.key: bar.count for bar in services.applications_by_status(services.Filters(cohort_id=cohort))}
        assert (in_cohort["considering"], in_cohort["withdrawn"]) == (1, 1)


def test_ethnic_group_counts_use_the_ons_broad_groups(app, people, world):
    world.candidates(3, ethnic_group="asian_bangladeshi")
    world.candidates(2, ethnic_group="asian_indian")
    world.candidates(1, ethnic_group="black_caribbean")
    world.candidates(2, ethnic_group="prefer_not_to_say")
    (withdrawn,) = world.candidates(1, ethnic_group="white_irish")
    with app.app_context():
        profile = db.session.get(CandidateProfile, withdrawn)
        candidates.withdraw_consent(_staff_user(people), profile, "ethnic_group")
        db.session.commit()
        counts = dict(services.ethnic_group_counts(services.Filters()))
        assert counts == {
            "Asian, Asian British or Asian Welsh": 5,
            "Black, Black British, Black Welsh, Caribbean or African": 1,
            "Mixed or Multiple ethnic groups": 0,
            "White": 0,
            "Other ethnic group": 0,
            "Prefer not to say": 2,
            "Not answered": 3,  # the two people fixtures and the withdrawn answer
        }


def test_age_bands_from_dates_of_birth_on_the_day(app, people, world):
    today = date(2026, 3, 15)
    world.candidates(1, born=date(2001, 3, 15))  # 25 today
    world.candidates(1, born=date(2001, 3, 16))  # 24 until tomorrow
    world.candidates(1, born=date(2008, 3, 16))  # 17
    world.candidates(1, born=date(1996, 3, 15))  # 30
    world.candidates(1, born=date(1991, 3, 16))  # 34
    world.candidates(1, born=date(1981, 3, 15))  # 45
    world.candidates(1, born=date(1981, 3, 16))  # 44
    world.candidates(1, born="prefer_not_to_say")
    with app.app_context():
        counts = services.age_band_counts(services.Filters(), today=today)
        assert counts == [
            ("Under 18", 1),
            ("18–24", 1),
            ("25–29", 1),
            ("30–34", 2),
            ("35–44", 1),
            ("45 and over", 1),
            ("Prefer not to say", 1),
            ("Not answered", 2),
        ]
        # Nobody under 18 on another day: the row is left out (as a zero would be shown).
        later = services.age_band_counts(services.Filters(), today=date(2026, 3, 16))
        assert later[:2] == [("18–24", 1), ("25–29", 2)]


def test_years_before_handles_29_february():
    assert services.years_before(date(2028, 2, 29), 25) == date(2003, 2, 28)
    assert services.years_before(date(2026, 3, 1), 18) == date(2008, 3, 1)


def test_breakdowns_are_for_staff_only(app, people):
    with app.app_context():
        mentor = db.session.get(User, people["mentor"].id)
        with pytest.raises(Forbidden):
            services.breakdowns(mentor, services.Filters(), threshold=10, today=date(2026, 1, 1))


# ---------------------------------------------------------------------------------------------
# The page


def _section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    end = html.find("<h3", start + 10)
    return html[start : end if end != -1 else len(html)]


def test_dashboard_shows_small_groups_as_fewer_than_ten_and_audits_one_view(app, people, world, login_as):
    world.candidates(15, ethnic_group="asian_pakistani", born=date(1990, 6, 1))
    world.candidates(3, ethnic_group="black_african", born=date(1990, 6, 1))
    world.candidates(12, ethnic_group="white_british", born=date(1970, 6, 1))
    client = login_as(people["staff"])
    response = client.get("/dashboard/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    ethnic = _section(html, "ethnic-heading")
    assert "fewer than 10" in ethnic
    assert "not shown" in ethnic  # 15 + 3 + 12 + 2 not answered: one more row must hide
    assert ">3<" not in ethnic
    assert "<svg" in ethnic and 'role="img"' in ethnic
    with app.app_context():
        events = db.session.execute(
            select(AuditEvent.action, AuditEvent.summary, AuditEvent.actor_id).where(
                AuditEvent.action.in_(("dashboard.breakdowns_viewed", "sensitive.viewed"))
            )
        ).all()
    assert events == [("dashboard.breakdowns_viewed", "all candidates", people["staff"].id)]


def test_dashboard_threshold_comes_from_configuration(app, people, world, login_as):
    world.candidates(15, ethnic_group="asian_pakistani")
    world.candidates(6, ethnic_group="black_african")
    world.candidates(12, ethnic_group="white_british")
    client = login_as(people["staff"])
    ethnic = _section(client.get("/dashboard/").get_data(as_text=True), "ethnic-heading")
    assert "fewer than 10" in ethnic
    app.config["SMALL_NUMBER_THRESHOLD"] = 5
    ethnic = _section(client.get("/dashboard/").get_data(as_text=True), "ethnic-heading")
    assert "fewer than 10" not in ethnic and "fewer than 5" in ethnic  # the two people fixtures
    assert ">6<" in ethnic


def test_dashboard_withholds_a_breakdown_of_too_few_candidates(app, people, login_as):
    client = login_as(people["admin"])
    html = client.get("/dashboard/").get_data(as_text=True)
    assert "breakdown by ethnic group of these 2 candidates is not shown" in " ".join(html.split())


def test_dashboard_filters(app, people, world, login_as):
    cohort = world.cohort("Filter cohort")
    world.candidates(11, cohort_id=cohort, region="London", ethnic_group="asian_indian")
    client = login_as(people["staff"])
    html = client.get(f"/dashboard/?cohort={cohort}&region=London").get_data(as_text=True)
    assert "Figures for cohort Filter cohort, region London: 11 candidates." in html
    with app.app_context():
        summary = db.session.scalar(
            select(AuditEvent.summary).where(AuditEvent.action == "dashboard.breakdowns_viewed")
        )
    assert summary == "cohort Filter cohort, region London"
    for bad in ("?cohort=999999", "?cohort=abc", "?region=Atlantis"):
        response = client.get("/dashboard/" + bad)
        assert response.status_code == 400, bad
        assert "from the list" in response.get_data(as_text=True)


def test_dashboard_query_count_does_not_grow_with_the_programme(seat_data, app, people, world, login_as):
    client = login_as(people["staff"])
    client.get("/dashboard/")
    with count_queries(app) as few:
        assert client.get("/dashboard/").status_code == 200
    cohort = world.cohort("Big cohort")
    ids = world.candidates(40, cohort_id=cohort, region="London", ethnic_group="mixed_other", born=date(1999, 1, 1))
    for day in range(1, 6):
        world.session(cohort, datetime(2026, 10, day, 17, tzinfo=UTC), dict.fromkeys(ids, "present"))
    for pid in ids[:10]:
        world.milestone(pid, "Running a free English", people=3)
        world.application(pid, "considering", pid % 5)
    with count_queries(app) as many:
        assert client.get("/dashboard/").status_code == 200
        assert client.get(f"/dashboard/?cohort={cohort}&region=London").status_code == 200
    assert len(many) == 2 * len(few)
    # A few queries for the figures, the cohorts, the audit entry and the signed-in session.
    assert len(few) <= 12


def test_dashboard_is_staff_only_and_linked_in_the_navigation(app, people, login_as):
    client = login_as(people["staff"])
    assert 'href="/dashboard/"' in client.get("/home").get_data(as_text=True)
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("dashboard.%")))
    assert n == 0
