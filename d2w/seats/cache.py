"""Figures worked out from the seat data, kept per worker: national medians, where each figure
comes from, the analysis page's tables and charts, each seat's figures, results and charts. Seat data changes only when
``flask d2w seats import`` runs, which clears this cache (and seat-fit's) in its own process;
other workers keep their copy for at most SEATFIT_FACTS_CACHE_SECONDS, the seat figures'
setting (0, as in the tests, computes everything every time).

Values are plain data (or rendered markup), never ORM objects, and never anything about a
person: the same for every user who may see the page.
"""

from __future__ import annotations

from d2w.core.cache import TimedCache

# The analysis takes any threshold: a bound on what one worker keeps.
_seat_figures = TimedCache("SEATFIT_FACTS_CACHE_SECONDS", 128)

# Each seat's part of its page (``d2w.seats.views.SeatPage``), for the seats people are looking
# at: about 18 KiB a seat, so every seat of both boundary sets (about 1,300) would hold 23 MiB in
# each worker; 256 hold under 5 MiB (the cache starts again when full).
_seat_pages = TimedCache("SEATFIT_FACTS_CACHE_SECONDS", 256)

seconds = _seat_figures.seconds
kept = _seat_figures.kept


def seat_page(seat_id: int, compute):
    """``compute()``: the seat's part of its page, kept like the other figures."""
    return _seat_pages.kept(("seat", seat_id), compute)


def clear() -> None:
    _seat_figures.clear()
    _seat_pages.clear()


def size() -> int:
    """How many figures this worker keeps."""
    return len(_seat_figures) + len(_seat_pages)
