"""``flask d2w seats ...``: load the seat data, and analyse how high-BME seats voted."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext

from d2w.core.extensions import db


@click.group("seats")
def seats_cli():
    """Seat data."""


@seats_cli.command("import")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@with_appcontext
def import_command(directory: str | None):
    """Load both boundary sets from DIRECTORY (default: the SEAT_DATA_DIR setting).

    Every cell is checked first; a file with any problem is refused with the file, line and
    column at fault and nothing is written. Running it again updates seats in place."""
    from d2w.seats import loader, services

    folder = directory or current_app.config["SEAT_DATA_DIR"]
    started = time.perf_counter()
    try:
        files = loader.load_directory(folder)
    except loader.SeatDataError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        summary = services.import_seats(files)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    seconds = time.perf_counter() - started
    sets = ", ".join(f"{n} on the {bs} boundaries" for bs, n in summary.seats_by_boundary_set.items())
    click.echo(f"Seat data from {folder}: {sets} ({seconds:.1f} s).")
    click.echo(f"  seats: {summary.seats}")
    click.echo(f"  results: {summary.results}")
    click.echo(f"  party shares: {summary.shares}")
    click.echo(f"  sources: {summary.sources}; figure sources: {summary.figure_sources}")
    if summary.not_in_files:
        click.echo(
            f"  {len(summary.not_in_files)} seat(s) in the database are not in the files (kept): "
            + ", ".join(summary.not_in_files[:10])
        )


@seats_cli.command("analyse")
@click.option(
    "--boundaries", "boundary_set", required=True, type=click.Choice(["2010", "2024"]), help="The boundary set."
)
@click.option(
    "--election",
    required=True,
    help="An election held on those boundaries: 2015, 2017 or 2019 (2010); 2019n (notional) or 2024 (2024).",
)
@click.option(
    "--bme-threshold",
    "threshold",
    required=True,
    type=click.FloatRange(0, 100),
    help="The BME share (%) a seat must reach, from 0 to 100.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (keys below) instead of a table.")
@with_appcontext
def analyse_command(boundary_set: str, election: str, threshold: float, as_json: bool):
    """Seats whose BME share is at or above a threshold, and who won them.

    BME share: residents not in any White group (census). Seats without census figures
    (Northern Ireland) are left out. The same calculation as the staff page /seats/analysis.

    With --json, one object with these keys (stable):

    \b
      boundaries          "2010" or "2024"
      election            the election code, e.g. "2017" or "2019n"
      bme_threshold_pct   the threshold (a number)
      seats_at_or_above   how many seats have a BME share at or above it
      by_winner           {party code: seats won}, most seats first, then by code
      median_bme_pct      the median BME share of those seats (3 dp), or null if none
      seats               [{"code", "name", "bme_pct", "winner"}], BME share
                          descending, then code
    """
    import json

    from d2w.core.charts import PARTY_NAMES
    from d2w.seats import analysis, queries

    elections = queries.elections_of(boundary_set)
    if election not in elections:
        raise click.ClickException(
            f"The {election} election was not held on the {boundary_set} boundaries: "
            f"choose one of {', '.join(elections)}."
        )
    result = analysis.bme_analysis(queries.analysis_rows(boundary_set, election), threshold)
    if as_json:
        click.echo(json.dumps(analysis.as_json(boundary_set, election, result), ensure_ascii=False, indent=2))
        return
    label = queries.ELECTION_LABELS[election]
    click.echo(
        f"{result.count} seats on the {boundary_set} boundaries with a BME share of {threshold:g}% or more "
        f"(of {result.seats_with_census} with census figures; {len(result.seats_without_census)} without are left out)."
    )
    if result.median_bme_pct is not None:
        click.echo(f"Median BME share of these seats: {result.median_bme_pct:.2f}%")
    click.echo(f"Won in {label}:")
    for party, n in result.by_winner.items():
        click.echo(f"  {PARTY_NAMES.get(party, party):<20} {n:>4}")
    if result.seats:
        click.echo("")
        click.echo(f"{'Code':<10} {'Seat':<45} {'BME %':>6}  Winner")
        for r in result.seats:
            click.echo(f"{r.code:<10} {r.name[:45]:<45} {r.bme_pct:>6.1f}  {PARTY_NAMES.get(r.winner, r.winner)}")
