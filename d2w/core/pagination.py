"""Paginated, sortable lists with a fixed number of queries (one count, one page)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, select

from d2w.core.db import columns_only, derived_once, read
from d2w.core.extensions import db


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.per_page)

    @property
    def window(self) -> list[int | None]:
        """The page numbers to link: the first, the last, and two either side of this one;
        ``None`` marks a gap. Worked out here, not by looping over every page in the template
        (an audit log has thousands of pages)."""
        last = self.pages
        shown = sorted({1, last, *range(max(1, self.page - 2), min(last, self.page + 2) + 1)})
        out: list[int | None] = []
        for n in shown:
            if out and n - out[-1] > 1:  # type: ignore[operator]
                out.append(None)
            out.append(n)
        return out


def parse_page(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or 1), 1_000_000))
    except ValueError:
        return 1


MAX_ID = 2_147_483_647


def parse_id(raw: str | None) -> int | None:
    """A database id from a query string (ASCII digits, 1..2,147,483,647), or None."""
    if not raw or len(raw) > 10 or not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool

    @property
    def dir(self) -> str:
        return "desc" if self.descending else "asc"


def parse_sort(raw_key: str | None, raw_dir: str | None, allowed: Mapping[str, Any], default: str) -> Sort:
    """Read ``sort``/``dir`` from the query string; unknown keys fall back to the default."""
    key = raw_key if raw_key in allowed else default
    return Sort(key=key, descending=(raw_dir == "desc"))


def apply_sort(stmt: Select, sort: Sort, allowed: Mapping[str, Any], tiebreak) -> Select:
    column = allowed[sort.key]
    ordered = column.desc() if sort.descending else column.asc()
    return stmt.order_by(ordered, tiebreak)


def _count_of(stmt: Select) -> Select:
    return select(func.count()).select_from(stmt.order_by(None).subquery())


def _page_of(stmt: Select) -> Select:
    return stmt.limit(bindparam("page_limit", type_=Integer)).offset(bindparam("page_offset", type_=Integer))


def paginate(
    stmt: Select,
    page: int,
    per_page: int,
    *,
    scalars: bool = True,
    total: int | None = None,
    params: Mapping[str, Any] | None = None,
) -> Page:
    """One page of ``stmt`` run with ``params`` (the page number kept within range). The count is
    a query of its own unless the caller knows it (``total``: a cheaper count without the page's
    joins). For a statement kept by ``built_once``, its count and page statements are kept too."""
    params = dict(params or {})
    if total is None:
        total = read(derived_once(stmt, "count", _count_of), params).scalar() or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(page, pages)
    paged = derived_once(stmt, "page", _page_of)
    params.update(page_limit=per_page, page_offset=(page - 1) * per_page)
    if scalars:
        items = list(db.session.execute(paged, params).scalars().unique())
    elif columns_only(paged):  # plain columns: straight from the connection
        items = list(read(paged, params).all())
    else:  # rows holding model objects need the ORM's own execute
        items = list(db.session.execute(paged, params).all())
    return Page(items=items, page=page, per_page=per_page, total=total)
