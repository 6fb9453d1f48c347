"""``flask d2w seats ...``: load the seat data."""

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
