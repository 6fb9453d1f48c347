"""Diversity To Win (d2w): the application factory.

``create_app`` only wires things up: it runs no migrations, makes no network calls and asks no
questions. Use the ``flask`` CLI (``flask db upgrade``, ``flask d2w ...``) for those.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from config import ROOT, Config, load_settings


class BoundedInt(IntegerConverter):
    """``<int:...>`` limited to 1..2,147,483,647 (PostgreSQL's integer)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2_147_483_647)
        super().__init__(map, *args, **kwargs)


def create_app(config: str | type[Config] | None = None, overrides: dict | None = None) -> Flask:
    settings = load_settings(config)
    if overrides:
        settings.update(overrides)
    settings["CONFIG_CLASS"].validate(settings)

    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    # Made on first use of app.jinja_env (extensions use it as they are set up).
    from d2w.core.templating import Environment as TemplateEnvironment

    app.jinja_environment = TemplateEnvironment
    app.config.update(settings)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=app.config["SESSION_MAX_HOURS"])
    # Ids in URLs fit the database's integer: a larger number is simply "not found".
    app.url_map.converters["int"] = BoundedInt
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'd2w.sqlite3'}"
    app.config["RATELIMIT_STORAGE_URI"] = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"

    if any(app.config[k] for k in ("PROXY_FIX_X_FOR", "PROXY_FIX_X_PROTO", "PROXY_FIX_X_HOST")):
        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=app.config["PROXY_FIX_X_FOR"],
            x_proto=app.config["PROXY_FIX_X_PROTO"],
            x_host=app.config["PROXY_FIX_X_HOST"],
        )

    from d2w.core import logging as d2w_logging

    d2w_logging.configure(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_hooks(app)

    from d2w.core import errorpages
    from d2w.core.templating import init_templating

    errorpages.register(app)
    init_templating(app)

    from d2w.cli import d2w_cli

    app.cli.add_command(d2w_cli)
    return app


def _init_extensions(app: Flask) -> None:
    # Import every model so the metadata (and Alembic) sees every table.
    from sqlalchemy.engine import make_url

    from d2w import models  # noqa: F401
    from d2w.core.db import keep_prepared_statements, postgres_connect_args
    from d2w.core.extensions import csrf, db, limiter, login_manager, migrate

    prepared = app.config.get("POSTGRES_PREPARED_STATEMENTS", True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg"):
        connect_args = postgres_connect_args(
            prepared,
            app.config.get("POSTGRES_RANDOM_PAGE_COST", 0),
            make_url(app.config["SQLALCHEMY_DATABASE_URI"]).query.get("options"),
        )
        if connect_args:
            options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
            options["connect_args"] = {**options.get("connect_args", {}), **connect_args}
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    with app.app_context():
        if app.config.get("SQLITE_WAL"):
            _write_ahead_log(db.engine)
        if prepared:
            keep_prepared_statements(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    # Sessions live on the server (auth.load_session checks them on every request); Flask-Login's
    # own "session protection" would only hash the address and browser on each request and
    # rewrite the cookie once to mark it not fresh, and nothing here asks for freshness.
    login_manager.session_protection = None

    from d2w.auth.views import load_user_from_session

    login_manager.request_loader(load_user_from_session)


def _write_ahead_log(engine) -> None:
    """An SQLite file in write-ahead-log mode, with commits synced at checkpoints: readers go on
    while a worker writes, and a commit is one append to the log instead of a journal written and
    synced twice (an audited page view waited on the other worker's commit)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return

    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _register_blueprints(app: Flask) -> None:
    from d2w.applications.views import bp as applications_bp
    from d2w.audit.views import bp as audit_bp
    from d2w.auth.views import account_bp
    from d2w.auth.views import bp as auth_bp
    from d2w.candidates.views import bp as candidates_bp
    from d2w.cohorts.views import bp as cohorts_bp
    from d2w.dashboard.views import bp as dashboard_bp
    from d2w.engagement.views import bp as engagement_bp
    from d2w.exports.views import bp as exports_bp
    from d2w.main.views import bp as main_bp
    from d2w.mentoring.views import bp as mentoring_bp
    from d2w.programme.views import bp as programme_bp
    from d2w.reports.views import bp as reports_bp
    from d2w.seatfit.views import bp as seatfit_bp
    from d2w.seats.views import bp as seats_bp
    from d2w.users.views import bp as users_bp

    for bp in (
        main_bp,
        auth_bp,
        account_bp,
        users_bp,
        audit_bp,
        candidates_bp,
        cohorts_bp,
        programme_bp,
        engagement_bp,
        mentoring_bp,
        seats_bp,
        seatfit_bp,
        applications_bp,
        reports_bp,
        dashboard_bp,
        exports_bp,
    ):
        app.register_blueprint(bp)


def _register_hooks(app: Flask) -> None:
    from d2w.core import access, security

    app.session_interface = security.KeptCookieSessionInterface()
    app.before_request(security.assign_request_id)
    app.before_request(security.refuse_control_characters)
    app.before_request(access.enforce)
    app.after_request(security.set_headers(app))


def settle_for_serving() -> None:
    """Before a server forks its workers: build every ORM mapper now, then move the objects
    that live for the whole process (models, templates, config) out of the garbage collector's
    way, so that full collections stay short during requests (the benchmark showed 55-60 ms
    pauses every few dozen requests without it)."""
    import gc

    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    gc.collect()
    gc.freeze()
