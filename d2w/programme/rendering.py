"""The long repeated parts of programme pages, drawn in Python: a register's fieldsets (a
candidate each, with four radios), the roster rows of a session's page and the rows of the
session table (``programme/_session_table.html``).

A cohort holds a hundred candidates or more, and drawing each of their rows through Jinja (a
loop step, attribute look-ups, escaping, and the register's radios by string replacement) took
most of those pages' time; here a row is one f-string. The markup is what the templates drew
(tests/test_speed_round4_programme.py renders both and compares them). Every interpolated
value is escaped or is an integer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache

from markupsafe import Markup, escape
from wtforms.widgets import HiddenInput

from d2w.core.forms import render_field
from d2w.core.templating import format_datetime, text
from d2w.core.urls import fast_url_for
from d2w.programme.skills import ATTENDANCE, ATTENDANCE_LABELS

# Stands for a candidate's field name inside a radio group; never part of any markup.
_NAME = "\x00"


def _radio_group(shown: str | None) -> tuple[str, ...]:
    """The four radios of one candidate with ``shown`` checked, split where the field name goes."""
    radios = []
    for value, label in ATTENDANCE:
        checked = " checked" if shown == value else ""
        field_id = f"{_NAME}-{escape(value)}"
        radios.append(
            f'<div class="radio">\n'
            f'  <input type="radio" id="{field_id}" name="{_NAME}" value="{escape(value)}"{checked}>\n'
            f'  <label for="{field_id}">{escape(label)}</label>\n'
            f"</div>\n"
        )
    return tuple("".join(radios).split(_NAME))


# The five groups (none checked, or one of the four), made once.
_GROUPS = {shown: _radio_group(shown) for shown in (None, *(value for value, _ in ATTENDANCE))}


def register_fieldsets(rows: Iterable, threshold: int) -> Markup:
    """One fieldset per ``RegisterRow``: the candidate's name, the at-risk and not-marked tags,
    the row's error if any, and the radios with the shown mark checked."""
    html = []
    append = html.append
    for row in rows:
        name = f"status-{int(row.profile_id)}"  # the row's field_name; an integer, nothing to escape
        error = row.error
        absences = int(row.consecutive_absences)
        at_risk = (
            f'<span class="tag tag-red">At risk: {absences} absences in a row</span>\n' if absences >= threshold else ""
        )
        unmarked = '<span class="muted small">Not marked yet</span>\n' if row.saved is None else ""
        if error:
            append(
                f'<fieldset class="register-row field-error" aria-describedby="{name}-error">\n'
                f'<legend>\n<span class="register-name">{text(row.name)}</span>\n{at_risk}{unmarked}</legend>\n'
                f'<p class="error-message" id="{name}-error"><span class="visually-hidden">Error: </span>'
                f"{text(error)}</p>\n"
            )
        else:
            append(
                f'<fieldset class="register-row">\n'
                f'<legend>\n<span class="register-name">{text(row.name)}</span>\n{at_risk}{unmarked}</legend>\n'
            )
        group = _GROUPS.get(row.shown) or _GROUPS[None]
        append(f'<div class="radio-group">\n{name.join(group)}</div>\n</fieldset>\n')
    return Markup("".join(html))  # noqa: S704 - every interpolated value escaped or an integer


def roster_rows(rows: Iterable, threshold: int, tags: Mapping) -> Markup:
    """A table row per ``RegisterRow`` of a session's page: name, the mark's tag (``tags``: the
    markup of each mark, None for unmarked, drawn by the template) and absences in a row."""
    html = []
    append = html.append
    tag_of = {status: str(escape(tag)) for status, tag in tags.items()}  # escaped once, not once a row
    for row in rows:
        absences = int(row.consecutive_absences)
        at_risk = ' <span class="tag tag-red">At risk</span>' if absences >= threshold else ""
        append(f"<tr>\n<td>{text(row.name)}</td>\n<td>{tag_of[row.saved]}</td>\n<td>{absences}{at_risk}</td>\n</tr>\n")
    return Markup("".join(html))  # noqa: S704 - every interpolated value escaped or an integer


@lru_cache(maxsize=4096)
def session_time(starts_at: datetime, ends_at: datetime) -> str:
    """``when()`` of programme/_macros.html: the start's UTC instant, its London day and time,
    and the end's London time. The same instants give the same text, so each worker works it
    out once per session time (a list shows the same sessions to everyone, every time)."""
    return (
        f'<time datetime="{escape(starts_at.isoformat())}">{escape(format_datetime(starts_at, "%a %-d %b %Y, %H:%M"))}'
        f"</time>–{escape(format_datetime(ends_at, '%H:%M'))}"
    )


def when(s) -> Markup:
    """``when(s)`` of programme/_macros.html for one session (``session_time``)."""
    return Markup(session_time(s.starts_at, s.ends_at))  # noqa: S704 - escaped by session_time


def where(s) -> Markup:
    """``where(s)`` of programme/_macros.html: the place, the online link, or both (escaped)."""
    place, online_url = s.place, s.online_url
    html = text(place) if place else ""
    if place and online_url:
        html += "<br>"
    if online_url:
        html += (
            f'<a href="{text(online_url)}" rel="noopener noreferrer">Join online'
            f'<span class="visually-hidden">: {text(s.title)}</span></a>'
        )
    return Markup(html)  # noqa: S704 - every value escaped


def _mark_tag(status: str | None, label: str) -> Markup:
    """``mark_tag(status, label)`` of programme/_macros.html."""
    if status in ("present", "late"):
        tag = f'<span class="tag tag-green">{text(label)}</span>'
    elif status == "absent":
        tag = f'<span class="tag tag-red">{text(label)}</span>'
    elif status == "excused":
        tag = f'<span class="tag tag-amber">{text(label)}</span>'
    else:
        tag = f'<span class="muted">{text(label)}</span>'
    return Markup(tag)  # noqa: S704 - the label escaped


# Each mark's tag (None: not marked), as a session's page shows them.
MARK_TAGS = {
    None: _mark_tag(None, "Not marked"),
    **{value: _mark_tag(value, ATTENDANCE_LABELS[value]) for value, _ in ATTENDANCE},
}


def hidden_tag(form) -> Markup:
    """``form.hidden_tag()``: the form's hidden fields (its CSRF token among them) in the form's
    order, one a line, drawn by ``render_field`` (hidden_tag's own drawing cost 0.45 M
    instructions a field)."""
    return Markup("\n".join(str(render_field(f)) for f in form if isinstance(f.widget, HiddenInput)))  # noqa: S704


_CANCELLED_ROW = '<tr class="cancelled">\n'
_CANCELLED_TAG = ' <span class="tag tag-grey">Cancelled</span>'


def session_rows(sessions: Iterable, show_cohort: bool) -> Markup:
    """The rows of the session table: one per ``SessionRow`` (a session, or a ``ListedSession``,
    and its ``Summary``): when, title with its link, cancelled tag and skill area, the cohort if
    shown, where, and the attendance."""
    html = []
    append = html.append
    for row in sessions:
        s = row.session
        cancelled = s.is_cancelled
        title = text(s.title)
        link = text(fast_url_for("programme.detail", session_id=s.id))
        if cancelled:
            attendance = '<span class="muted">–</span>'
        else:
            summary = row.summary
            marked = summary.marked
            if marked:
                attendance = (
                    f'{text(summary.percent)} <span class="muted small">({int(summary.attended)} of {int(marked)}'
                    " attended)</span>"
                )
            else:
                attendance = '<span class="muted">Not taken</span>'
        cohort = f"<td>{text(s.cohort_name)}</td>\n" if show_cohort else ""
        append(
            (_CANCELLED_ROW if cancelled else "<tr>\n") + f"<td>{session_time(s.starts_at, s.ends_at)}</td>\n"
            f'<td><a href="{link}">{title}</a>{_CANCELLED_TAG if cancelled else ""}'
            f'<br><span class="muted small">{text(s.skill_label)}</span></td>\n'
            f"{cohort}<td>{where(s)}</td>\n<td>{attendance}</td>\n</tr>\n"
        )
    return Markup("".join(html))  # noqa: S704 - every interpolated value escaped or an integer


def history_rows(rows: Iterable) -> Markup:
    """The rows of a candidate's own attendance (``programme/mine.html``): one per ``HistoryRow``,
    the session's link, cancelled tag and time, then the candidate's mark (or "Cancelled")."""
    html = []
    append = html.append
    for row in rows:
        s = row.session
        cancelled = s.is_cancelled
        link = text(fast_url_for("programme.detail", session_id=s.id))
        mark = '<span class="muted">Cancelled</span>' if cancelled else _mark_tag(row.status, row.status_label)
        append(
            f'<tr>\n<td><a href="{link}">{text(s.title)}</a>{_CANCELLED_TAG if cancelled else ""}'
            f'<br><span class="muted small">{session_time(s.starts_at, s.ends_at)}</span></td>\n'
            f"<td>{mark}</td>\n</tr>\n"
        )
    return Markup("".join(html))  # noqa: S704 - every interpolated value escaped or an integer
