"""The benchmark server: the real app plus two baseline routes, so that production has none.

``gunicorn 'd2w.bench.wsgi:create_bench_app()'``. The baselines measure the same server setup
(workers, hooks, logging, headers) doing almost nothing:

* ``/bench/constant``: returns a constant string (no database, no template);
* ``/bench/one-query``: one indexed query (a user by primary key) rendered by a one-line template.
"""

from __future__ import annotations

import sys

from flask import Flask, render_template
from sqlalchemy import select

from config import ConfigError
from d2w import create_app, settle_for_serving
from d2w.auth.models import User
from d2w.core.access import public
from d2w.core.extensions import db

ONE_QUERY_USER_ID = 1


@public
def constant():
    return "ok"


@public
def one_query():
    name = db.session.scalar(select(User.name).where(User.id == ONE_QUERY_USER_ID))
    return render_template("bench/one.html", name=name)


def add_baselines(app: Flask) -> Flask:
    app.add_url_rule("/bench/constant", "bench_constant", constant)
    app.add_url_rule("/bench/one-query", "bench_one_query", one_query)
    return app


def create_bench_app(config=None, overrides: dict | None = None) -> Flask:
    try:
        app = create_app(config, overrides)
    except ConfigError as exc:
        sys.exit(f"d2w cannot start: {exc}")
    add_baselines(app)
    settle_for_serving()  # as d2w.wsgi does
    return app
