"""Declarative base, naming conventions and column types shared by every model."""

from __future__ import annotations

import functools
import re
import threading
from collections import namedtuple
from collections.abc import Callable, Hashable
from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, MetaData, bindparam, literal
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

# Constraint names are predictable, so migrations can name what they alter (SQLite batch mode
# needs that) and PostgreSQL and SQLite agree.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def one_of(column, values) -> ColumnElement[bool]:
    """``column IN (values)`` for a fixed list of d2w's own values (statuses and the like), with a
    bound parameter each. ``column.in_(values)`` binds one "expanding" parameter, which SQLAlchemy
    writes out into the statement's text again on every execution, even of a statement built
    once; these lists never change, so they are written out once, when the statement is."""
    return column.in_([literal(value, column.type) for value in values])


def none_of(column, values) -> ColumnElement[bool]:
    """``column NOT IN (values)``, as ``one_of``."""
    return column.not_in([literal(value, column.type) for value in values])


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database.

    PostgreSQL stores ``timestamp with time zone``; SQLite has no time zones, so values are
    stored in UTC and given their zone back when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a timezone-aware value")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def columns_only(statement) -> bool:
    """Whether a select names only columns and expressions (no model, alias of one or bundle);
    a UNION and its kind, whether each of its selects does."""
    parts = getattr(statement, "selects", None)  # a compound select's own selects
    if parts is not None:
        return bool(parts) and all(columns_only(part) for part in parts)
    raw = getattr(statement, "_raw_columns", None)  # a select's own list of what it selects
    return raw is not None and all(isinstance(c, ColumnElement) for c in raw)


def read(statement, parameters=None):
    """``db.session.execute(statement, parameters)``, quicker for column queries.

    A select of columns only (no model objects) runs on the session's own connection and
    transaction: the same rows, without the ORM's work per statement (about 30 µs a query, and
    half the time for a page of rows). Pending changes are flushed first, as the session's own
    execute would. Anything else (models, text, changes) goes to the session as before."""
    from d2w.core.extensions import db

    session = db.session()
    if not columns_only(statement):
        return session.execute(statement, parameters)
    if session.autoflush:
        session.flush()  # returns at once when nothing is pending
    return session.connection().execute(statement, parameters)


# ---------------------------------------------------------------------------------------------
# Statements built once

# SQLAlchemy works out a cache key for every statement it has not seen as an object before: it
# walks the whole statement, subqueries and all, on every request that builds it anew (1.2 Mi
# instructions, as much as running the query, for the profile page's statement). A statement
# built once and kept keeps its key: running it again costs only the query.


class ActingUserShape:
    """Stands for the acting user while a statement is built for every user of one kind: their id
    is the bound parameter ``:actor_id``; their role and admin flag are those of the kind. A
    policy that asks anything else of the user cannot be built this way, and says so."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, role: str, is_admin: bool) -> None:
        self.id = bindparam("actor_id", type_=Integer)
        self.role = role
        self.is_admin = is_admin

    def __getattr__(self, name: str):
        raise AttributeError(f"a statement built once per kind of user may not depend on the user's {name}")


_BUILT: dict[tuple, object] = {}
_BUILT_LIMIT = 1024  # statements per worker (every page's, for every kind of user and shape)
_KEPT: dict[int, object] = {}  # the kept statements by id, to recognise them
_DERIVED: dict[tuple[int, str], object] = {}  # what was made from a kept statement (its count, ...)
_BUILT_LOCK = threading.Lock()


def built_once(key: tuple[Hashable, ...], actor, build: Callable[[ActingUserShape], object]) -> tuple[object, dict]:
    """The statement ``build(shape)`` makes for users of the actor's kind, built once per worker
    and kept under ``key`` (which must name everything else the statement's shape depends on,
    such as a sort order; values belong in bound parameters), and the parameters that make it the
    actor's: ``{"actor_id": actor.id}``. Tests compare what it finds with the statement built
    for the actor themself. With no actor (a statement the same for everyone who may run it),
    ``build(None)`` and no parameters."""
    kind = (key,) if actor is None else (key, actor.role, bool(actor.is_admin))
    statement = _BUILT.get(kind)
    if statement is None:
        statement = build(None if actor is None else ActingUserShape(actor.role, bool(actor.is_admin)))
        with _BUILT_LOCK:
            if len(_BUILT) >= _BUILT_LIMIT:
                _BUILT.clear()
                _KEPT.clear()
                _DERIVED.clear()
            _BUILT[kind] = statement
            _KEPT[id(statement)] = statement
    return statement, ({} if actor is None else {"actor_id": actor.id})


def derived_once(statement, name: str, derive: Callable[[object], object]):
    """``derive(statement)``: kept beside the statement if ``built_once`` keeps it (a page of it,
    its count), made anew for any other statement."""
    if _KEPT.get(id(statement)) is not statement:
        return derive(statement)
    key = (id(statement), name)
    derived = _DERIVED.get(key)
    if derived is None:
        derived = _DERIVED[key] = derive(statement)
    return derived


_ROW_TYPES: dict[tuple[str, ...], type] = {}


def named_rows(rows: list) -> list:
    """Result rows as named tuples with the same fields and values. Reading a field of a
    SQLAlchemy ``Row`` costs about 5 k instructions, of a named tuple 0.2 k, and a template reads
    each row of a list a dozen times; making the tuple costs 3 k."""
    if not rows:
        return list(rows)
    fields = tuple(rows[0]._fields)
    row_type = _ROW_TYPES.get(fields)
    if row_type is None:
        row_type = _ROW_TYPES[fields] = namedtuple("ListRow", fields, rename=True)
    make = row_type._make
    return [make(row) for row in rows]


def distinct_values(column) -> list:
    """The distinct non-null values of an indexed column, in order, found by stepping through its
    index from one value to the next (a "loose index scan", one probe per value) rather than by
    reading every row: the audit log's filter lists 13 actions out of 100,000 events in 0.1 ms
    instead of 12 ms. Works the same on SQLite and PostgreSQL."""
    from sqlalchemy import func, select

    from d2w.core.extensions import db

    seen = select(func.min(column).label("value")).cte("seen", recursive=True)
    following = select(func.min(column)).where(column > seen.c.value).scalar_subquery()
    seen = seen.union_all(select(following).where(seen.c.value.is_not(None)))
    return list(db.session.scalars(select(seen.c.value).where(seen.c.value.is_not(None))))


# ---------------------------------------------------------------------------------------------
# PostgreSQL: prepared statements kept across requests

# psycopg prepares a statement on a connection once it has run five times, so that PostgreSQL
# parses and plans it once instead of on every run (about half a query's time here). But it
# forgets every prepared statement when a transaction is rolled back, and a request that only
# read ends with a rollback: nothing was ever prepared. A transaction that ran nothing but
# reads is therefore ended with a COMMIT, which for such a transaction does the same and keeps
# the statements; one that ran anything else (or failed) is rolled back as before.

_WROTE = "d2w.wrote"
_NOT_A_READ = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE|NEXTVAL|SETVAL)\b", re.IGNORECASE)


@functools.lru_cache(maxsize=2048)  # the same few hundred statements, run on every request
def reads_only(statement: str) -> bool:
    """Whether an SQL statement only reads: a SELECT (or WITH ... SELECT) that names no write,
    row lock or sequence step anywhere in it. Anything doubtful counts as a write."""
    head = statement.lstrip()[:6].upper()
    return (head == "SELECT" or head.startswith("WITH")) and not _NOT_A_READ.search(statement)


def postgres_connect_args(prepared: bool, random_page_cost: float, url_options: str | None = None) -> dict:
    """psycopg's connection arguments for the settings POSTGRES_PREPARED_STATEMENTS (off: nothing
    is prepared) and POSTGRES_RANDOM_PAGE_COST (above 0: the planner setting, sent with the
    connection's start-up message, so no statement is added). ``url_options``: the ``options``
    the database URL gives, kept before ours."""
    args: dict = {}
    if not prepared:
        args["prepare_threshold"] = None
    if random_page_cost and random_page_cost > 0:
        ours = f"-c random_page_cost={float(random_page_cost):g}"
        args["options"] = f"{url_options} {ours}" if url_options else ours
    return args


def keep_prepared_statements(engine) -> None:
    """On psycopg (PostgreSQL), end transactions that only read with a COMMIT (see above)."""
    if engine.dialect.driver != "psycopg":
        return

    from psycopg.pq import TransactionStatus
    from sqlalchemy import event

    @event.listens_for(engine, "begin")
    def _began(conn) -> None:
        conn.info[_WROTE] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _note(conn, cursor, statement, parameters, context, executemany) -> None:
        if conn.info.get(_WROTE) is False and not reads_only(statement):
            conn.info[_WROTE] = True

    @event.listens_for(engine, "rollback")
    def _ending(conn) -> None:
        # Only after reads, and only from a healthy open transaction. The rollback that follows
        # this event then finds no transaction and does nothing; a transaction that wrote or
        # failed is left to it, as before.
        if conn.info.pop(_WROTE, True) is not False or conn.closed or conn.invalidated:
            return
        dbapi_connection = conn.connection.dbapi_connection
        if dbapi_connection is None or dbapi_connection.info.transaction_status != TransactionStatus.INTRANS:
            return
        try:
            dbapi_connection.commit()
        except Exception:  # noqa: BLE001 - the rollback that follows deals with a broken connection
            return

    @event.listens_for(engine, "commit")
    def _committed(conn) -> None:
        conn.info.pop(_WROTE, None)
