"""Seat browser, seat profiles and the analysis of how high-BME seats voted."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from markupsafe import Markup
from sqlalchemy import Select, func, select

from d2w.core import charts, generations
from d2w.core.access import acting_user, roles
from d2w.core.db import named_rows
from d2w.core.extensions import db
from d2w.core.forms import choices
from d2w.core.pagination import Sort, apply_sort, paginate, parse_page, parse_sort
from d2w.seats import analysis, cache, policy, provenance, queries
from d2w.seats.forms import AnalysisForm, SeatFilterForm
from d2w.seats.models import Seat

bp = Blueprint("seats", __name__, url_prefix="/seats")

LEAVE_BASIS_LABELS = {
    "estimate": "Modelled estimate (Hanretty)",
    "known_bbc_rosenbaum": "Known figure, from ward-level results (BBC, Rosenbaum)",
    "known_council": "Known figure, from council data",
    "estimate_known_unused": "Modelled estimate (a known figure exists but the source did not use it)",
    "adjusted_no_known": "Adjusted estimate (no known figure; council sources covered only some wards)",
    "counted_by_constituency_ni": "Actual count by constituency (Northern Ireland)",
}
KNOWN_BASES = ("known_bbc_rosenbaum", "known_council", "counted_by_constituency_ni")

# Figures of a seat page, in the order of the "Where these figures come from" section.
FIGURE_LABELS = {
    "name": "Name",
    "region": "Nation, region, county and type",
    "leave_pct": "Leave share, 2016 referendum",
    "leave_estimate_pct": "Leave share: modelled estimate",
    "leave_known_pct": "Leave share: known figure",
    "population": "Population",
    "bme_pct": "Minority ethnic (BME) share",
    "ethnic_groups": "Asian, Black, Mixed and Other shares",
    "white_british_pct": "White British share",
    "young_adult_pct": "Young adults",
    "age_65plus_pct": "Aged 65 and over",
    "results_2015": "2015 general election",
    "results_2017": "2017 general election",
    "results_2019": "2019 general election",
    "results_2019n": "2019 general election (notional, 2024 boundaries)",
    "results_2024": "2024 general election",
}
DEFAULT_THRESHOLD = "30"
# Parties drawn on a seat's line chart: those with at least this share at one of its elections.
LINE_CHART_MIN_SHARE = 3.0


_NO_FIGURE = Markup('<span class="muted">–<span class="visually-hidden">no figure</span></span>')


def pct_html(value: float | None, places: int = 1) -> Markup:
    """A percentage with ``places`` decimals, or a readable "no figure" (the ``pct`` macro of
    templates/seats/_macros.html; a list of many seats calls this directly, which is cheaper)."""
    if value is None:
        return _NO_FIGURE
    return Markup(f"{value:.{places}f}%")  # noqa: S704 - a formatted number


@lru_cache(maxsize=128)
def party_html(code: str | None) -> Markup:
    """A party's name with its colour swatch, or "None" (the ``party`` macro)."""
    if not code:
        return Markup('<span class="muted">None</span>')
    return (
        Markup(
            '<span class="party"><svg class="swatch" width="12" height="12" viewBox="0 0 12 12" aria-hidden="true" '
            'focusable="false"><rect width="12" height="12" rx="2" fill="'
        )
        + charts.PARTY_COLOURS.get(code, "#707070")
        + Markup('"/></svg>')
        + charts.PARTY_NAMES.get(code, code)
        + Markup("</span>")
    )


@bp.record_once
def _template_globals(state) -> None:
    """Party names and colours and election labels for every template (globals, so that the
    macros in templates/seats/_macros.html work wherever they are imported)."""
    state.app.jinja_env.globals.update(
        party_names=charts.PARTY_NAMES,
        party_colours=charts.PARTY_COLOURS,
        election_labels=queries.ELECTION_LABELS,
        seat_pct=pct_html,
        seat_party=party_html,
    )


def _party(code: str | None) -> str:
    return charts.PARTY_NAMES.get(code, code or "")


# ---------------------------------------------------------------------------------------------
# The browser


def _browser_statement(filters: queries.SeatFilters, sort: Sort) -> Select:
    """The browser's rows (``queries.BROWSER_COLUMNS``) of the seats passing the filters, sorted."""
    stmt = queries.filtered_seats(filters)
    stmt = apply_sort(queries.sort_nulls_last(stmt, sort.key), sort, queries.SORTS, Seat.id)
    return stmt.with_only_columns(*queries.BROWSER_COLUMNS)


@lru_cache(maxsize=64)
def _unfiltered_statement(boundary_set: str, sort: Sort) -> Select:
    return _browser_statement(queries.SeatFilters(boundary_set=boundary_set), sort)


@bp.route("/")
@roles("staff", "mentor", "candidate")
def index():
    actor = acting_user()
    if not policy.can_browse_seats(actor):
        abort(403)
    filters = queries.parse_filters(request.args)
    # The same for every user of one kind: drawn once per query and kept until the seat data
    # changes (an import).
    key = ("seats.index", actor.role, actor.is_admin, request.query_string)
    body = generations.kept_markup(key, lambda: _draw_index(filters), topics=(generations.SEATS,))
    return render_template("seats/index.html", body=body), 400 if filters.problems else 200


def _draw_index(filters) -> str:
    form = SeatFilterForm(request.args or None)
    form.boundaries.data = filters.boundary_set
    # Inside the kept browser: figures that follow the seats token too, never a timer.
    won = generations.kept(
        ("seats.winner_counts", filters.boundary_set),
        lambda: queries.winner_counts(filters.boundary_set),
        topics=(generations.SEATS,),
    )
    winner_choices = [("", "Any party"), *((p, f"{_party(p)} ({n})") for p, n in won)]
    if filters.winner and filters.winner not in dict(won):
        winner_choices.append((filters.winner, f"{_party(filters.winner)} (0)"))
    form.winner.choices = choices(winner_choices)
    form.show_problems(filters.problems)

    sort = parse_sort(request.args.get("sort"), request.args.get("dir"), queries.SORTS, "name")
    total = None
    if filters.active:
        stmt = _browser_statement(filters, sort)
    else:
        # Without filters: a statement per boundary set and sort, built once, and the count
        # (the seats of the boundary set) kept.
        stmt = _unfiltered_statement(filters.boundary_set, sort)
        total = generations.kept(
            ("seats.seat_count", filters.boundary_set),
            lambda: db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0,
            topics=(generations.SEATS,),
        )
    page = paginate(
        stmt,
        parse_page(request.args.get("page")),
        current_app.config["PAGE_SIZE"],
        scalars=False,
        total=total,
    )
    page.items = named_rows(page.items)
    return render_template(
        "seats/_index_body.html",
        form=form,
        filters=filters,
        page=page,
        sort=sort,
        election=filters.election,
        young_band="18–29" if filters.boundary_set == "2010" else "20–29",
    )


# ---------------------------------------------------------------------------------------------
# One seat


def _figure_rows(seat, latest: queries.ResultRow | None, medians: dict) -> list[dict]:
    """The seat's figures, each beside the national median of its boundary set."""
    known = seat.leave_basis in KNOWN_BASES
    rows = [
        {
            "label": "Leave share, 2016 EU referendum",
            "value": seat.leave_pct,
            "median": medians["leave_pct"],
            "note": (
                LEAVE_BASIS_LABELS.get(seat.leave_basis, "")
                if seat.leave_pct is not None
                else "No figure: no Leave estimate for Northern Ireland on these boundaries."
            ),
            "estimate": seat.leave_pct is not None and not known,
        },
        {
            "label": "Minority ethnic (BME) share",
            "value": seat.bme_pct,
            "median": medians["bme_pct"],
            "note": "Residents not in any White group",
        },
        {
            "label": f"Young adults, aged {seat.young_adult_band}",
            "value": seat.young_adult_pct,
            "median": medians["young_adult_pct"],
            "note": "Share of all residents",
        },
        {
            "label": "Aged 65 and over",
            "value": seat.age_65plus_pct,
            "median": medians["age_65plus_pct"],
            "note": "Share of all residents",
        },
    ]
    if latest is not None:
        rows += [
            {
                "label": f"Majority, {queries.ELECTION_LABELS[latest.election]}",
                "value": latest.majority_pct,
                "median": medians["majority_pct"],
                "note": f"{latest.majority:,} votes, as a share of valid votes",
            },
            {
                "label": f"Turnout, {queries.ELECTION_LABELS[latest.election]}",
                "value": latest.turnout_pct,
                "median": medians["turnout_pct"],
                "note": "Valid votes as a share of the electorate",
            },
        ]
    return rows


@dataclass(frozen=True)
class SourceInfo:
    """A data source as a seat page shows it (plain data, so that it may be kept)."""

    key: str
    title: str
    publisher: str
    licence: str
    notes: str


def _sources(boundary_set: str) -> list[dict]:
    """Each figure of the boundary set with its note and its sources, in FIGURE_LABELS order."""
    grouped: dict[str, dict] = {}
    for link in queries.figure_sources(boundary_set):
        entry = grouped.setdefault(
            link.figure,
            {
                "figure": link.figure,
                "label": FIGURE_LABELS.get(link.figure, link.figure),
                "note": link.note,
                "sources": [],
            },
        )
        source = link.source
        entry["sources"].append(SourceInfo(source.key, source.title, source.publisher, source.licence, source.notes))
    order = {name: i for i, name in enumerate(FIGURE_LABELS)}
    for entry in grouped.values():
        entry["sources"].sort(key=lambda s: s.key)
    return sorted(grouped.values(), key=lambda e: (order.get(e["figure"], len(order)), e["figure"]))


def _boundary_set_facts(boundary_set: str) -> tuple[dict, list[dict], list[SourceInfo]]:
    """What every seat page of a boundary set shares: the national medians, each figure's
    sources and the list of sources (kept; see ``d2w.seats.cache``)."""
    sources = _sources(boundary_set)
    source_list = sorted(
        {s.key: s for entry in sources for s in entry["sources"]}.values(), key=lambda s: (s.key[0], int(s.key[1:]))
    )
    return queries.national_medians(boundary_set), sources, source_list


def _result_charts(seat, results: list[tuple[queries.ResultRow, dict[str, float]]]) -> dict:
    if not results:
        return {}
    elections = [queries.ELECTION_LABELS[r.election] for r, _ in results]
    parties: list[str] = []
    for _, shares in results:
        for party, share in shares.items():
            if share >= LINE_CHART_MIN_SHARE and party not in parties:
                parties.append(party)
    latest_shares = results[-1][1]
    parties.sort(key=lambda p: (-latest_shares.get(p, 0.0), p))
    # A share of 0 means that the party did not stand: a gap, not a point.
    series = [(_party(p), [shares.get(p) or None for _, shares in results]) for p in parties]
    line = charts.line_chart(
        f"Party shares of the vote in {seat.name}, {elections[0]} to {elections[-1]}",
        elections,
        series,
        unit="%",
        desc=(
            f"Share of valid votes for each party with at least {LINE_CHART_MIN_SHARE:g}% at one of "
            f"the elections on the {seat.boundary_set} boundaries."
        ),
        width=560,
        height=280,
    )
    latest, shares = results[-1]
    standing = [(p, s) for p, s in shares.items() if s > 0]
    bar = charts.bar_chart(
        f"{queries.ELECTION_LABELS[latest.election]} result in {seat.name}",
        [(_party(p), s) for p, s in standing],
        unit="%",
        colours=[charts.PARTY_COLOURS.get(p, charts.BAR_COLOUR) for p, _ in standing],
        desc="Share of valid votes for each party that stood. Other includes every party not listed separately.",
        width=520,
    )
    return {"line": line, "bar": bar, "latest_label": queries.ELECTION_LABELS[latest.election]}


@dataclass(frozen=True)
class SeatPage:
    """What a seat's page shows of the seat itself, the same for every reader: its columns, and its
    name, figures, results, charts and sources drawn once (markup: ``top`` above the actions,
    ``sections`` below). Kept per seat (see ``d2w.seats.cache``)."""

    seat: Any  # a row of the seats table
    top: Markup
    sections: Markup


def _seat_page(seat_id: int) -> SeatPage | None:
    """The seat's part of its page, or ``None`` for an unknown seat. Two queries, and the
    boundary set's medians and sources (kept)."""
    seat = queries.seat_row(seat_id)
    if seat is None:
        return None
    results = queries.seat_results(seat.id, seat.boundary_set)
    latest_code = queries.latest_election(seat.boundary_set)
    latest = next((r for r, _ in results if r.election == latest_code), None)
    medians, sources, source_list = cache.kept(
        ("seat_page", seat.boundary_set), lambda: _boundary_set_facts(seat.boundary_set)
    )
    top = render_template("seats/_seat_top.html", seat=seat, latest=latest)
    sections = render_template(
        "seats/_seat_sections.html",
        seat=seat,
        results=results,
        figures=_figure_rows(seat, latest, medians),
        charts=_result_charts(seat, results),
        sources=sources,
        source_list=source_list,
        caveats=provenance.CAVEATS,
        leave_caveat=provenance.LEAVE_CAVEAT,
        leave_basis=LEAVE_BASIS_LABELS.get(seat.leave_basis or "", ""),
    )
    return SeatPage(seat=seat, top=Markup(top), sections=Markup(sections))  # noqa: S704 - templates' output


@bp.route("/<int(max=2147483647):seat_id>")
@roles("staff", "mentor", "candidate")
def detail(seat_id: int):
    if not policy.can_browse_seats(acting_user()):
        abort(403)
    page = cache.seat_page(seat_id, lambda: _seat_page(seat_id))
    if page is None:
        abort(404)
    return render_template("seats/detail.html", seat=page.seat, page=page)


# ---------------------------------------------------------------------------------------------
# Analysis (staff)


@bp.route("/analysis", endpoint="analysis")
@roles("staff")
def analysis_page():
    if not policy.can_analyse_seats(acting_user()):
        abort(403)
    # What the query string leaves out takes its default: the 2024 boundaries, the latest
    # election on the chosen boundaries, a threshold of 30%.
    args = request.args.copy()
    args.setdefault("boundaries", queries.DEFAULT_BOUNDARY_SET)
    if "election" not in args and args["boundaries"] in queries.ELECTIONS_BY_SET:
        args["election"] = queries.latest_election(args["boundaries"])
    args.setdefault("bme_threshold", DEFAULT_THRESHOLD)
    form = AnalysisForm(args)
    if not form.validate():
        return render_template("seats/analysis.html", form=form, section=None), 400
    boundary_set, election, threshold = form.boundaries.data, form.election.data, form.threshold
    # The tables and charts depend on the seat data and these three choices only: rendered once
    # and kept (see ``d2w.seats.cache``).
    key = ("analysis", boundary_set, election, threshold, request.script_root)
    section = cache.kept(key, lambda: _analysis_section(boundary_set, election, threshold))
    return render_template("seats/analysis.html", form=form, section=section)


def _analysis_section(boundary_set: str, election: str, threshold: float) -> Markup:
    """The analysis of one boundary set, election and threshold, rendered."""
    rows = queries.analysis_rows(boundary_set, election)
    bme = analysis.bme_analysis(rows, threshold)
    leave = analysis.leave_table(rows)
    label = queries.ELECTION_LABELS[election]
    names = charts.PARTY_NAMES
    by_winner_chart = charts.bar_chart(
        f"Seats with a BME share of {threshold:g}% or more, by winner in {label}",
        [(_party(p), n) for p, n in bme.by_winner.items()],
        unit="seats" if bme.count != 1 else "seat",
        colours=[charts.PARTY_COLOURS.get(p, charts.BAR_COLOUR) for p in bme.by_winner],
        width=460,
        desc=f"{bme.count} seats on the {boundary_set} boundaries.",
    )
    bme_scatter = charts.scatter_chart(
        f"BME share against the winner's share of the vote, {label}",
        analysis.bme_points(rows, names),
        x_label="BME share of residents (%)",
        y_label="Winner's share of the vote (%)",
        desc=(
            f"Each mark is a seat on the {boundary_set} boundaries with census figures, placed by its "
            f"BME share and the winning party's share of the vote in {label}, shaped and coloured by winner. "
            f"The seats at or above {threshold:g}% are those to the right of {threshold:g} on the BME axis."
        ),
        y_max=100,
        width=760,
        height=420,
    )
    leave_scatter = charts.scatter_chart(
        f"Leave share against the winner's share of the vote, {label}",
        analysis.leave_points(rows, names),
        x_label="Leave share, 2016 (%)",
        y_label="Winner's share of the vote (%)",
        desc=(
            f"Each mark is a seat on the {boundary_set} boundaries with a Leave figure, placed by its Leave "
            f"share and the winning party's share of the vote in {label}, shaped and coloured by winner."
        ),
        x_max=100,
        y_max=100,
        width=760,
        height=420,
    )
    result = {
        "boundary_set": boundary_set,
        "election": election,
        "election_label": label,
        "threshold": threshold,
        "bme": bme,
        "leave": leave,
        "by_winner_chart": by_winner_chart,
        "bme_scatter": bme_scatter,
        "leave_scatter": leave_scatter,
        "no_winner_share": sum(1 for r in rows if r.winner_share_pct is None),
        "leave_caveat": provenance.LEAVE_CAVEAT,
    }
    return Markup(render_template("seats/_analysis.html", result=result))  # noqa: S704 - a rendered template
