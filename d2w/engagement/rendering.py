"""The rows of the engagement progress page, drawn in Python: a row a cohort (forty or more), each
through Jinja cost more than the rest of the page. The markup is what the template drew
(tests/test_speed_round4_engagement.py renders both and compares them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from markupsafe import Markup, escape

from d2w.core.urls import fast_url_for


def progress_rows(cohorts: Iterable, totals: Mapping) -> Markup:
    """A table row per cohort ((id, name) pairs): its name linking to its progress, then its
    verified milestones, people reached and volunteers recruited (``totals``: ``Totals`` by
    cohort id) with thousands separators."""
    html = []
    append = html.append
    for cohort_id, name in cohorts:
        t = totals[cohort_id]
        link = escape(fast_url_for("engagement.cohort_progress", cohort_id=cohort_id))
        append(
            f'<tr>\n<td><a href="{link}">{escape(name)}</a></td>\n'
            f'<td class="num">{int(t.milestones):,}</td>\n'
            f'<td class="num">{int(t.people_reached):,}</td>\n'
            f'<td class="num">{int(t.volunteers_recruited):,}</td>\n</tr>\n'
        )
    return Markup("".join(html))  # noqa: S704 - every interpolated value escaped or an integer
