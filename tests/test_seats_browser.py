"""The seat pages through the test client: the browser's filters, sorting, paging and query
counts; a seat's page (figures beside medians, charts, results, sources); the staff analysis.

Every test here reads the real seat data (``seat_data``) and changes no seat table."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from d2w.core.extensions import db
from d2w.seats import provenance, queries
from d2w.seats.models import Seat
from tests.conftest import count_queries, login

ROW = re.compile(r'<a href="/seats/(\d+)">([^<]+)</a><br><span class="muted small">([A-Z]\d{8})</span>')


def seats_on(response) -> list[tuple[str, str]]:
    """(name, code) of the seats listed on a browser page, in order."""
    text = response.get_data(as_text=True)
    return [(html.unescape(name), code) for _, name, code in ROW.findall(text)]


def seat_id(app, code: str, boundary_set: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Seat.id).where(Seat.ons_code == code, Seat.boundary_set == boundary_set))


@pytest.fixture
def staff(client, people):
    login(client, people["staff"].email)
    return client


# ---------------------------------------------------------------------------------------------
# The browser


def test_browser_lists_the_2024_seats_by_name_in_pages(seat_data, app, staff):
    response = staff.get("/seats/")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    rows = seats_on(response)
    assert len(rows) == app.config["PAGE_SIZE"] == 25
    assert rows[0] == ("Aberafan Maesteg", "W07000081")
    assert [n.lower() for n, _ in rows] == sorted(n.lower() for n, _ in rows)
    assert "Showing 1–25 of 650" in text
    assert "on the 2024 boundaries" in text and "Won 2024" in text and "Aged 20–29" in text
    last = staff.get("/seats/?page=26")
    assert "Showing 626–650 of 650" in last.get_data(as_text=True)
    assert seats_on(last)[-1][0].startswith("Y")
    # Past the end: the last page.
    assert seats_on(staff.get("/seats/?page=999")) == seats_on(last)


def test_every_signed_in_role_browses_and_anonymous_users_sign_in(seat_data, app, client, people):
    assert client.get("/seats/").headers["Location"].startswith("/auth/login")
    for who in ("candidate", "mentor", "staff", "admin"):
        c = app.test_client()
        login(c, people[who].email)
        response = c.get("/seats/?boundaries=2010")
        assert response.status_code == 200, who
        text = response.get_data(as_text=True)
        assert "Won 2019" in text and "Aged 18–29" in text
        # Only staff are offered the analysis.
        assert ("/seats/analysis" in text) == (who in ("staff", "admin")), who


def test_browser_filters(seat_data, app, staff):
    london_2010 = staff.get("/seats/?boundaries=2010&region=London&bme_min=50&winner=con")
    assert seats_on(london_2010) == [("Harrow East", "E14000731")]
    high = staff.get("/seats/?boundaries=2010&bme_min=30&per_page=100")
    assert "Showing 1–25 of 75" in high.get_data(as_text=True)
    scotland = staff.get("/seats/?country=Scotland&winner=snp")
    assert "of 9</p>" in scotland.get_data(as_text=True)
    assert all(code.startswith("S14") for _, code in seats_on(scotland))
    leave = staff.get("/seats/?boundaries=2010&leave_min=70&sort=leave&dir=desc")
    rows = seats_on(leave)
    assert rows[0] == ("Boston and Skegness", "E14000582")
    marginal = staff.get("/seats/?majority_max=0.1&sort=majority")
    assert len(seats_on(marginal)) >= 1
    search = staff.get("/seats/?q=harrow")
    assert [n for n, _ in seats_on(search)] == ["Harrow East", "Harrow West"]
    by_code = staff.get("/seats/?q=e14000530&boundaries=2010")
    assert seats_on(by_code) == [("Aldershot", "E14000530")]
    nothing = staff.get("/seats/?q=Atlantis")
    assert nothing.status_code == 200 and "No seats match these filters." in nothing.get_data(as_text=True)
    # The form shows what was asked.
    text = london_2010.get_data(as_text=True)
    assert '<option selected value="London">' in text and 'name="bme_min" step="any" type="number" value="50"' in text


def test_bad_filters_are_named_at_their_fields_and_ignored(seat_data, app, staff):
    response = staff.get("/seats/?boundaries=1997&leave_min=lots&bme_min=40&bme_max=20&winner=labour&region=East")
    assert response.status_code == 400
    text = html.unescape(response.get_data(as_text=True))
    assert "Choose the 2010 or the 2024 boundaries." in text
    assert "Enter the lowest Leave share as a number from 0 to 100." in text
    assert "The highest minority ethnic (BME) share must not be below the lowest." in text
    assert "Choose a party from the list." in text and "Choose a region from the list." in text
    assert 'aria-invalid="true"' in text
    # Refused filters filter nothing; the others still apply (BME at least 40 on the 2024 set).
    with app.app_context():
        expected = db.session.scalar(select(db.func.count()).where(Seat.boundary_set == "2024", Seat.bme_pct >= 40))
    assert f"of {expected}</p>" in text


@pytest.mark.parametrize("key", sorted(queries.SORTS))
def test_every_column_sorts_both_ways(seat_data, app, staff, key):
    up = seats_on(staff.get(f"/seats/?boundaries=2010&sort={key}"))
    down = seats_on(staff.get(f"/seats/?boundaries=2010&sort={key}&dir=desc"))
    assert len(up) == len(down) == 25
    assert up != down


def test_sorting_puts_missing_figures_last_and_keeps_filters(seat_data, app, staff):
    # NI seats have no BME share: last in both directions on both databases.
    up = staff.get("/seats/?boundaries=2010&country=Northern+Ireland&sort=bme")
    assert len(seats_on(up)) == 18
    down = seats_on(staff.get("/seats/?boundaries=2010&sort=bme&dir=desc"))
    assert down[0] == ("East Ham", "E14000679")
    up_all = staff.get("/seats/?boundaries=2010&sort=bme&page=26")
    assert all(code.startswith("N06") for _, code in seats_on(up_all)[-18:])
    # Sort links keep the filters and go back to page 1.
    text = staff.get("/seats/?boundaries=2010&region=London&page=2").get_data(as_text=True)
    assert 'href="/seats/?boundaries=2010&amp;region=London&amp;sort=bme&amp;dir=asc"' in text


def test_browser_runs_the_same_queries_for_any_page_filter_or_sort(seat_data, app, staff):
    def queries_for(path: str) -> int:
        with count_queries(app) as statements:
            assert staff.get(path).status_code == 200, path
        return len(statements)

    app.config["KEEP_FIGURES_UNTIL_CHANGED"] = False  # the pages as drawn
    baseline = queries_for("/seats/")
    assert baseline <= 8
    for path in (
        "/seats/?page=2",
        "/seats/?page=26",
        "/seats/?boundaries=2010&sort=majority&dir=desc&page=3",
        "/seats/?boundaries=2010&bme_min=30&winner=lab&region=London",
        "/seats/?q=zzz",
    ):
        assert queries_for(path) == baseline, path


# ---------------------------------------------------------------------------------------------
# One seat


def test_seat_page_shows_figures_beside_medians(seat_data, app, client, people):
    login(client, people["candidate"].email)
    aldershot = seat_id(app, "E14000530", "2010")
    response = client.get(f"/seats/{aldershot}")
    assert response.status_code == 200
    text = html.unescape(response.get_data(as_text=True))
    assert "<h1>Aldershot</h1>" in text
    assert "E14000530 · 2010 boundaries" in text
    with app.app_context():
        medians = queries.national_medians("2010")
    # The seat's figure, then the median, in the same row.
    assert re.search(r"Leave share, 2016 EU referendum.*?57\.9%.*?" + f"{medians['leave_pct']:.1f}%", text, re.S)
    assert re.search(r"Minority ethnic \(BME\) share.*?14\.5%.*?5\.6%", text, re.S)
    assert "Young adults, aged 18–29" in text and "17.0%" in text
    assert "Known figure, from ward-level results (BBC, Rosenbaum)" in text
    assert provenance.LEAVE_CAVEAT in text
    assert "Leo Docherty" in text and "16,698" in text and "Con hold" in text
    assert "103,922 usual residents" in text and "Census 2011 (ONS and NRS, via the BES)" in text


def test_seat_page_says_when_a_leave_share_is_an_estimate(seat_data, app, staff):
    text = html.unescape(staff.get(f"/seats/{seat_id(app, 'E14001063', '2024')}").get_data(as_text=True))
    assert "2024 boundaries (used from the 2024 general election)" in text
    assert '<span class="tag tag-amber">Estimate</span> Modelled estimate (Hanretty)' in text
    assert "Aged 20–29" in text
    assert "2019 (notional)" in text and "Notional result" in text and "Alex Baker" in text


def test_seat_page_of_a_northern_ireland_seat(seat_data, app, staff):
    text = html.unescape(staff.get(f"/seats/{seat_id(app, 'N05000001', '2024')}").get_data(as_text=True))
    assert "No census figures" in text and "No figure: no Leave estimate for Northern Ireland" in text
    assert "DUP" in text


def test_seat_page_charts(seat_data, app, staff):
    text = staff.get(f"/seats/{seat_id(app, 'E14000530', '2010')}").get_data(as_text=True)
    svgs = re.findall(r"<svg xmlns=.*?</svg>", text, re.S)
    assert len(svgs) == 2
    line, bar = (ET.fromstring(s) for s in svgs)  # noqa: S314 - our own markup
    ns = "{http://www.w3.org/2000/svg}"
    assert line.find(f"{ns}title").text == "Party shares of the vote in Aldershot, 2015 to 2019"
    labels = ["".join(t.itertext()) for t in line.iter(f"{ns}text")]
    assert {"2015", "2017", "2019", "Conservative", "Labour", "55.1%"} <= set(labels)
    # UKIP did not stand in 2019 (a share of 0): a gap, not a point at 0.
    titles = [t.text for t in line.iter(f"{ns}title")]
    assert "UKIP, 2015: 17.9%" in titles and not any(t.startswith("UKIP, 2019") for t in titles)
    assert bar.find(f"{ns}title").text == "2019 result in Aldershot"
    assert "Conservative: 58.4%" in [t.text for t in bar.iter(f"{ns}title")]
    assert "style=" not in "".join(svgs)


def test_seat_page_lists_sources_and_caveats(seat_data, app, staff):
    text = html.unescape(staff.get(f"/seats/{seat_id(app, 'E14000530', '2010')}").get_data(as_text=True))
    assert "Where these figures come from" in text
    assert 'id="source-A1"' in text and "Final estimates of the Leave vote share in the EU referendum" in text
    assert "Licence: none stated in file (see note L)" in text
    assert "none stated in file; the BES asks users to cite it" in text
    assert 'id="source-B1"' not in text  # the 2024 set's sources are not this seat's
    for caveat in provenance.CAVEATS:
        assert caveat in text
    new = html.unescape(staff.get(f"/seats/{seat_id(app, 'E14001063', '2024')}").get_data(as_text=True))
    assert "Crown copyright 2024 (in file)" in new and "CC BY-SA 4.0" in new
    assert "Rallings & Thrasher's notional 2019 result" in new


def test_seat_page_leaves_a_place_for_actions(seat_data, app, staff):
    text = staff.get(f"/seats/{seat_id(app, 'E14000530', '2010')}").get_data(as_text=True)
    assert text.index("<h1>Aldershot</h1>") < text.index('id="profile-heading"')


def test_unknown_seat_is_404(seat_data, app, staff):
    assert staff.get("/seats/99999999").status_code == 404
    assert staff.get("/seats/99999999999999999999").status_code == 404
    assert staff.get("/seats/abc").status_code == 404


def test_seat_page_runs_a_fixed_number_of_queries(seat_data, app, staff):
    counts = []
    for code, boundary_set in (("E14000530", "2010"), ("E14001063", "2024"), ("N05000001", "2024")):
        path = f"/seats/{seat_id(app, code, boundary_set)}"
        with count_queries(app) as statements:
            assert staff.get(path).status_code == 200
        counts.append(len(statements))
    assert len(set(counts)) == 1 and counts[0] <= 10


# ---------------------------------------------------------------------------------------------
# Analysis (staff)


def test_analysis_2017_at_30_pct(seat_data, app, staff):
    response = staff.get("/seats/analysis?boundaries=2010&election=2017&bme_threshold=30")
    assert response.status_code == 200
    text = html.unescape(response.get_data(as_text=True))
    assert "Seats with a BME share of 30% or more: 2017" in text
    assert '<span class="stat-number">75</span>' in text
    assert "of 632 with census figures" in text
    assert "18 seats without census figures (Northern Ireland) are left out of every BME figure" in text
    assert re.search(r"Labour</span></td><td class=\"num\">70</td>", text)
    assert re.search(r"Conservative</span></td><td class=\"num\">5</td>", text)
    assert '<span class="stat-number">43.7%</span>' in text  # median of the 75
    assert '<span class="stat-number">5.6%</span>' in text  # median of all 632 GB seats
    for name in ("Harrow East", "Hendon", "Finchley and Golders Green", "Enfield, Southgate", "East Ham"):
        assert name in text
    assert f'href="/seats/{seat_id(app, "E14000731", "2010")}">Harrow East</a>' in text
    svgs = re.findall(r"<svg xmlns=.*?</svg>", text, re.S)
    assert len(svgs) == 3  # by winner, BME scatter, Leave scatter
    assert "Labour (262)" in svgs[1] and "Conservative (317)" in svgs[1]
    # The Leave section: every seat with a figure (the 2010 set has NI counts too) in one band.
    assert "Leave share against result: 2017" in text and "60% or more" in text
    assert re.search(r"<tfoot><tr><th scope=\"row\">All</th>.*?<td class=\"num\">650</td></tr></tfoot>", text, re.S)


def test_analysis_defaults_to_the_latest_election_and_checks_its_form(seat_data, app, staff):
    default = staff.get("/seats/analysis")
    assert default.status_code == 200
    text = html.unescape(default.get_data(as_text=True))
    assert "Seats with a BME share of 30% or more: 2024" in text
    assert "18 seats without a Leave figure (Northern Ireland on the 2024 boundaries)" in text
    assert '<optgroup label="2010 boundaries">' in text
    bad = staff.get("/seats/analysis?boundaries=2024&election=2017&bme_threshold=30")
    assert bad.status_code == 400
    text = html.unescape(bad.get_data(as_text=True))
    assert "The 2017 election was not held on the 2024 boundaries: choose 2019 (notional) or 2024." in text
    assert "Seats with a BME share" not in text
    for threshold in ("", "abc", "101", "-1", "nan"):
        response = staff.get(f"/seats/analysis?boundaries=2010&election=2017&bme_threshold={threshold}")
        assert response.status_code == 400, threshold
        assert "Enter" in response.get_data(as_text=True)
    assert staff.get("/seats/analysis?boundaries=1997&election=2017&bme_threshold=30").status_code == 400


def test_analysis_at_a_threshold_nobody_reaches(seat_data, app, staff):
    text = staff.get("/seats/analysis?boundaries=2010&election=2019&bme_threshold=99").get_data(as_text=True)
    assert "No seat has a BME share of 99% or more." in text


def test_analysis_is_for_staff_only(seat_data, app, people):
    for who, status in (("candidate", 403), ("mentor", 403), ("staff", 200), ("admin", 200)):
        c = app.test_client()
        login(c, people[who].email)
        assert c.get("/seats/analysis?boundaries=2010&election=2017&bme_threshold=30").status_code == status, who


def test_analysis_runs_a_fixed_number_of_queries(seat_data, app, staff):
    counts = []
    for args in ("boundaries=2010&election=2017&bme_threshold=30", "boundaries=2024&election=2019n&bme_threshold=5"):
        with count_queries(app) as statements:
            assert staff.get(f"/seats/analysis?{args}").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 6


def test_analysis_fills_in_what_the_address_leaves_out(seat_data, app, staff):
    text = html.unescape(staff.get("/seats/analysis?boundaries=2010").get_data(as_text=True))
    assert "Seats with a BME share of 30% or more: 2019" in text
    text = html.unescape(staff.get("/seats/analysis?bme_threshold=50").get_data(as_text=True))
    assert "Seats with a BME share of 50% or more: 2024" in text


# ---------------------------------------------------------------------------------------------
# What is kept between requests (SEATFIT_FACTS_CACHE_SECONDS; 0 in the tests above)

# The seats macros as they were first written in templates: the Python that writes them now
# (and that the browser's rows call directly) must write the same HTML.
ORIGINAL_MACROS = """
{% macro party(code) -%}
{%- if code -%}
<span class="party"><svg class="swatch" width="12" height="12" viewBox="0 0 12 12" aria-hidden="true" focusable="false"><rect width="12" height="12" rx="2" fill="{{ party_colours.get(code, '#707070') }}"/></svg>{{ party_names.get(code, code) }}</span>
{%- else -%}<span class="muted">None</span>{%- endif -%}
{%- endmacro %}
{% macro pct(value, places=1) -%}
{%- if value is none -%}<span class="muted">–<span class="visually-hidden">no figure</span></span>
{%- else -%}{{ "{:.{}f}".format(value, places) }}%{%- endif -%}
{%- endmacro %}
"""


def test_the_seat_macros_and_their_python_write_the_same_html(app):
    from d2w.seats.models import PARTIES
    from d2w.seats.views import party_html, pct_html

    with app.test_request_context():
        env = app.jinja_env
        original = env.from_string(ORIGINAL_MACROS).module
        macros = env.get_template("seats/_macros.html").module
        for code in (*PARTIES, None, "", "xyz<&>"):
            assert str(party_html(code)) == str(original.party(code)) == str(macros.party(code)), code
        for value in (None, 0, 0.0, 5, 12.345, 99.95, 100.0, 0.05, 33.333333):
            for places in (0, 1, 2):
                expected = str(original.pct(value, places))
                assert str(pct_html(value, places)) == expected == str(macros.pct(value, places)), (value, places)
            assert str(pct_html(value)) == str(original.pct(value))


CSRF_VALUE = re.compile(r'(?<=name="csrf_token" value=")[^"]*|(?<=name="csrf_token" type="hidden" value=")[^"]*')


def test_kept_pages_are_the_same_and_run_fewer_queries(seat_data, app, staff, kept):
    paths = (
        "/seats/analysis?boundaries=2010&election=2017&bme_threshold=30",
        "/seats/analysis",
        "/seats/analysis?boundaries=2024&election=2019n&bme_threshold=5",
        f"/seats/{seat_id(app, 'E14000530', '2010')}",
        f"/seats/{seat_id(app, 'N05000001', '2024')}",
        "/seats/?region=London&sort=bme&dir=desc",
        "/seats/?boundaries=2010&page=3",
    )

    def page(path):
        # The sign-out form's CSRF token carries the time: the only part that may differ.
        return CSRF_VALUE.sub("", staff.get(path).get_data(as_text=True))

    app.config["SEATFIT_FACTS_CACHE_SECONDS"] = 0
    fresh = {}
    for path in paths:
        with count_queries(app) as statements:
            fresh[path] = (page(path), len(statements))
    app.config["SEATFIT_FACTS_CACHE_SECONDS"] = 300
    for _ in range(2):  # filled, then read back
        for path in paths:
            assert page(path) == fresh[path][0], path
    assert fresh[paths[0]][1] >= 2
    # Read back: the analysis needs no query of its own, the seat page and the browser one fewer.
    with count_queries(app) as statements:
        staff.get(paths[0])
    assert len(statements) == fresh[paths[0]][1] - 1
    for path in paths[3:]:
        with count_queries(app) as statements:
            staff.get(path)
        assert len(statements) < fresh[path][1], path


def test_a_seat_import_clears_what_was_kept(seat_data, app, staff, kept, monkeypatch):
    from d2w.seats import services

    staff.get("/seats/analysis")
    assert kept.size()
    # An import of nothing new still clears the caches (the rows it writes are not the point).
    monkeypatch.setattr(services, "_sync_provenance", lambda summary: None)
    with app.app_context():
        services.import_seats([])
        db.session.rollback()
    assert not kept.size()
