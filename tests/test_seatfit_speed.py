"""Seat-fit at scale: the fast ranking gives exactly what checking every seat one by one gives
(scores, bands, order, sentences), on random and real seats; the kept (cached) seat factors give
the same rankings as the uncached path; the pages stay within a fixed number of queries."""

from __future__ import annotations

import dataclasses
import random

import pytest
from flask import url_for
from sqlalchemy import select

from d2w.auth.models import User
from d2w.core.extensions import db
from d2w.seatfit import engine
from d2w.seatfit.engine import CandidateFacts, Medians, ResultFacts, SeatFacts, Thresholds, TieFacts
from tests.conftest import count_queries, login

T = Thresholds()
MEDIANS = Medians(bme_pct=8.8, young_adult_pct=11.2, leave_pct=53.0)
REGIONS = ("London", "Wales", "North West", "Scotland")
BOROUGHS = ("Lewisham", "Test", "Testborough", "North", "Bury", "St. Helens", "Newport (West)", "Ealing\nSouth")


def straightforward(candidate, seats, thresholds, medians):
    """The ranking as it was first written: ``check`` on every seat, sorted by band, score, name."""
    results = [(seat, engine.check(candidate, seat, thresholds, medians)) for seat in seats]
    results.sort(key=lambda pair: (engine.BAND_ORDER[pair[1].band], -pair[1].score, pair[0].name))
    return results


def assert_same(ranked, expected):
    assert [s.seat_id for s, _ in ranked] == [s.seat_id for s, _ in expected]
    for (seat, fast), (_, slow) in zip(ranked, expected, strict=True):
        assert (fast.band, fast.score) == (slow.band, slow.score), seat.name
        # Every factor (score, sentence, figures, warning), the warnings, and equality both ways.
        assert fast.factors == slow.factors, seat.name
        assert fast.warnings == slow.warnings, seat.name
        assert fast == slow and slow == fast


def random_seats(rng: random.Random, n: int, *, odd_counties: bool = True) -> list[SeatFacts]:
    """Random seats; ``odd_counties`` lets a county hold a line break (the engine's other path)."""
    counties = [None, None, "Greater Manchester", "St. Helens", "Test shire"]
    if odd_counties:
        counties.append("Ealing\nSouth")
    seats = []
    for i in range(n):
        winner, second = rng.sample(["lab", "con", "ld", "snp", "green", "reform"], 2)
        shares = {winner: round(rng.uniform(30, 60), 1), second: round(rng.uniform(10, 30), 1)}
        if rng.random() < 0.3:
            shares["lab"] = rng.choice([0.0, round(rng.uniform(1, 20), 1)])
        latest = None if rng.random() < 0.05 else ResultFacts("2024", winner, second, rng.uniform(0, 40), shares)
        seats.append(
            SeatFacts(
                code=f"E14{i:06d}",
                name=rng.choice(["Testborough", "Lewisham", "Bury", "Ealing", "Newport"])
                + rng.choice([" North", " South", " and Test", " West", "", " (West)"])
                + f" {i // 7}",
                boundary_set="2024",
                country="England",
                region=rng.choice(REGIONS),
                county=rng.choice(counties),
                leave_pct=None if rng.random() < 0.05 else round(rng.uniform(15, 75), 1),
                leave_basis=rng.choice(["estimate", "known_council", None]),
                bme_pct=None if rng.random() < 0.1 else round(rng.uniform(0, 70), 1),
                young_adult_pct=round(rng.uniform(5, 30), 1),
                latest=latest,
                seat_id=i + 1,
            )
        )
    return seats


def random_candidate(rng: random.Random, seats: list[SeatFacts], stance: str) -> CandidateFacts:
    ties = []
    for _ in range(rng.choice([0, 1, 3, 8])):
        seat = rng.choice(seats)
        ties.append(
            TieFacts(
                type_name="Surgery",
                region=rng.choice([None, *REGIONS, "london ", "Nowhere"]),
                borough=rng.choice([None, None, *BOROUGHS]),
                seat_code=rng.choice([None, seat.code]),
                seat_name=rng.choice([None, seat.name, seat.name.upper()]),
                community=rng.choice([None, "Somali community", "Bengali speakers", "Polish church", ""]),
            )
        )
    return CandidateFacts(
        stance=stance,
        home_region=rng.choice([None, *REGIONS, " Wales "]),
        home_borough=rng.choice([None, *BOROUGHS, "  "]),
        ties=tuple(ties),
        languages=tuple(rng.sample(["Somali", "Bengali", "Polish", "Welsh", " "], rng.choice([0, 1, 2]))),
    )


@pytest.mark.parametrize("odd_counties", [False, True])
def test_the_fast_ranking_equals_checking_every_seat_for_random_data(odd_counties):
    rng = random.Random(20261122)
    seats = random_seats(rng, 300, odd_counties=odd_counties)
    assert (engine.prepare_seats(seats, "leave", T, MEDIANS).text is None) == odd_counties
    medians = engine.national_medians(seats)
    for stance in engine.STANCES:
        prepared = engine.prepare_seats(seats, stance, T, medians)
        for _ in range(12):
            candidate = random_candidate(rng, seats, stance)
            expected = straightforward(candidate, seats, T, medians)
            assert_same(engine.rank_prepared(candidate, prepared), expected)
            assert_same(engine.rank(candidate, seats, T, medians), expected)


def test_the_fast_ranking_with_other_thresholds_and_a_filter():
    rng = random.Random(8)
    seats = random_seats(rng, 120)
    t = Thresholds(party="con", leave_voter_min_leave_pct=45, safe_majority_pct=5, target_max_swing_pct=3)
    prepared = engine.prepare_seats(seats, "leave", t, MEDIANS)
    some = [s.seat_id for s in seats if s.seat_id % 3 == 0]
    for _ in range(10):
        candidate = random_candidate(rng, seats, "leave")
        kept = [s for s in seats if s.seat_id in set(some)]
        assert_same(engine.rank_prepared(candidate, prepared.only(some)), straightforward(candidate, kept, t, MEDIANS))


def test_prepared_seats_refuse_a_candidate_of_another_stance():
    seats = random_seats(random.Random(1), 5)
    prepared = engine.prepare_seats(seats, "remain", T, MEDIANS)
    with pytest.raises(ValueError):
        engine.rank_prepared(CandidateFacts(stance="leave"), prepared)
    with pytest.raises(ValueError):
        engine.prepare_seats(seats, "maybe", T, MEDIANS)


def test_the_fast_ranking_equals_checking_every_real_seat(seat_data, app):
    """Real seats of both boundary sets; candidates with ties by seat code, seat name (also the
    same-named seat on the other boundaries), borough, region, home and languages."""
    from d2w.seatfit import services

    rng = random.Random(650)
    with app.app_context():
        t = services.thresholds()
        for boundary_set in ("2024", "2010"):
            facts, medians = services.seat_facts(boundary_set)
            assert len(facts) == 650 if boundary_set == "2024" else len(facts) == 650
            london = [f for f in facts if f.region == "London"]
            candidates = [
                CandidateFacts(),
                CandidateFacts(home_region="London", home_borough="Lewisham", languages=("Somali",)),
                CandidateFacts(
                    home_region="Wales",
                    ties=(
                        TieFacts("Surgery", seat_code=london[0].code, community="Somali community"),
                        TieFacts("Hustings", borough="Bristol"),
                        TieFacts("Canvassing", region="London", community="Bengali speakers"),
                        TieFacts("Jobs club", seat_name="Lewisham North"),
                    ),
                    languages=("Bengali", "Somali"),
                ),
                CandidateFacts(
                    home_borough="Birmingham",
                    ties=tuple(TieFacts("Surgery", seat_code=s.code, region=s.region) for s in rng.sample(facts, 5)),
                ),
            ]
            for stance in ("leave", "remain", "unknown", "did_not_vote"):
                prepared = engine.prepare_seats(facts, stance, t, medians)
                for base in candidates:
                    candidate = dataclasses.replace(base, stance=stance)
                    expected = straightforward(candidate, facts, t, medians)
                    assert_same(engine.rank_prepared(candidate, prepared), expected)


def _profile(app, people, *, region, borough, stance=None):
    from d2w.candidates.services import ensure_profile, record_sensitive

    with app.app_context():
        user = db.session.get(User, people["candidate"].id)
        profile = ensure_profile(user)
        profile.home_region = region
        profile.home_borough = borough
        if stance:
            record_sensitive(user, profile, "eu_ref_vote", stance, consent=True)
        db.session.commit()
        return profile.id


def test_rank_seats_with_the_cache_on_gives_the_uncached_results(seat_data, app, people):
    """The cache off (as in tests) and on give identical rankings; seats prepared for one
    candidate's stance serve the next candidate of that stance with their own ties."""
    from d2w.candidates.models import CandidateProfile
    from d2w.seatfit import services
    from d2w.seats.models import Seat

    profile_id = _profile(app, people, region="London", borough="Lewisham", stance="leave")
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        profile = db.session.get(CandidateProfile, profile_id)
        seat_ids = db.session.scalars(select(Seat.id).where(Seat.boundary_set == "2024", Seat.region == "London")).all()
        cases = [(None, None), ("remain", None), ("unknown", None), ("leave", seat_ids), ("did_not_vote", None)]
        uncached = {}
        for stance, ids in cases:
            ranked = services.rank_seats(staff, profile, "2024", stance, ids)
            facts, medians = services.seat_facts("2024")
            if ids is not None:
                facts = [f for f in facts if f.seat_id in set(ids)]
            candidate = services.candidate_facts(profile, stance)
            assert_same(ranked, straightforward(candidate, facts, services.thresholds(), medians))
            uncached[stance, ids is None] = ranked
        app.config["SEATFIT_FACTS_CACHE_SECONDS"] = 300
        services.clear_cache()
        try:
            for _ in range(2):  # filled, then read from the cache
                for stance, ids in cases:
                    assert_same(services.rank_seats(staff, profile, "2024", stance, ids), uncached[stance, ids is None])
            # Another candidate, same stance, from the kept seats: their own home, not the first one's.
            other = services.rank_seats(staff, profile, "2024", "remain")
            profile.home_region, profile.home_borough = "Wales", None
            db.session.flush()
            moved = services.rank_seats(staff, profile, "2024", "remain")
            assert moved[0][0].region == "Wales" and other[0][0].region == "London"
            facts, medians = services.seat_facts("2024")
            candidate = services.candidate_facts(profile, "remain")
            assert_same(moved, straightforward(candidate, facts, services.thresholds(), medians))
            db.session.rollback()
        finally:
            app.config["SEATFIT_FACTS_CACHE_SECONDS"] = 0
            services.clear_cache()


def test_a_saved_check_is_the_same_as_its_row_in_the_ranking(seat_data, app, people):
    from d2w.candidates.models import CandidateProfile
    from d2w.seatfit import services
    from d2w.seats.models import Seat

    profile_id = _profile(app, people, region="South West", borough="Bristol")
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        profile = db.session.get(CandidateProfile, profile_id)
        ranked = services.rank_seats(staff, profile, "2024", "leave")
        for seat_fact, result in (ranked[0], ranked[300], ranked[-1]):
            seat = db.session.get(Seat, seat_fact.seat_id)
            saved = services.run_check(staff, profile, seat, "leave")
            assert (saved.band, saved.score) == (result.band, result.score)
            assert [(f.name, f.score, f.reason, f.warning) for f in saved.factors] == [
                (f.name, f.score, f.reason, f.warning) for f in result.factors
            ]
            assert saved.warnings == "\n".join(result.warnings)
        db.session.rollback()


# ---------------------------------------------------------------------------------------------
# Pages: a fixed number of queries


def test_rank_page_queries_are_bounded_and_it_shows_each_rows_reasons(seat_data, app, people):
    profile_id = _profile(app, people, region="London", borough="Lewisham", stance="remain")
    client = app.test_client()
    login(client, people["staff"].email)
    client.get(f"/seat-fit/rank/{profile_id}")
    queries_of = ("", "?stance=leave", "?region=London&band=good", "?page=3", "?boundaries=2010&bme_min=20")

    def counts():
        out = []
        for query in queries_of:
            with count_queries(app) as queries:
                response = client.get(f"/seat-fit/rank/{profile_id}{query}")
            assert response.status_code == 200
            out.append(len(queries))
        return out

    # Session and user, profile, languages, milestones, declared vote, the seat figures (two),
    # the audit of the shown vote; plus the filtered seat ids when a filter is on.
    assert max(counts()) <= 10
    from d2w.seatfit import services

    app.config["SEATFIT_FACTS_CACHE_SECONDS"] = 300
    services.clear_cache()
    try:
        client.get(f"/seat-fit/rank/{profile_id}")
        client.get(f"/seat-fit/rank/{profile_id}?boundaries=2010")
        assert max(counts()) <= 8  # the seat figures (and prepared factors) kept
    finally:
        app.config["SEATFIT_FACTS_CACHE_SECONDS"] = 0
        services.clear_cache()
    page = client.get(f"/seat-fit/rank/{profile_id}?stance=remain").get_data(as_text=True)
    assert "Lewisham" in page and "you live in the region (London)" in page


def test_check_page_queries_are_bounded(seat_data, app, people):
    from d2w.audit.models import AuditEvent
    from tests.test_seatfit import seatfit_placeholders

    ids = seatfit_placeholders(app, people, 0)
    client = app.test_client()
    login(client, people["staff"].email)
    client.get(f"/seat-fit/{ids['fit_check']}")
    with count_queries(app) as queries:
        response = client.get(f"/seat-fit/{ids['fit_check']}")
    assert response.status_code == 200
    assert len(queries) <= 8, queries
    # the page commits its audit entry after rendering; the request log then names the user by
    # the id noted at sign-in, without loading them again
    after_commit = queries[[q.lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS") for q in queries].index(True) :]
    assert not [q for q in after_commit if "FROM users" in q], after_commit
    assert "Referendum alignment" in response.get_data(as_text=True)
    with app.app_context():
        # The staff member was shown a referendum vote: audited on every view.
        seen = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sensitive.viewed")).all()
        assert len(seen) == 2


def test_the_ranking_rows_helpers_write_what_the_macros_write(app):
    """The rank page writes its many rows with Python helpers: the same HTML as the macros."""
    from d2w.seatfit import views

    with app.test_request_context():
        macros = app.jinja_env.get_template("seatfit/_macros.html").module
        for band in engine.BANDS:
            assert str(views._band_tag(band)) == str(macros.band_tag(band, engine.BAND_LABELS))
        for score in (None, 0.0, 10.0, 45.5, 57.3, 100.0, 62.25, 0.1):
            assert views._score_text(score) == str(macros.score_text(score))
        # As rank.html wrote them: url_for('seats.detail', seat_id=...) and
        # url_for('seatfit.new', profile=..., seat=...), query arguments in that order.
        detail = views._urls_by_id("seats.detail", "seat_id")
        save = views._urls_by_id("seatfit.new", "seat", profile=12)
        for seat_id in (1, 7, 650, 2147483647):
            assert detail(seat_id) == url_for("seats.detail", seat_id=seat_id)
            assert save(seat_id) == url_for("seatfit.new", profile=12, seat=seat_id)
