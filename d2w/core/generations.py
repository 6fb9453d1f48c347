"""What the data looked like when a figure was worked out, so that a worker can keep the figure
until the data changes, and no longer.

Each *topic* ("programme": people, cohorts, sessions, milestones, mentoring, applications and
checks; "seats": the seat data; "audit": the audit log) has a row in ``data_generations``
holding a random token (the audit log's is spread over several rows: see ``STRIPES``). Every
transaction that writes to one of a topic's tables gives the topic a new token as it commits,
in the same transaction, so a reader who sees the old token also sees the old data, and one who
sees the new token sees the new data (on both databases). A worker keeps a figure with the
tokens it was worked out under (``kept``) and works it out again once a token has changed.
Tokens are random rather than counted, so two databases (or two copies of one) never share a
token.

How writes are noticed: every INSERT, UPDATE and DELETE statement a connection runs (the ORM's
flushes, bulk statements and plain Core statements alike) marks its table's topic on the
connection; a session's commit then renews the marked topics' tokens before it commits. Tables
that change on every sign-in or page view and that no kept figure shows (sessions, sign-in
tokens and throttles, report jobs) mark nothing, nor does a statement run with the ``UNMARKED``
execution option (a user's time of last sign-in). Writes made outside d2w (psql, a restored
backup, a migration that changes data) are not seen: restart the workers after one.

A view that loads anything its kept part shows before calling ``kept`` reads the tokens first
(``tokens()``): data read after the tokens is at least as new as they are, so nothing older is
ever kept under a newer token.

What may be kept: plain data or rendered markup, the same for everyone who may see the page
(the caller's key says who that is), that depends on the data and the key alone, never on the
clock (put the day in the key when a figure depends on it). When a topic's token changes, a
worker drops everything it kept under the old one.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import current_app
from markupsafe import Markup
from sqlalchemy import String, bindparam, event, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.dml import UpdateBase

from d2w.core.extensions import db
from d2w.core.forms import drawn_for_keeping, with_this_token

T = TypeVar("T")

PROGRAMME = "programme"
SEATS = "seats"
AUDIT = "audit"
TOPICS = (PROGRAMME, SEATS, AUDIT)
# The audit log's token is spread over this many rows ("audit/0" to "audit/15"). Every audited
# read (a staff member shown a candidate's special category answer) writes an audit event, and
# two requests renewing one row would queue on its lock until the first had committed and
# flushed its commit to disk. A commit renews one stripe chosen at random; a reader reads them
# all, and the topic's token is theirs together, so any commit to any stripe changes it.
STRIPES = {AUDIT: 16}


def rows_of(topic: str) -> list[str]:
    """The names of a topic's rows in ``data_generations``."""
    count = STRIPES.get(topic)
    return [topic] if count is None else [f"{topic}/{n}" for n in range(count)]


def all_rows() -> list[str]:
    """Every row ``data_generations`` holds (as the migrations make them)."""
    return [row for topic in TOPICS for row in rows_of(topic)]


def _row_to_renew(topic: str) -> str:
    count = STRIPES.get(topic)
    return topic if count is None else f"{topic}/{secrets.randbelow(count)}"


def fold(rows) -> dict[str, str]:
    """Rows of (name, token) as topic -> token, a striped topic's tokens joined in stripe order."""
    parts: dict[str, list[tuple[int, str]]] = {}
    for name, token in rows:
        topic, _, stripe = name.partition("/")
        parts.setdefault(topic, []).append((int(stripe or 0), token))
    return {topic: "".join(token for _, token in sorted(found)) for topic, found in parts.items()}


SEAT_TABLES = frozenset({"seats", "seat_results", "seat_party_shares", "data_sources", "seat_figure_sources"})
# Written on sign-in, on page views or by the report queue; no kept figure shows them.
UNMARKED_TABLES = frozenset(
    {
        "data_generations",
        "alembic_version",
        "user_sessions",
        "auth_tokens",
        "login_throttles",
        "report_jobs",
    }
)

_MARKED = "d2w.generations.marked"  # Connection.info: the topics this transaction has written to
_TOKENS = "d2w.generations.tokens"  # Session.info: the tokens read in this transaction


class DataGeneration(db.Model):
    __tablename__ = "data_generations"

    topic: Mapped[str] = mapped_column(String(20), primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


def topic_of(table_name: str | None) -> str | None:
    """The topic a write to this table changes (None: no topic)."""
    if table_name is None or table_name in UNMARKED_TABLES:
        return None
    if table_name == "audit_events":
        return AUDIT
    return SEATS if table_name in SEAT_TABLES else PROGRAMME


def new_token() -> str:
    return secrets.token_hex(16)


# ---- noticing writes ------------------------------------------------------------------------


# A statement with this execution option marks no topic: for a write that no kept part shows and
# that happens often (a user's time of last sign-in).
UNMARKED = "d2w_marks_no_topic"


@event.listens_for(Engine, "before_execute")
def _mark_write(conn: Connection, clauseelement, multiparams, params, execution_options):
    if isinstance(clauseelement, UpdateBase):
        if clauseelement.get_execution_options().get(UNMARKED):
            return
        topic = topic_of(getattr(clauseelement.table, "name", None))
        if topic is not None:
            conn.info.setdefault(_MARKED, set()).add(topic)


@event.listens_for(Engine, "rollback")
def _forget_marks(conn: Connection):
    conn.info.pop(_MARKED, None)


_TABLE = DataGeneration.__table__
# Built once: a commit that wrote renews its topics with this statement.
_RENEW = update(_TABLE).where(_TABLE.c.topic.in_(bindparam("topics", expanding=True))).values(token=bindparam("token"))


def renew(connection: Connection, topics) -> None:
    """Give these topics new tokens, in the connection's transaction (one stripe of a striped
    topic)."""
    topics = sorted({_row_to_renew(t) for t in topics})
    if not topics:
        return
    token = new_token()
    result = connection.execute(_RENEW, {"topics": topics, "token": token})
    if result.rowcount != len(topics):  # a database whose rows are missing: add them
        have = set(connection.execute(select(_TABLE.c.topic).where(_TABLE.c.topic.in_(topics))).scalars())
        missing = [{"topic": t, "token": token} for t in topics if t not in have]
        if missing:
            connection.execute(_TABLE.insert(), missing)


@event.listens_for(Session, "before_commit")
def _renew_on_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: its writes stay marked until the outermost commit renews them
    # The commit flushes after this hook: flush first, so the flush's writes are marked too.
    session.flush()
    if not session.in_transaction():
        return
    connection = session.connection()  # d2w has one database: the transaction's one connection
    marked = connection.info.pop(_MARKED, None)
    if marked:
        renew(connection, marked)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _forget_tokens(session: Session, *args) -> None:
    session.info.pop(_TOKENS, None)


# ---- reading tokens and keeping figures ---------------------------------------------------

_TOKEN_QUERY = select(DataGeneration.topic, DataGeneration.token)


def tokens() -> dict[str, str]:
    """Every topic's token, as this transaction sees it (read once per transaction)."""
    session = db.session()
    known = session.info.get(_TOKENS)
    if known is None:
        from d2w.core.db import read

        known = fold(read(_TOKEN_QUERY).all())
        session.info[_TOKENS] = known
    return known


class GenerationCache:
    """Figures kept per worker until a topic they depend on changes."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        # (database, topics) -> (their tokens, {key: value}, least recently used first)
        self._spaces: dict[tuple, tuple[tuple, OrderedDict]] = {}
        self._lock = threading.Lock()

    def kept(self, key: tuple[Hashable, ...], compute: Callable[[], T], topics=(PROGRAMME,)) -> T:
        """``compute()``, or what it gave for this key while the topics' tokens were as now."""
        if not current_app.config.get("KEEP_FIGURES_UNTIL_CHANGED", True):
            return compute()
        known = tokens()
        now = tuple(known.get(t) for t in topics)
        if None in now:  # a database without its rows yet: keep nothing
            return compute()
        space_key = (str(db.engine.url), tuple(topics))
        with self._lock:
            space = self._spaces.get(space_key)
            if space is not None and space[0] == now:
                hit = space[1].get(key, _MISSING)
                if hit is not _MISSING:
                    space[1].move_to_end(key)
                    return hit  # type: ignore[return-value]
        value = compute()
        with self._lock:
            space = self._spaces.get(space_key)
            if space is None or space[0] != now:
                space = (now, OrderedDict())  # what was kept under the old tokens goes
                self._spaces[space_key] = space
            space[1][key] = value
            space[1].move_to_end(key)
            while len(space[1]) > self.max_entries:
                space[1].popitem(last=False)  # the least recently used
        return value

    def clear(self) -> None:
        with self._lock:
            self._spaces.clear()

    def __len__(self) -> int:
        return sum(len(entries) for _, entries in self._spaces.values())


_MISSING = object()
# Per topic set: a kept list page is 20-60 KiB of markup, so at most about 15 MiB a worker.
_figures = GenerationCache(256)


def kept(key: tuple[Hashable, ...], compute: Callable[[], T], topics=(PROGRAMME,)) -> T:
    """``compute()``, kept by this worker until the data of ``topics`` changes."""
    return _figures.kept(key, compute, topics)


def clear() -> None:
    _figures.clear()


def kept_markup(key: tuple[Hashable, ...], draw: Callable[[], str], topics=(PROGRAMME,)) -> Markup:
    """Markup from ``draw()`` (a part of a page), kept like ``kept``; its forms carry each
    request's own CSRF token."""
    html, drawn_with = kept(key, lambda: drawn_for_keeping(draw), topics)
    return with_this_token(html, drawn_with)
