"""The long repeated parts of mentoring pages, drawn in Python: the logs of a pair's page (each
with its action items and staff notes), the rows of a mentor's mentees (their home and "My
mentees") and the rows of the list of mentors.

Drawing each of those through Jinja (a loop step, attribute look-ups and escaping per value)
took most of those pages' time; here a row or a log is one f-string. The markup is what the
templates drew (tests/test_speed_round5_mentoring.py renders both and compares them). Every
interpolated value is escaped or is an integer.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date

from markupsafe import Markup, escape

from d2w.core.templating import format_date, format_datetime
from d2w.core.urls import fast_url_for
from d2w.mentoring.models import OWNER_LABELS

# Stands for an id in a link built once per list (within the routes' range of ids).
_STAND_IN = 1_987_654_301


def _link(endpoint: str, name: str) -> Callable[[int], str]:
    """``escape(url_for(endpoint, **{name: id}))`` for many ids: the address is built once, with
    a stand-in id, and each id put in its place (an id is a whole number, written as itself);
    an address that does not hold the stand-in exactly once is built for every id."""
    url = str(escape(fast_url_for(endpoint, **{name: _STAND_IN})))
    parts = url.split(str(_STAND_IN))
    if len(parts) != 2:
        return lambda ident: str(escape(fast_url_for(endpoint, **{name: ident})))
    head, tail = parts
    return lambda ident: f"{head}{int(ident)}{tail}"


_PRIVATE_NOTE_HEAD = (
    "<h4>Your private note</h4>\n"
    '<p class="muted small">Only you can read this here. The candidate may still obtain it through a subject '
    "access request.</p>\n"
)


def log_articles(
    logs: Iterable,
    *,
    today: date,
    completable: Collection[int],
    see_staff_notes: bool,
    note_html: Mapping[int, str],
    csrf_token: Callable[[], str],
) -> Markup:
    """An ``<article>`` per ``services.LogView`` of a pair's page: heading, summary, the reader's
    private note, the action items (a "Mark as done" form for those in ``completable``) and,
    for staff, the staff notes and the note form (``note_html``, drawn by the view)."""
    html = []
    append = html.append
    token = None  # asked for once, when the first form needs it
    done_url = None
    for v in logs:
        log = v.log
        log_id = int(log.id)
        append(
            f'<article class="panel" id="log-{log_id}" aria-labelledby="log-{log_id}-heading">\n'
            f'<h3 id="log-{log_id}-heading">{escape(log.heading)}</h3>\n'
            f"<h4>Summary</h4>\n"
            f'<p class="prewrap">{escape(log.summary)}</p>\n'
        )
        if v.private_note:
            append(f'{_PRIVATE_NOTE_HEAD}<p class="prewrap">{escape(v.private_note)}</p>\n')
        if v.actions:
            append('<h4>Action items</h4>\n<ul class="action-items">\n')
            for item in v.actions:
                if item.done_at is not None:
                    tag = '<span class="tag tag-green">Done</span>\n'
                elif item.due_on < today:
                    tag = '<span class="tag tag-red">Overdue</span>\n'
                else:
                    tag = ""
                description = escape(item.description)
                append(f'<li>\n{tag}{description} <span class="muted small">({escape(item.owner_and_due)})</span>\n')
                if item.id in completable:
                    if done_url is None:
                        done_url = _link("mentoring.complete_action", "item_id")
                    url = done_url(item.id)
                    if token is None:
                        token = escape(csrf_token())
                    append(
                        f'<form method="post" action="{url}" class="inline-form">\n'
                        f'<input type="hidden" name="csrf_token" value="{token}">\n'
                        f'<button type="submit" class="link-button">Mark as done'
                        f'<span class="visually-hidden">: {description}</span></button>\n'
                        f"</form>\n"
                    )
                append("</li>\n")
            append("</ul>\n")
        if see_staff_notes:
            append("<h4>Staff notes</h4>\n")
            if v.staff_notes:
                for n in v.staff_notes:
                    append(
                        f'<p class="prewrap">{escape(n.body)} <span class="muted small">'
                        f"({escape(n.author_name)}, {escape(format_datetime(n.created_at))})</span></p>"
                    )
            else:
                append('<p class="muted">None.</p>')
            append(f"\n{escape(note_html[log.id])}\n")
        append("</article>\n")
    return Markup("".join(html))  # noqa: S704 - every interpolated value escaped or an integer


_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day_month(d: date) -> str:
    """``d.strftime("%-d %b")``, as the C locale writes it."""
    return f"{d.day} {_MONTH_ABBR[d.month - 1]}"


def mentee_rows(rows: Iterable, weeks: int) -> Markup:
    """A table row per ``services.MenteeLine`` of a mentor's home: the mentee and their profile,
    last contact (and the lapsed tag), the next step, overdue actions and a link to log."""
    html = []
    append = html.append
    weeks = int(weeks)
    pair_url = _link("mentoring.assignment", "assignment_id")
    profile_url = _link("candidates.detail", "profile_id")
    log_url = _link("mentoring.new_log", "assignment_id")
    for r in rows:
        name = escape(r.candidate_name)
        additional = "" if r.is_primary else ' <span class="muted small">(additional mentor)</span>'
        contact = escape(format_date(r.last_contact)) if r.last_contact else "None logged yet"
        lapsed = f' <span class="tag tag-amber">No contact for {weeks}+ weeks</span>' if r.lapsed else ""
        step = r.next_step
        if step:
            next_step = (
                f'{escape(step.description)} <span class="muted small">'
                f"({escape(OWNER_LABELS[step.owner])}, due {_day_month(step.due_on)})</span>"
            )
        else:
            next_step = "–"
        overdue = f'<span class="tag tag-red">{int(r.overdue)} overdue</span>' if r.overdue else "None"
        append(
            f"<tr>\n"
            f'<td><a href="{pair_url(r.id)}">{name}</a>{additional}\n'
            f'<br><a class="small" href="{profile_url(r.profile_id)}">'
            f'Profile<span class="visually-hidden"> of {name}</span></a></td>\n'
            f"<td>{contact}{lapsed}</td>\n"
            f"<td>{next_step}</td>\n"
            f"<td>{overdue}</td>\n"
            f'<td><a href="{log_url(r.id)}">'
            f'Log a session<span class="visually-hidden"> with {name}</span></a></td>\n'
            f"</tr>\n"
        )
    return Markup("".join(html))  # noqa: S704 - every interpolated value escaped or an integer


def mentor_rows(rows: Iterable) -> Markup:
    """A table row per ``services.MentorRow`` of the list of mentors."""
    html = []
    append = html.append
    edit_url = _link("mentoring.edit_mentor", "user_id")
    for p in rows:
        url = edit_url(p.id)
        deactivated = "" if p.active else ' <span class="tag tag-grey">Deactivated</span>'
        if p.profile_id is not None:
            full = ' <span class="tag tag-amber">Full</span>' if p.full else ""
            cells = (
                f"<td>{escape(p.region or '–')}</td>\n"
                f"<td>{escape(p.skills or '–')}</td>\n"
                f"<td>{escape(p.languages or '–')}</td>\n"
                f"<td>{int(p.active_mentees)} of {int(p.capacity)}{full}</td>\n"
            )
        else:
            cells = '<td colspan="4"><span class="muted">No mentor profile yet</span></td>\n'
        append(f'<tr>\n<td><a href="{url}">{escape(p.name)}</a>{deactivated}</td>\n{cells}</tr>\n')
    return Markup("".join(html))  # noqa: S704 - every interpolated value escaped or an integer
