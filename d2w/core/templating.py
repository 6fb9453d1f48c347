"""Jinja globals: the policy modules (so templates ask the same rules as views) and helpers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from types import BuiltinFunctionType, FunctionType, MappingProxyType, MethodType, SimpleNamespace
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Flask, request, url_for
from flask.globals import _cv_request
from flask.templating import Environment as FlaskEnvironment
from jinja2.runtime import Context
from markupsafe import Markup, escape

LONDON = ZoneInfo("Europe/London")


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# The formats pages use most, written out (English month names, as the C locale's strftime
# writes them; "%-d" without a leading zero, as glibc's).
_QUICK = {
    "%-d %b %Y": lambda v: f"{v.day} {_MONTHS[v.month - 1][:3]} {v.year}",
    "%-d %B %Y": lambda v: f"{v.day} {_MONTHS[v.month - 1]} {v.year}",
    "%H:%M": lambda v: f"{v.hour:02d}:{v.minute:02d}",
    "%-d %b %Y, %H:%M": lambda v: f"{v.day} {_MONTHS[v.month - 1][:3]} {v.year}, {v.hour:02d}:{v.minute:02d}",
}


try:  # markupsafe's own escaping of a str, without making a Markup of it (most of escape()'s cost)
    from markupsafe._speedups import _escape_inner as _escape_str
except ImportError:  # pragma: no cover - markupsafe without its C speedups, or a later layout

    def _escape_str(value: str) -> str:
        return str(escape(value))


def text(value: str) -> str:
    """``escape(value)`` of a str as a plain str: the same characters (``&<>'"``) escaped the
    same way, at a tenth of the cost (escape() spends most of its time making the Markup). For
    markup drawn in Python (the ``rendering`` modules)."""
    return _escape_str(value) if type(value) is str else str(escape(value))


def format_date(value, fmt: str = "%-d %b %Y") -> str:
    """``value.strftime(fmt)`` for a date or datetime: the same text, without strftime's cost
    for the formats above (a list of 25 rows with two dates each spent 1.6 M instructions on
    ``.strftime`` in its template); anything else goes to strftime. Empty for None."""
    if value is None:
        return ""
    try:
        quick = _QUICK.get(fmt)
        if quick is not None:
            return quick(value)
    except AttributeError:  # a time of day asked of a date
        pass
    return value.strftime(fmt)


def format_datetime(value, fmt: str = "%-d %b %Y, %H:%M") -> str:
    if value is None:
        return ""
    return format_date(value.astimezone(LONDON), fmt)


def browser_summary(user_agent: str | None) -> str:
    """A short, readable name for a browser from its user-agent string ("Chrome on Linux")."""
    ua = user_agent or ""
    browser = "Unknown browser"
    for token, name in (
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
    ):
        if token in ua:
            browser = name
            break
    system = ""
    for token, name in (
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ):
        if token in ua:
            system = name
            break
    return f"{browser} on {system}" if system else browser


def url_with(**changes) -> str:
    """The current page's address with some query arguments changed (for sorting and paging).

    Built from the request's own path, so no query argument can reach ``url_for``'s options.
    A list page asks this a dozen times (sort headers, page links), so the request's own
    arguments are encoded once per request and only the changed ones each time.
    """
    current = _cv_request.get().request  # the request itself: no proxy lookup per link
    base = current.__dict__.get("d2w_url_with")
    if base is None:
        args = current.args.to_dict()
        base = current.d2w_url_with = (current.path, {key: urlencode({key: value}) for key, value in args.items()})
    path, encoded = base
    pairs = dict(encoded)
    for key, value in changes.items():
        if value is None:
            pairs.pop(key, None)
        else:
            pairs[key] = _query_pair(key, value)
    return path + ("?" + "&".join(pairs.values()) if pairs else "")


@lru_cache(maxsize=4096)
def _query_pair(key: str, value) -> str:
    """``key=value`` encoded: the changes are a sort key, a direction or a page number, the same
    few on every list (urlencode cost 15 k instructions a time)."""
    return urlencode({key: value})


def sort_header(label, key: str, sort) -> Markup:
    """A sortable column's header: a link that sorts by ``key`` (the other way round if it is
    the current sort), marked for screen readers. The lists macros' ``sort_header``, in Python
    because every list draws four to seven of them and the macro cost 0.1 M instructions each."""
    active = sort.key == key
    next_dir = "desc" if active and not sort.descending else "asc"
    aria = f' aria-sort="{"descending" if sort.descending else "ascending"}"' if active else ""
    arrow = f'<span aria-hidden="true"> {"▼" if sort.descending else "▲"}</span>' if active else ""
    href = escape(url_with(sort=key, dir=next_dir, page=None))
    return Markup(f'<th scope="col"{aria}>\n    <a href="{href}">{escape(label)}{arrow}</a>\n  </th>\n')  # noqa: S704 - escaped


def pagination(page, label: str = "Pages") -> Markup:
    """Previous, numbered and next page links (the page window) and "Showing x–y of n": the
    lists macros' ``pagination``, in Python for the same reason as ``sort_header``."""
    html = []
    if page.pages > 1:
        html.append(f'<nav class="pagination" aria-label="{escape(label)}">\n    <ul>\n')
        if page.has_prev:
            html.append(
                f'<li><a href="{escape(url_with(page=page.page - 1))}" rel="prev">Previous'
                '<span class="visually-hidden"> page</span></a></li>\n'
            )
        for n in page.window:
            if n is None:
                html.append('<li class="gap" aria-hidden="true">…</li>\n')
            elif n == page.page:
                html.append(
                    f'<li><a href="{escape(url_with(page=n))}" aria-current="page" class="current">'
                    f'<span class="visually-hidden">Page </span>{n}</a></li>\n'
                )
            else:
                html.append(
                    f'<li><a href="{escape(url_with(page=n))}"><span class="visually-hidden">Page </span>{n}</a></li>\n'
                )
        if page.has_next:
            html.append(
                f'<li><a href="{escape(url_with(page=page.page + 1))}" rel="next">Next'
                '<span class="visually-hidden"> page</span></a></li>\n'
            )
        html.append("    </ul>\n  </nav>\n")
    if page.total:
        html.append(f'<p class="count">Showing {page.first_index}–{page.last_index} of {page.total}</p>\n')
    else:
        html.append('<p class="count">Nothing to show</p>\n')
    return Markup("".join(html))  # noqa: S704 - escaped or whole numbers


# Navigation, in order. A link is shown only to those whose role may use its page, using the
# same classification that guards the route.
NAV = [
    ("main.home", "Home"),
    ("candidates.index", "Candidates"),
    ("cohorts.index", "Cohorts"),
    ("programme.index", "Sessions"),
    ("candidates.me", "My profile"),
    ("programme.mine", "My sessions"),
    ("engagement.mine", "My milestones"),
    ("engagement.review", "Milestones"),
    ("mentoring.health", "Mentoring"),
    ("mentoring.home", "My mentees"),
    ("mentoring.mine", "My mentoring"),
    ("seats.index", "Seats"),
    ("seatfit.mine", "My seat-fit", ("candidate",)),
    ("applications.mine", "My applications"),
    ("applications.board", "Applications"),
    ("dashboard.index", "Dashboard"),
    ("users.index", "People"),
    ("audit.index", "Audit log"),
    ("account.overview", "My account"),
]


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    url: str
    current: bool = False


def _nav_links(app: Flask, role: str | None, is_admin: bool, script_root: str) -> tuple[NavItem, ...]:
    """The links one kind of user sees, with their addresses: the same for every request of that
    kind, so each worker works them out once (routes and classifications are fixed at start)."""
    from d2w.core.access import access_of, allows

    key = (role, is_admin, script_root)
    cached = app.extensions.setdefault("d2w_nav", {}).get(key)
    if cached is not None:
        return cached
    kind = SimpleNamespace(is_authenticated=True, role=role, is_admin=is_admin)
    links = []
    for endpoint, label, *only in NAV:
        if only and role not in only[0]:
            continue  # a page other roles may open, but not one of their main places
        access = access_of(app, endpoint)
        if access is not None and allows(access, kind):
            links.append(NavItem(endpoint, label, url_for(endpoint)))
    app.extensions["d2w_nav"][key] = cached = tuple(links)
    return cached


def nav_items() -> list[NavItem]:
    """The main navigation for the signed-in user, with the current section marked. A link is
    shown only to those whose role may use its page (the classification that guards the route)."""
    from flask import current_app
    from flask_login import current_user

    user = current_user._get_current_object()
    if not user.is_authenticated:
        return []
    current_bp = request.blueprint
    links = _nav_links(current_app._get_current_object(), user.role, bool(user.is_admin), request.script_root)
    return [replace(item, current=True) if item.endpoint.split(".")[0] == current_bp else item for item in links]


class QuickCallContext(Context):
    """Jinja's template context, calling plain Python functions straight away.

    Jinja asks everything a template calls whether it wants the context, the evaluation context
    or the environment passed in: two attribute lookups which, for an ordinary function, fail
    with an exception each, on every call (a link in a list row cost 29 k instructions, of which
    the link itself 9 k). A plain function that asks for none of them (no ``jinja_pass_arg``, as
    ``pass_context`` and its kind set), a method whose function asks for none, and a built-in
    function or method (which cannot be marked) are called as Jinja would call them; anything
    else (macros, marked functions and methods, callable objects) goes to Jinja."""

    def call(self, obj, /, *args, **kwargs):
        kind = type(obj)
        if (
            kind is BuiltinFunctionType  # and built-in methods (``starts_at.isoformat()``): never marked
            or (kind is FunctionType and "jinja_pass_arg" not in obj.__dict__)
            or (
                kind is MethodType
                and type(obj.__func__) is FunctionType
                and "jinja_pass_arg" not in obj.__func__.__dict__
            )
        ):
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
            try:
                return obj(*args, **kwargs)
            except StopIteration:  # as Jinja does
                return self.environment.undefined(
                    "value was undefined because a callable raised a StopIteration exception"
                )
        return super().call(obj, *args, **kwargs)


class Environment(FlaskEnvironment):
    """Flask's Jinja environment, with QuickCallContext and cheaper template globals.

    Jinja gives each template a ChainMap of its own globals over the environment's, written in
    Python: every render copies it into a dict key by key, and every ``{% from ... import %}``
    checks each of the environment's forty-odd globals against it, one ChainMap lookup at a time
    (a tenth of the function calls of a page importing three macro files). A template without
    globals of its own (as every d2w template is loaded) gets a read-only view of the
    environment's instead, which C reads at once; like the ChainMap it follows the environment's
    globals and cannot change them."""

    context_class = QuickCallContext

    def make_globals(self, d):
        if not d:
            return MappingProxyType(self.globals)
        return super().make_globals(d)


def init_templating(app: Flask) -> None:
    from d2w.applications import policy as applications_policy
    from d2w.audit import policy as audit_policy
    from d2w.auth import policy as auth_policy
    from d2w.candidates import policy as candidates_policy
    from d2w.core.forms import action_button, form_errors, form_field, render_field, render_label
    from d2w.core.urls import init_urls
    from d2w.reports import policy as reports_policy
    from d2w.seatfit import policy as seatfit_policy
    from d2w.seats import policy as seats_policy
    from d2w.users import policy as users_policy

    app.jinja_env.globals["policy"] = SimpleNamespace(
        auth=auth_policy,
        users=users_policy,
        audit=audit_policy,
        candidates=candidates_policy,
        seats=seats_policy,
        seatfit=seatfit_policy,
        applications=applications_policy,
        reports=reports_policy,
    )
    init_urls(app)
    app.jinja_env.globals["url_with"] = url_with
    app.jinja_env.globals["nav_items"] = nav_items
    app.jinja_env.globals["render_field"] = render_field
    app.jinja_env.globals["render_label"] = render_label
    # a global, so that a page need not import the forms macros for it (an import costs a little
    # on every render); the macros file still hands it out to templates that import it
    app.jinja_env.globals["action_button"] = action_button
    app.jinja_env.globals["action_button_form"] = action_button
    app.jinja_env.globals["form_field"] = form_field
    app.jinja_env.globals["form_error_summary"] = form_errors
    app.jinja_env.globals["form_errors"] = form_errors  # as the forms macros hand it out
    app.jinja_env.globals["field"] = form_field  # as the forms macros hand it out
    app.jinja_env.globals["sort_header"] = sort_header
    app.jinja_env.globals["pagination"] = pagination
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["browser_summary"] = browser_summary
