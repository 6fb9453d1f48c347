"""``flask d2w bench ...``: fill a fresh database with the benchmark's synthetic programme."""

from __future__ import annotations

import time
from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext

from d2w.core.extensions import db


@click.group("bench")
def bench_cli():
    """The benchmark's synthetic programme (see `make bench`)."""


@bench_cli.command("generate")
@click.option("--seed", default=1, show_default=True, help="The random seed: the same seed gives the same rows.")
@click.option("--scale", default=1.0, show_default=True, help="1.0 is 5,000 candidates; 0.01 is 50.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day the programme is generated for (default: today, UTC). Dates are relative to it.",
)
@with_appcontext
def generate_command(seed: int, scale: float, today):
    """Fill an empty database (seats imported) with a large synthetic programme.

    Refused in production and on a database that already has accounts or cohorts. Every account's
    password is the bench password (d2w.bench.generate.BENCH_PASSWORD)."""
    from d2w.bench.generate import BENCH_PASSWORD, GenerateError, generate

    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("The benchmark programme is never generated in production.")
    day: date | None = today.date() if today else None
    started = time.perf_counter()
    try:
        counts = generate(seed=seed, scale=scale, today=day, log=click.echo)
    except GenerateError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    total = sum(counts.values())
    click.echo(f"Generated {total:,} rows in {time.perf_counter() - started:.1f}s (seed {seed}, scale {scale:g}):")
    for table, n in counts.items():
        click.echo(f"  {table:<28} {n:>9,}")
    click.echo(f"Every bench account's password is: {BENCH_PASSWORD}")
