"""``flask d2w ...`` commands. Each command commits once, at its end."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import delete, or_

from d2w.auth.models import AuthToken, UserSession
from d2w.bench.cli import bench_cli
from d2w.core.db import utcnow
from d2w.core.errors import DomainError
from d2w.core.extensions import db
from d2w.reports.cli import report_cli
from d2w.seatfit.cli import fit_command
from d2w.seats.cli import seats_cli

seats_cli.add_command(fit_command)


@click.group("d2w")
def d2w_cli():
    """Diversity To Win administration."""


@d2w_cli.command("create-admin")
@click.option("--email", required=True, help="The admin's e-mail address (their login).")
@click.option("--name", required=True, help="The admin's full name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting.")
@with_appcontext
def create_admin(email: str, name: str, password_stdin: bool):
    """Create a staff admin account (for the first sign-in of a new deployment)."""
    from d2w.users import services

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = services.create_user(None, email=email, name=name, role="staff", is_admin=True, password=password)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"Created admin {user.email} (id {user.id}).")


@d2w_cli.command("demo")
@with_appcontext
def demo():
    """Load the small demo programme (development only; does nothing if it is already there)."""
    from d2w.demo import DEMO_PASSWORD, load_demo

    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("The demo programme is never loaded in production.")
    created, users = load_demo()
    db.session.commit()
    click.echo("Demo programme " + ("loaded." if created else "already present."))
    click.echo(f"Every demo account's password is: {DEMO_PASSWORD}")
    width = max(len(u.email) for u in users)
    for user in users:
        click.echo(f"  {user.email:<{width}}  {user.role_label}")


@d2w_cli.command("purge-sessions")
@click.option("--days", default=30, show_default=True, help="Keep ended sessions and used links this long.")
@with_appcontext
def purge_sessions(days: int):
    """Delete long-ended sessions and old link tokens, and on SQLite refresh the planner's
    statistics (run daily from cron)."""
    cutoff = utcnow() - timedelta(days=days)
    s = db.session.execute(
        delete(UserSession).where(or_(UserSession.expires_at < cutoff, UserSession.revoked_at < cutoff))
    ).rowcount
    t = db.session.execute(delete(AuthToken).where(AuthToken.expires_at < cutoff)).rowcount
    db.session.commit()
    click.echo(f"Deleted {s} session(s) and {t} link token(s).")
    if db.engine.dialect.name == "sqlite":
        # SQLite gathers no planner statistics by itself (PostgreSQL's autovacuum does): without
        # them it can pick poor indexes on the large tables. The daily run refreshes them (about
        # a second on the 5,000-candidate benchmark programme).
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        click.echo("Refreshed SQLite's planner statistics.")


d2w_cli.add_command(seats_cli)
d2w_cli.add_command(report_cli)
d2w_cli.add_command(bench_cli)


@d2w_cli.group("mentoring")
def mentoring_cli():
    """Mentoring tasks."""


@mentoring_cli.command("remind")
@with_appcontext
def mentoring_remind():
    """E-mail mentors about lapsed contact and overdue action items (daily, from cron).

    Each reminder is recorded before it is sent, once per mentor, kind, subject and day, so
    running the command twice on one day sends nothing twice."""
    from d2w.mentoring import mailers, services

    reminders = services.due_reminders()
    db.session.commit()
    sent = mailers.send_reminders(reminders)
    click.echo(f"Sent {sent.sent} reminder e-mail(s); {sent.failed} could not be sent.")
