"""Small per-process caches of plain data that may be a little old: programme-wide aggregates
(dashboard totals, programme-wide milestone totals; ``aggregate``) and, through ``TimedCache``,
figures worked out from the seat data (``d2w.seats.cache``). Values must be plain data (or
rendered markup), never ORM objects and never anything about one person.

Each cache's age comes from a setting (0 turns it off, as the tests do); each worker keeps its
own copy, keyed by the database and the caller's key, and forgets everything when it is full.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import current_app

from d2w.core.extensions import db

T = TypeVar("T")


class TimedCache:
    def __init__(self, setting: str, max_entries: int):
        self.setting = setting
        self.max_entries = max_entries
        self._store: dict[tuple, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def seconds(self) -> float:
        return float(current_app.config.get(self.setting, 0))

    def kept(self, key: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
        """``compute()``, or what it gave for this key less than the setting's age ago."""
        ttl = self.seconds()
        if ttl <= 0:
            return compute()
        full_key = (str(db.engine.url), *key)
        now = time.monotonic()
        with self._lock:
            hit = self._store.get(full_key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            if len(self._store) >= self.max_entries:
                self._store.clear()
            self._store[full_key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._store.clear()

    def __len__(self) -> int:
        return len(self._store)


_aggregates = TimedCache("AGGREGATE_CACHE_SECONDS", 256)


def aggregate(key: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
    """``compute()``, or its result from less than AGGREGATE_CACHE_SECONDS ago."""
    return _aggregates.kept(key, compute)


def clear() -> None:
    _aggregates.clear()
