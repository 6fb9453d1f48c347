"""Figures worked out from the seat data, kept per worker: national medians, where each figure
comes from, the analysis page's tables and charts. Seat data changes only when
``flask d2w seats import`` runs, which clears this cache (and seat-fit's) in its own process;
other workers keep their copy for at most SEATFIT_FACTS_CACHE_SECONDS, the seat figures'
setting (0, as in the tests, computes everything every time).

Values are plain data (or rendered markup), never ORM objects, and never anything about a
person: the same for every user who may see the page.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import current_app

from d2w.core.extensions import db

T = TypeVar("T")
# The analysis takes any threshold: a bound on what one worker keeps.
MAX_ENTRIES = 128

_store: dict[tuple, tuple[float, object]] = {}
_lock = threading.Lock()


def seconds() -> float:
    return float(current_app.config.get("SEATFIT_FACTS_CACHE_SECONDS", 0))


def kept(key: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
    """``compute()``, or what it gave for this key less than the cache's age ago."""
    ttl = seconds()
    if ttl <= 0:
        return compute()
    full_key = (str(db.engine.url), *key)
    now = time.monotonic()
    with _lock:
        hit = _store.get(full_key)
    if hit is not None and now - hit[0] < ttl:
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
