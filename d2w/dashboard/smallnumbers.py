"""The small-number rule for breakdowns of people by ethnic group or age. Pure: no Flask import.

A breakdown is a list of (label, count) rows that between them count every person in a
selection once (with "Prefer not to say" and "Not answered" as rows of their own), so its total
is the size of the selection, which other figures (the pipeline funnel) show anyway. With the
threshold ``t`` (``SMALL_NUMBER_THRESHOLD``, 10 by default):

1. **Small counts.** A count from 1 to t - 1 is shown as "fewer than t". Zero is shown as 0: a
   zero identifies nobody, and it is the usual rule (ONS, NHS Digital) to hide 1 to t - 1 only.
2. **Percentages** are shown only when the base (the breakdown's total) is at least t, and never
   for a hidden row: a percentage and its base give the count back.
3. **No recovery by subtraction (secondary suppression).** The total is treated as known, so a
   hidden row must not be recoverable from the total minus the rows shown. After step 1, further
   rows of t or more are hidden ("not shown"), from the last row up (an order that does not depend
   on the counts, so the choice says nothing about their size; the last rows of a breakdown are
   "Not answered" and "Prefer not to say"), until a reader who knows the total, every
   figure shown, and that a "fewer than t" row holds 1 to t - 1 people and a "not shown" row t or
   more, still cannot narrow any "fewer than t" row below the whole range 1 to t - 1. With p rows
   hidden as small, q rows hidden as "not shown" and S the sum of every hidden row, that is:

   (a) ``S - (p - 1) - q * t >= t - 1``: each small row could hold as many as t - 1, and
   (b) ``q >= 1 or S - (p - 1) * (t - 1) <= 1``: each could hold as few as 1.

   Hiding another non-zero row never makes (a) or (b) false, so the search ends; hiding a zero
   would not help, so zeros stay shown. If hiding every non-zero row still does not satisfy (a)
   and (b), the whole breakdown is withheld (this is always so when the total is under t).
4. The total itself is shown.

A reader who also knows this procedure can learn a little more from where it stopped (that a
small row is not exactly t - 1, say), but, for a threshold of 4 or more, never a hidden row's exact
count: the tests check that by brute force over many random tables. (With a threshold of 2 or 3
the label "fewer than 3" says nearly everything anyway.)

Not covered: differences between two selections (all candidates against one region, say) can
reveal a small number that neither table shows. The dashboard is for staff, who may read each
candidate's answers anyway (every such read is audited); the rule keeps the figures safe to show
on a screen or in a report, not against a determined insider.

A threshold of 1 or less turns the rule off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SMALL = "small"  # hidden because the count is 1 to t - 1
SECONDARY = "secondary"  # hidden so that the small rows cannot be worked out from the total


def fewer_than(threshold: int) -> str:
    return f"fewer than {threshold}"


def _check(count: int, threshold: int) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"a count is a whole number of 0 or more, not {count!r}")
    if isinstance(threshold, bool) or not isinstance(threshold, int):
        raise ValueError(f"the threshold is a whole number, not {threshold!r}")


def is_small(count: int, threshold: int) -> bool:
    """Whether a count must be hidden on its own: 1 to threshold - 1 (zero is not)."""
    _check(count, threshold)
    return 0 < count < threshold


def suppress(count: int, threshold: int) -> int | str:
    """The count, or "fewer than N" for 1 to N - 1. Zero stays 0."""
    return fewer_than(threshold) if is_small(count, threshold) else count


def percentage(count: int, base: int, threshold: int) -> str | None:
    """A whole-number percentage ("23%"), or None when the base is under the threshold (or
    empty) or the count itself is hidden. Halves round up."""
    _check(count, threshold)
    _check(base, threshold)
    if base <= 0 or base < threshold or count > base or is_small(count, threshold):
        return None
    return f"{(200 * count + base) // (2 * base)}%"


@dataclass(frozen=True)
class Row:
    """One row as it may be shown. A hidden row carries no count at all."""

    label: str
    count: int | None  # None when hidden
    text: str  # what a table shows: "1,234", "0", "fewer than 10" or "not shown"
    percent: str | None
    hidden: str | None = None  # None, SMALL or SECONDARY


@dataclass(frozen=True)
class Breakdown:
    rows: tuple[Row, ...]
    total: int
    threshold: int
    withheld: bool = False

    @property
    def any_hidden(self) -> bool:
        return self.withheld or any(r.hidden for r in self.rows)

    @property
    def any_secondary(self) -> bool:
        return any(r.hidden == SECONDARY for r in self.rows)

    @property
    def total_text(self) -> str:
        return f"{self.total:,}"

    def bars(self) -> list[tuple[str, float]]:
        """(label, count) for the rows that may be drawn: never a hidden one."""
        return [(r.label, float(r.count)) for r in self.rows if r.count is not None]


def _protected(counts: Sequence[int], small: set[int], secondary: set[int], t: int) -> bool:
    """Conditions (a) and (b) of the module's rule for this choice of hidden rows."""
    if not small:
        return True
    p, q = len(small), len(secondary)
    s = sum(counts[i] for i in small | secondary)
    upper_ok = s - (p - 1) - q * t >= t - 1
    lower_ok = q >= 1 or s - (p - 1) * (t - 1) <= 1
    return upper_ok and lower_ok


def hidden_rows(counts: Sequence[int], threshold: int) -> tuple[set[int], set[int]] | None:
    """The indexes hidden as small and as secondary, or None if the whole breakdown is withheld."""
    for n in counts:
        _check(n, threshold)
    if threshold <= 1:
        return set(), set()
    small = {i for i, n in enumerate(counts) if is_small(n, threshold)}
    secondary: set[int] = set()
    # Candidates for secondary hiding in a fixed order that does not depend on their counts
    # (the last row first), so which rows were chosen says nothing about their size.
    spare = [i for i in reversed(range(len(counts))) if counts[i] >= threshold]
    while not _protected(counts, small, secondary, threshold):
        if not spare:
            return None
        secondary.add(spare.pop(0))
    return small, secondary


def protect(rows: Sequence[tuple[str, int]], threshold: int) -> Breakdown:
    """Apply the whole rule to a breakdown: what may be shown of each row, and the total."""
    labels = [label for label, _ in rows]
    counts = [n for _, n in rows]
    hidden = hidden_rows(counts, threshold)  # checks every count first
    total = sum(counts)
    if hidden is None:
        return Breakdown(rows=(), total=total, threshold=threshold, withheld=True)
    small, secondary = hidden
    out = []
    for i, (label, n) in enumerate(zip(labels, counts, strict=True)):
        if i in small:
            out.append(Row(label, None, fewer_than(threshold), None, SMALL))
        elif i in secondary:
            out.append(Row(label, None, "not shown", None, SECONDARY))
        else:
            out.append(Row(label, n, f"{n:,}", percentage(n, total, threshold)))
    return Breakdown(rows=tuple(out), total=total, threshold=threshold)
