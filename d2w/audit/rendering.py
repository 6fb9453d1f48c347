"""The audit log's rows, drawn in Python: fifty events a page, each a table row of seven cells.
Through Jinja (a loop step, attribute look-ups and escaping per cell) they took most of the
page's time; here a row is one f-string. The markup is what the template drew
(tests/test_audit.py renders both and compares them). Every value is escaped."""

from __future__ import annotations

from collections.abc import Iterable

from markupsafe import Markup

from d2w.audit.queries import EventRow
from d2w.core.templating import format_datetime, text
from d2w.core.urls import fast_url_for


def event_rows(events: Iterable[EventRow]) -> Markup:
    """The ``<tr>`` of each event, or one row saying none match."""
    user_base = fast_url_for("users.detail", user_id=0)[:-1]
    rows = []
    for e in events:
        if e.actor_name is not None:
            who = f'{text(e.actor_name)} <span class="muted">{text(e.actor_email)}</span>'
        else:
            who = '<span class="muted">System or anonymous</span>'
        if e.object_type == "user" and e.object_id:
            what = f'<a href="{user_base}{text(e.object_id)}">user {text(e.object_id)}</a>'
        elif e.object_type:
            what = f"{text(e.object_type)} {text(e.object_id or '')}"
        else:
            what = ""
        rows.append(
            "\n  <tr>\n"
            f'    <td><time datetime="{text(e.at.isoformat())}">{text(format_datetime(e.at, "%-d %b %Y, %H:%M:%S"))}</time></td>\n'
            f"    <td>{who}</td>\n"
            f"    <td><code>{text(e.action)}</code></td>\n"
            f"    <td>{what}</td>\n"
            f"    <td>{text(e.summary)}</td>\n"
            f"    <td>{text(e.ip or '')}</td>\n"
            f'    <td><code class="small">{text((e.request_id or "")[:8])}</code></td>\n'
            "  </tr>\n  "
        )
    if not rows:
        return Markup('\n  <tr><td colspan="7">No events match these filters.</td></tr>\n  ')
    return Markup("".join(rows))  # noqa: S704 - every value above is escaped
