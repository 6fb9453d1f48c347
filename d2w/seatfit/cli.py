"""``flask d2w seats fit``: a seat-fit check from the command line, for scripting."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from d2w.core.regions import canonical_region
from d2w.seats.queries import find_seat

STANCE_OPTIONS = {
    "leave": "leave",
    "remain": "remain",
    "did-not-vote": "did_not_vote",
    "prefer-not-to-say": "prefer_not_to_say",
}


def result_as_dict(fact, result, candidate, thresholds) -> dict:
    """The stable JSON shape of a check (documented in the README)."""
    return {
        "seat": {"code": fact.code, "name": fact.name, "boundary_set": fact.boundary_set, "region": fact.region},
        "band": result.band,
        "score": result.score,
        "factors": [
            {
                "name": f.name,
                "score": f.score,
                "reason": f.reason,
                "warning": f.warning,
                "figures": dict(f.figures),
            }
            for f in result.factors
        ],
        "warnings": list(result.warnings),
        "inputs": {
            "stance": candidate.stance,
            "home_region": candidate.home_region,
            "home_borough": candidate.home_borough,
            "party": thresholds.party,
            "thresholds": thresholds.describe(),
        },
    }


@click.command("fit")
@click.option("--seat", "seat_text", required=True, help="The seat's ONS code or exact name.")
@click.option("--stance", required=True, type=click.Choice(sorted(STANCE_OPTIONS)), help="The 2016 referendum vote.")
@click.option("--boundaries", type=click.Choice(["2010", "2024"]), default=None, help="Boundary set (default 2024).")
@click.option("--region", default=None, help="The candidate's home region, e.g. London.")
@click.option("--borough", default=None, help="The candidate's home borough or town.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@with_appcontext
def fit_command(seat_text, stance, boundaries, region, borough, as_json):
    """Check a hypothetical candidate (a stance and a home) against one seat.

    JSON keys: seat {code, name, boundary_set, region}, band (good|caution|poor), score (0-100),
    factors [{name, score (null when not scored), reason, warning, figures {label: value}}],
    warnings [reason, ...], inputs {stance, home_region, home_borough, party, thresholds}."""
    from d2w.seatfit import engine, services

    seat = find_seat(seat_text, boundaries)
    if seat is None:
        raise click.ClickException(
            f"No seat with the code or name {seat_text!r} on the {boundaries or '2024 or 2010'} boundaries."
        )
    home_region = None
    if region:
        home_region = canonical_region(region)
        if home_region is None:
            raise click.ClickException(f"{region!r} is not a UK region.")
    candidate = engine.CandidateFacts(stance=STANCE_OPTIONS[stance], home_region=home_region, home_borough=borough)
    fact, medians = services.facts_for_seat(seat)
    thresholds = services.thresholds()
    result = engine.check(candidate, fact, thresholds, medians)
    if as_json:
        click.echo(json.dumps(result_as_dict(fact, result, candidate, thresholds), indent=2, ensure_ascii=False))
        return
    click.echo(
        f"{fact.name} ({fact.code}, {fact.boundary_set} boundaries): {engine.BAND_LABELS[result.band]} ({result.score:g}/100)"
    )
    for f in result.factors:
        score = "not scored" if f.score is None else f"{f.score:g}"
        click.echo(f"  {'!' if f.warning else ' '} {f.label} [{score}]: {f.reason}")
    if result.warnings:
        click.echo("Warnings:")
        for warning in result.warnings:
            click.echo(f"  - {warning}")
