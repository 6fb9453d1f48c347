"""A small per-process cache for aggregates that may be a minute old (dashboard totals,
programme-wide milestone totals). Values must be plain data, never ORM objects.

``AGGREGATE_CACHE_SECONDS`` sets the age (0 turns it off, as the tests do); each worker keeps its
own copy, keyed by the database and the caller's key.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import current_app

from d2w.core.extensions import db

T = TypeVar("T")
MAX_ENTRIES = 256

_store: dict[tuple, tuple[float, object]] = {}
_lock = threading.Lock()


def aggregate(key: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
    """``compute()``, or its result from less than AGGREGATE_CACHE_SECONDS ago."""
    seconds = float(current_app.config.get("AGGREGATE_CACHE_SECONDS", 0))
    if seconds <= 0:
        return compute()
    full_key = (str(db.engine.url), *key)
    now = time.monotonic()
    with _lock:
        hit = _store.get(full_key)
    if hit is not None and now - hit[0] < seconds:
        return hit[1]  # type: ignore[return-value]
    value = compute()
    with _lock:
        if len(_store) >= MAX_ENTRIES:
            _store.clear()
        _store[full_key] = (now, value)
    return value


def clear() -> None:
    with _lock:
        _store.clear()
