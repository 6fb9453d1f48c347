"""``flask d2w report ...``: PDF reports from the command line (for batches and for cron).

    flask d2w report portfolio CANDIDATE -o FILE [--include ethnic_group ...]
    flask d2w report cohort COHORT -o FILE
    flask d2w report portfolios COHORT -o DIR
    flask d2w report clean-up

CANDIDATE is an e-mail address or a candidate profile id; COHORT is a cohort id or its exact
name. Every PDF made is audited (with no acting user); self-declared answers go into a portfolio
only when named with --include, and never into a batch. Each command commits once, at its end.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from d2w.auth.models import User
from d2w.candidates.choices import SENSITIVE_FIELDS
from d2w.candidates.models import CandidateProfile
from d2w.cohorts.models import Cohort
from d2w.core.extensions import db
from d2w.reports import contexts, jobs, services


@click.group("report")
def report_cli():
    """PDF reports: a candidate's portfolio, a cohort report, a cohort's portfolios."""


def _profile(candidate: str) -> CandidateProfile:
    text = candidate.strip()
    if text.isascii() and text.isdigit():
        profile = db.session.get(CandidateProfile, int(text)) if len(text) <= 10 else None
    else:
        profile = db.session.scalar(
            select(CandidateProfile)
            .join(User, User.id == CandidateProfile.user_id)
            .where(func.lower(User.email) == text.lower())
        )
    if profile is None:
        raise click.ClickException(f"No candidate {candidate!r}: give their e-mail address or profile id.")
    return profile


def _cohort(cohort: str) -> Cohort:
    text = cohort.strip()
    found = None
    if text.isascii() and text.isdigit() and len(text) <= 10:
        found = db.session.get(Cohort, int(text))
    if found is None:
        found = db.session.scalar(select(Cohort).where(Cohort.name == text))
    if found is None:
        raise click.ClickException(f"No cohort {cohort!r}: give its id or its exact name.")
    return found


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise click.ClickException(f"Could not write {path}: {exc.strerror}.") from None


OUTPUT = click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The PDF file to write.",
)


@report_cli.command("portfolio")
@click.argument("candidate")
@OUTPUT
@click.option(
    "--include",
    "include",
    multiple=True,
    type=click.Choice(list(SENSITIVE_FIELDS)),
    help="A self-declared answer to include (repeat for more); none is included otherwise.",
)
@with_appcontext
def portfolio(candidate: str, output: Path, include: tuple[str, ...]):
    """Write CANDIDATE's portfolio (e-mail address or profile id) to a PDF file."""
    profile = _profile(candidate)
    started = time.perf_counter()
    data = services.render_for_cli("portfolio", profile.id, include=frozenset(include))
    _write(output, data)
    db.session.commit()
    click.echo(f"Wrote the portfolio of {profile.user.name} to {output} in {time.perf_counter() - started:.2f} s.")


@report_cli.command("cohort")
@click.argument("cohort")
@OUTPUT
@with_appcontext
def cohort(cohort: str, output: Path):
    """Write the report of COHORT (id or exact name) to a PDF file."""
    found = _cohort(cohort)
    started = time.perf_counter()
    data = services.render_for_cli("cohort", found.id)
    _write(output, data)
    db.session.commit()
    click.echo(f"Wrote the report of {found.name} to {output} in {time.perf_counter() - started:.2f} s.")


@report_cli.command("portfolios")
@click.argument("cohort")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write the PDFs to (made if missing).",
)
@with_appcontext
def portfolios(cohort: str, output: Path):
    """Write the portfolio of every candidate holding a place in COHORT, one PDF each, without
    self-declared answers."""
    found = _cohort(cohort)
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(f"Could not make {output}: {exc.strerror}.") from None
    started = time.perf_counter()
    ids = contexts.cohort_profile_ids(found.id)
    for profile_id in ids:
        profile = db.session.get(CandidateProfile, profile_id)
        one = time.perf_counter()
        data = services.render_for_cli("portfolio", profile_id)
        path = output / f"portfolio-{profile_id}-{services.slug(profile.user.name)}.pdf"
        _write(path, data)
        click.echo(f"  {path.name} ({time.perf_counter() - one:.2f} s)")
    db.session.commit()
    click.echo(f"Wrote {len(ids)} portfolio(s) of {found.name} to {output} in {time.perf_counter() - started:.2f} s.")


@report_cli.command("clean-up")
@with_appcontext
def clean_up():
    """Delete report PDFs older than a day and mark lost jobs as failed (daily, from cron: the
    web process also does this, but only after it renders a report)."""
    removed = jobs.maybe_clean_up(current_app._get_current_object(), force=True)
    click.echo(f"Deleted {removed} old report file(s).")
