"""What every signed-in page pays: the navigation kept per kind of user, and a session cookie that
is written at sign-in rather than on every response (issue #8's fixed per-request costs)."""

from __future__ import annotations

import re
import types
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from tests.browser.test_journeys import NAV
from tests.conftest import count_queries, login

_NAV = re.compile(r'<nav class="site-nav" aria-label="Main">(.*?)</nav>', re.S)
_LINK = re.compile(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>')


def nav_of(html: str) -> list[tuple[str, str, bool]]:
    match = _NAV.search(html)
    return [] if match is None else [(label, href, bool(cur)) for href, cur, label in _LINK.findall(match.group(1))]


def test_each_kind_of_user_sees_its_own_navigation_in_one_worker(app, people):
    """The links are worked out once per kind of user and kept: a staff member's, an admin's, a
    mentor's and a candidate's navigation must never leak into one another's, in any order."""
    seen = {}
    for role in ("candidate", "admin", "mentor", "staff", "candidate", "staff", "admin"):
        client = app.test_client()
        assert login(client, people[role].email).status_code == 302
        links = nav_of(client.get("/home").get_data(as_text=True))
        assert [label for label, _, _ in links] == NAV[role]
        seen.setdefault(role, links)
        assert links == seen[role]
    for role in ("admin", "staff", "mentor", "candidate"):
        assert ("My account", "/account/", False) in seen[role]


def test_the_current_section_is_marked_per_request(app, people, login_as):
    client = login_as(people["staff"])
    on_cohorts = nav_of(client.get("/cohorts/").get_data(as_text=True))
    assert [label for label, _, current in on_cohorts if current] == ["Cohorts"]
    on_home = nav_of(client.get("/home").get_data(as_text=True))
    assert [label for label, _, current in on_home if current] == ["Home"]
    assert [label for label, _, current in nav_of(client.get("/cohorts/").get_data(as_text=True)) if current] == [
        "Cohorts"
    ]


def test_anonymous_pages_have_no_navigation(client):
    assert nav_of(client.get("/auth/login").get_data(as_text=True)) == []


def _session_cookies(response, name: str) -> list[str]:
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]


def test_the_session_cookie_is_written_at_sign_in_and_lapses_with_the_session(app, people):
    client = app.test_client()
    name = app.config["SESSION_COOKIE_NAME"]
    response = login(client, people["staff"].email)
    cookies = _session_cookies(response, name)
    assert len(cookies) == 1
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookies[0]).group(1))
    hard_limit = datetime.now(UTC) + timedelta(hours=app.config["SESSION_MAX_HOURS"])
    # the cookie lapses when the server-side session's hard limit does (not a month later)
    assert abs((expires - hard_limit).total_seconds()) < 120
    # reading pages does not sign and send the cookie again
    for path in ("/home", "/cohorts/", "/account/", "/home"):
        assert _session_cookies(client.get(path), name) == []


def test_signing_out_still_clears_the_cookie(app, people):
    client = app.test_client()
    name = app.config["SESSION_COOKIE_NAME"]
    login(client, people["staff"].email)
    from tests.conftest import csrf_token

    response = client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/account/")})
    assert response.status_code == 302
    cleared = _session_cookies(response, name)
    assert cleared, "sign-out must replace the session cookie"
    assert client.get("/cohorts/").status_code == 302  # signed out


@pytest.mark.parametrize("role", ["staff", "candidate"])
def test_a_signed_in_page_costs_one_query_for_the_session(app, people, role):
    """The session and its user come in one query; the navigation and the layout add none."""
    client = app.test_client()
    login(client, people[role].email)
    client.get("/account/")
    with count_queries(app) as statements:
        client.get("/account/")
    session_queries = [s for s in statements if "user_sessions" in s and "FROM user_sessions" in s]
    assert len(session_queries) == 2  # the sign-in check, and the page's own list of sessions


def _form_classes():
    import importlib
    import pkgutil

    from flask_wtf import FlaskForm

    import d2w

    for module in pkgutil.walk_packages(d2w.__path__, "d2w."):
        if module.name.endswith(".forms"):
            importlib.import_module(module.name)
    seen, stack = [], list(FlaskForm.__subclasses__())
    while stack:
        cls = stack.pop()
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return sorted(seen, key=lambda c: f"{c.__module__}.{c.__qualname__}")


def _every_field():
    """(form class, field) for every field of every form that can be built without arguments
    (forms built with arguments are covered by their own pages' tests)."""
    for cls in _form_classes():
        try:
            form = cls(formdata=None, meta={"csrf": False})
        except TypeError:
            continue
        for f in form:
            yield cls, f


TRICKY = [("", "Any"), ("a&b", 'Tom "Tommy" <O\'Neil>'), ("7", "Seven"), ("ünï", "Ünïcode & more")]


def test_quick_select_boxes_draw_exactly_what_wtforms_draws(app):
    """Every plain select box of every form, with its own choices and with awkward ones, each
    choice selected in turn, with and without the attributes the field macro adds."""
    from wtforms import SelectChoice
    from wtforms.fields import SelectField

    from d2w.core.forms import render_field

    checked = 0
    with app.test_request_context("/"):
        for cls, f in _every_field():
            if not isinstance(f, SelectField) or type(f.widget).__name__ != "Select":
                continue
            own = list(f.choices or [])
            for choices in (own, [SelectChoice(v, label) for v, label in TRICKY]):
                if not choices:
                    continue
                f.choices = choices
                values = [c.value if isinstance(c, SelectChoice) else c[0] for c in choices]
                for value in [None, *values[:4]]:
                    f.data = value
                    for attrs in (
                        {},
                        {"aria-describedby": "x-hint x-error", "aria-invalid": "true"},
                        {"required": True},
                    ):
                        assert str(render_field(f, **attrs)) == str(f(**attrs)), (cls, f.name, value, attrs)
                        checked += 1
    assert checked > 100


ATTRS = ({}, {"aria-describedby": "x-hint x-error", "aria-invalid": "true"}, {"required": True}, {"class_": "a&b"})


def test_every_field_and_label_of_every_form_draws_exactly_what_wtforms_draws(app):
    """The quick drawing of inputs, text areas and labels, for every field of every form, empty
    and holding awkward text, with and without the attributes the field macro adds."""
    from werkzeug.datastructures import MultiDict

    from d2w.core.forms import render_field, render_label

    checked = {}
    with app.test_request_context("/"):
        for cls, f in _every_field():
            assert str(render_label(f)) == str(f.label()), (cls, f.name)
            if type(f.widget).__name__ in ("Select", "ListWidget", "TableWidget", "FileInput", "PasswordInput"):
                continue
            for text in (None, TRICKY[1][1], "y", "2026-01-02", ""):
                f.process(None if text is None else MultiDict({f.name: text}))
                for attrs in ATTRS:
                    assert str(render_field(f, **attrs)) == str(f(**attrs)), (cls, f.name, text, attrs)
                    checked[type(f.widget).__name__] = checked.get(type(f.widget).__name__, 0) + 1
    assert {"TextInput", "DateInput", "EmailInput", "CheckboxInput", "TextArea"} <= set(checked), checked


def test_quick_fields_keep_render_kw_flags_and_odd_widgets(app):
    from wtforms import Form, IntegerField, StringField, TextAreaField
    from wtforms.validators import DataRequired, Length, Optional

    from d2w.core.forms import render_field

    class F(Form):
        name = StringField("Name", [DataRequired(), Length(min=2, max=80)], render_kw={"placeholder": 'e.g. "Jo"'})
        notes = TextAreaField("Notes", [Optional(), Length(max=500)], render_kw={"rows": 4})
        count = IntegerField("Count")  # NumberInput: drawn by WTForms itself
        listed = StringField("Listed")

    form = F(data={"name": "<Jo>", "notes": "a\nb & c", "count": 3})
    form.listed._datalist = "places"  # a datalist: drawn by WTForms itself
    for f in form:
        for attrs in ATTRS:
            assert str(render_field(f, **attrs)) == str(f(**attrs)), (f.name, attrs)
    assert 'maxlength="80"' in str(render_field(form.name))
    assert 'placeholder="e.g. &#34;Jo&#34;"' in str(render_field(form.name))


def test_quick_select_falls_back_for_options_with_their_own_attributes(app):
    from wtforms import Form, SelectChoice, SelectField, SelectMultipleField
    from wtforms.validators import DataRequired

    from d2w.core.forms import render_field

    class F(Form):
        one = SelectField(choices=[SelectChoice("a", "A", render_kw={"disabled": True}), SelectChoice(True, "Yes")])
        many = SelectMultipleField(choices=[SelectChoice("a", "A"), SelectChoice("b", "B")])

        grouped = SelectField(
            choices=[
                SelectChoice("n1", "Leeds", optgroup="North"),
                SelectChoice("s1", "Bristol & Bath", optgroup="South"),
            ]
        )
        required = SelectField(
            choices=[SelectChoice("a", "A")], validators=[DataRequired()], render_kw={"class": "wide"}
        )

    form = F(data={"one": "a", "many": ["b"], "grouped": "s1"})
    assert str(render_field(form.one)) == str(form.one())
    assert 'disabled selected value="a"' in str(render_field(form.one))
    assert str(render_field(form.many)) == str(form.many())
    assert str(render_field(form.grouped)) == str(form.grouped())
    assert "<optgroup" in str(render_field(form.grouped))
    assert str(render_field(form.required, aria_invalid="true")) == str(form.required(aria_invalid="true"))
    assert str(render_field(form.required)).startswith('<select class="wide" id="required" name="required" required>')


def test_the_page_window_links_what_the_old_template_loop_did():
    """The pagination's numbers: first, last, two either side of the current page, and a gap
    mark where numbers are skipped; the same as the template's loop over every page gave."""
    from d2w.core.pagination import Page

    def looped(page: int, pages: int) -> list[int | None]:
        out: list[int | None] = []
        for n in range(1, pages + 1):
            if n == 1 or n == pages or abs(n - page) <= 2:
                out.append(n)
            elif abs(n - page) == 3:
                out.append(None)
        return out

    for pages in range(1, 40):
        for current in range(1, pages + 1):
            page = Page(items=[], page=current, per_page=10, total=pages * 10)
            assert page.window == looped(current, pages), (current, pages)
    assert Page(items=[], page=2000, per_page=25, total=100_000).window == [
        1,
        None,
        1998,
        1999,
        2000,
        2001,
        2002,
        None,
        4000,
    ]


def _int_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static" and rule.arguments:
            yield rule


@pytest.mark.parametrize("script_root", ["", "/d2w"])
def test_quick_links_are_what_url_for_builds_for_every_route(app, script_root):
    """Every route with arguments, built with whole numbers both ways, under two script roots."""
    from flask import url_for

    from d2w.core.urls import fast_url_for

    rules = list(_int_rules(app))
    assert len(rules) > 40
    with app.test_request_context("/", base_url=f"http://localhost{script_root}"):
        for rule in rules:
            names = sorted(rule.arguments)
            for n, values in enumerate((dict.fromkeys(names, 1), {k: 7 + i * 1000 for i, k in enumerate(names)})):
                assert fast_url_for(rule.endpoint, **values) == url_for(rule.endpoint, **values), (rule, n)
            values = dict.fromkeys(names, 42)
            assert fast_url_for(rule.endpoint, **values).startswith(f"{script_root}/")
        assert fast_url_for("static", filename="css/app.css") == url_for("static", filename="css/app.css")
        patterns = app.extensions["d2w_url_patterns"]
        quick = [key for key, pattern in patterns.items() if pattern and key[0] != "static"]
        assert len(quick) > 0.8 * len(rules), "most routes are drawn from a pattern"


def test_quick_links_leave_text_queries_and_odd_options_to_url_for(app):
    from flask import url_for

    from d2w.core.urls import fast_url_for

    with app.test_request_context("/"):
        rule = next(_int_rules(app))
        name = sorted(rule.arguments)[0]
        others = {k: 3 for k in rule.arguments if k != name}
        cases = [
            (rule.endpoint, {name: "a b/ü", **others}),  # text is quoted by Werkzeug
            (rule.endpoint, {name: True, **others}),  # a bool is not a number here
            (rule.endpoint, {name: 5, **others, "page": 2}),  # a query argument
            (rule.endpoint, {name: 5, **others, "_anchor": "x"}),
            (rule.endpoint, {name: 5, **others, "_external": True}),
            ("candidates.index", {"page": 3}),
            ("candidates.index", {}),
        ]
        for endpoint, values in cases:
            assert fast_url_for(endpoint, **values) == url_for(endpoint, **values), (endpoint, values)
    app.config["SERVER_NAME"] = "d2w.example"
    with app.app_context():  # outside a request: full addresses, as before
        assert fast_url_for(rule.endpoint, **{name: 5, **others}).startswith("http://d2w.example/")
        assert fast_url_for(rule.endpoint, **{name: 5, **others}) == url_for(rule.endpoint, **{name: 5, **others})
    app.config["SERVER_NAME"] = None
    with app.test_request_context("/", base_url="http://localhost/other"):
        assert fast_url_for(rule.endpoint, **{name: 5, **others}).startswith("/other/")


def test_quick_links_ask_flask_when_a_rule_has_defaults_or_url_defaults(app):
    from flask import url_for

    from d2w.core.urls import fast_url_for

    def view(**_values):
        return ""

    app.add_url_rule("/t/list/", "t_list", view, defaults={"page": 1})
    app.add_url_rule("/t/list/<int:page>", "t_list", view)
    app.add_url_rule("/t/code/<int(fixed_digits=4):n>", "t_code", view)
    with app.test_request_context("/"):
        assert fast_url_for("t_list", page=1) == url_for("t_list", page=1) == "/t/list/"
        assert fast_url_for("t_list", page=2) == url_for("t_list", page=2) == "/t/list/2"
        assert fast_url_for("t_code", n=7) == "/t/code/0007"
    app.url_defaults(lambda endpoint, values: values.setdefault("n", 9) if endpoint == "t_code" else None)
    with app.test_request_context("/"):
        app.extensions["d2w_url_patterns"].clear()
        assert fast_url_for("t_code") == url_for("t_code") == "/t/code/0009"


def test_templates_draw_links_with_the_quick_url_for(app):
    from d2w.core.urls import fast_url_for

    assert app.jinja_env.globals["url_for"] is fast_url_for


def _url_with_as_before(**changes):
    from urllib.parse import urlencode

    from flask import request

    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    query = urlencode(args)
    return request.path + (f"?{query}" if query else "")


@pytest.mark.parametrize(
    "query",
    [
        "",
        "page=3",
        "q=a+b%26c&cohort=3&sort=name&dir=desc&page=7",
        "q=%C3%BCn%C3%AF&q=second&empty=&x=1",
        "page=2&page=5",
    ],
)
def test_page_and_sort_links_keep_the_query_as_before(app, query):
    from d2w.core.templating import url_with

    changes = [
        {},
        {"page": 2},
        {"page": None},
        {"sort": "name", "dir": "asc", "page": None},
        {"q": "Tom & Jerry / ü"},
        {"new": 5, "cohort": None},
    ]
    with app.test_request_context(f"/candidates/?{query}"):
        for change in changes * 2:  # the second time from the request's stored encoding
            assert url_with(**change) == _url_with_as_before(**change), change


def test_action_buttons_draw_what_the_old_macro_drew(app):
    """``action_button`` is Python now; its form is the old macro's, whitespace aside."""
    old = (
        '{% macro ab(url, label, class_="button", confirm=None) %}'
        '<form method="post" action="{{ url }}" class="inline-form"{% if confirm %} data-confirm="{{ confirm }}"{% endif %}>'
        '<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">'
        '<button type="submit" class="{{ class_ }}">{{ label }}</button></form>{% endmacro %}'
    )
    cases = [
        ("/cohorts/3/enrolments/4/withdraw", "Withdraw", "link-button", 'Withdraw Tom "T" <O\'Neil> from A&B?'),
        ("/auth/logout", "Sign out", "link-button", None),
        ("/x?a=1&b=2", "Go <now>", "button", ""),
    ]
    with app.test_request_context("/"):
        new = app.jinja_env.from_string(
            '{% from "macros/forms.html" import action_button %}'
            "{% for u, l, c, f in cases %}{{ action_button(u, l, c, confirm=f) }}|{% endfor %}"
        )
        before = app.jinja_env.from_string(
            old + "{% for u, l, c, f in cases %}{{ ab(u, l, c, confirm=f) }}|{% endfor %}"
        )
        context = {"cases": cases}
        app.update_template_context(context)
        assert re.sub(r">\s+<", "><", new.render(context)) == before.render(context)
        assert 'data-confirm="Withdraw Tom &#34;T&#34; &lt;O&#39;Neil&gt; from A&amp;B?"' in new.render(context)


def test_read_gives_the_sessions_rows_and_sees_its_pending_changes(app, make):
    """``read``: column queries on the session's connection see what the session would see,
    unflushed changes included (it flushes first, as the session's execute does)."""
    from sqlalchemy import func, select, text

    from d2w.auth.models import User
    from d2w.core.db import read
    from d2w.core.extensions import db

    make.user("staff", name="Zed Read")
    with app.app_context():
        stmt = select(User.id, User.name, User.created_at).order_by(User.id)
        assert read(stmt).all() == db.session.execute(stmt).all()
        user = db.session.scalar(select(User).where(User.name == "Zed Read"))
        user.name = "Zed Renamed"  # pending, not flushed
        assert read(select(User.name).where(User.id == user.id)).scalar() == "Zed Renamed"
        with db.session.no_autoflush:
            user.name = "Zed Again"
            assert read(select(User.name).where(User.id == user.id)).scalar() == "Zed Renamed"
        db.session.rollback()
        assert read(select(func.count()).select_from(User).where(User.name.like("Zed%"))).scalar() == 1
        assert read(select(User.name).where(User.id == user.id)).scalar() == "Zed Read"
        # models, text and changes go to the session as before
        (same,) = read(select(User).where(User.id == user.id)).scalars().all()
        assert same is user
        assert read(text("SELECT 1")).scalar() == 1
        # a UNION of column selects is columns too; with a model in it, it is the session's
        from sqlalchemy import union_all

        from d2w.core.db import columns_only

        both = union_all(select(User.id, User.name).where(User.id == user.id), select(User.id, User.email))
        assert columns_only(both) and sorted(read(both).all()) == sorted(db.session.execute(both).all())
        assert not columns_only(union_all(select(User).where(User.id == 1), select(User).where(User.id == 2)))


def test_paginate_gives_model_objects_columns_and_mixed_rows(app, make):
    from sqlalchemy import select

    from d2w.auth.models import User
    from d2w.core.db import columns_only
    from d2w.core.pagination import paginate

    for i in range(3):
        make.user("staff", name=f"Pager {i}")
    with app.app_context():
        base = select(User).where(User.name.like("Pager%")).order_by(User.name)
        assert [u.name for u in paginate(base, 1, 2).items] == ["Pager 0", "Pager 1"]
        columns = base.with_only_columns(User.id, User.name)
        assert columns_only(columns) and not columns_only(base)
        assert [r.name for r in paginate(columns, 2, 2, scalars=False).items] == ["Pager 2"]
        mixed = base.add_columns(User.email)
        assert not columns_only(mixed)
        (user, email), *_ = paginate(mixed, 1, 2, scalars=False).items
        assert isinstance(user, User) and user.email == email


# ---------------------------------------------------------------------------------------------
# Fourth round: statements built once, the session cookie checked once, the form token signed once


def test_built_once_keeps_one_statement_per_key_and_kind_of_user(app, people):
    from sqlalchemy import select

    from d2w.auth.models import User
    from d2w.core.db import ActingUserShape, built_once, read
    from d2w.core.extensions import db

    built = []

    def build(shape):
        built.append((shape.role, shape.is_admin))
        return select(User.id).where((User.id == shape.id) | (User.role == shape.role)).order_by(User.id)

    with app.app_context():
        staff, admin, mentor = (db.session.get(User, people[r].id) for r in ("staff", "admin", "mentor"))
        first, params = built_once(("test.kinds",), staff, build)
        assert params == {"actor_id": staff.id}
        again, params = built_once(("test.kinds",), staff, build)
        assert again is first  # kept: SQLAlchemy keeps its cache key too
        assert built_once(("test.kinds",), admin, build)[0] is not first  # an admin is another kind
        mentor_statement, params = built_once(("test.kinds",), mentor, build)
        assert built == [("staff", False), ("staff", True), ("mentor", False)]
        # the actor's id is bound when it runs, not when it was built
        rows = read(mentor_statement, params).scalars().all()
        assert rows == read(build(mentor)).scalars().all()
        assert mentor.id in rows and staff.id not in rows
        assert built_once(("test.other",), staff, build)[0] is not first  # another key, another statement

        shape = ActingUserShape("staff", False)
        with pytest.raises(AttributeError, match="email"):
            _ = shape.email  # a statement may depend on the user's id, role and admin flag only
        assert shape.is_authenticated and shape.role == "staff" and not shape.is_admin


def _cookie(client, app):
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"])


def test_a_kept_session_cookie_is_still_checked_and_still_expires(app, people, monkeypatch):
    """The worker remembers cookies it has verified; a forged or altered cookie is still refused,
    and a remembered one lapses when the cookie's own lifetime ends."""
    import time as time_module

    client = app.test_client()
    login(client, people["staff"].email)
    assert client.get("/cohorts/").status_code == 200
    assert client.get("/cohorts/").status_code == 200  # from the remembered cookie
    kept = app.session_interface._kept
    value = _cookie(client, app).value
    assert value in kept and kept[value][0]["sid"]

    name = app.config["SESSION_COOKIE_NAME"]
    forged = app.test_client()
    forged.set_cookie(name, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert forged.get("/cohorts/").status_code == 302  # not signed in

    lifetime = app.permanent_session_lifetime.total_seconds()
    real_time = time_module.time
    monkeypatch.setattr(time_module, "time", lambda: real_time() + lifetime + 5)
    assert client.get("/cohorts/").status_code == 302  # the remembered cookie has lapsed too


def test_a_cookie_holding_a_list_is_not_kept(app, people):
    """Flash messages are a list in the cookie: such a cookie is read afresh each time, so that no
    request's changes reach another's copy."""
    client = app.test_client()
    login(client, people["staff"].email)
    with client.session_transaction() as s:
        s["_flashes"] = [("info", "Saved.")]
    value = _cookie(client, app).value
    page = client.get("/cohorts/").get_data(as_text=True)
    assert "Saved." in page
    assert value not in app.session_interface._kept
    assert "Saved." not in client.get("/cohorts/").get_data(as_text=True)  # shown once


def test_the_form_token_is_signed_once_a_minute_and_stays_valid(app, people, monkeypatch):
    from d2w.core import security
    from tests.conftest import csrf_token, post

    client = app.test_client()
    login(client, people["staff"].email)
    first = csrf_token(client, "/account/")
    real_time = security.time.time
    monkeypatch.setattr(security.time, "time", lambda: real_time() + 5)  # a new signature would differ
    assert csrf_token(client, "/cohorts/") == first  # the same signed token, page after page
    monkeypatch.undo()
    other = app.test_client()
    login(other, people["admin"].email)
    assert csrf_token(other, "/account/") != first  # each session its own

    later = security.FORM_TOKEN_REUSE_SECONDS + 1
    real_monotonic, real_time = security.time.monotonic, security.time.time
    monkeypatch.setattr(security.time, "monotonic", lambda: real_monotonic() + later)
    monkeypatch.setattr(security.time, "time", lambda: real_time() + later)
    fresh = csrf_token(client, "/account/")
    assert fresh != first  # signed again (with a newer timestamp) after a minute
    assert csrf_token(client, "/cohorts/") == fresh
    # a kept token is a good token: a form posted with it goes through
    response = post(client, "/auth/logout")
    assert response.status_code == 302
    assert client.get("/cohorts/").status_code == 302


def test_the_date_filter_writes_what_strftime_writes():
    """Quick formats for the common date formats: the same text as strftime (C locale) for every
    day of a leap year and awkward times, dates and datetimes; other formats go to strftime."""
    from datetime import UTC, date, datetime, timedelta

    from d2w.core.templating import _QUICK, LONDON, format_date, format_datetime

    days = [date(2024, 1, 1) + timedelta(days=n) for n in range(366)]
    times = [datetime(2024, 3, 31, 0, 59, 7, tzinfo=UTC) + timedelta(hours=h, minutes=7 * h) for h in range(30)]
    for fmt in (*_QUICK, "%a %-d %b %Y, %H:%M", "%A %-d %B %Y", "%b %Y", "%-d %b", "%d/%m/%y %%"):
        for value in (*days, *times):
            assert format_date(value, fmt) == value.strftime(fmt), (fmt, value)
        for value in times:  # the filter for stored times: London time, then the format
            assert format_datetime(value, fmt) == value.astimezone(LONDON).strftime(fmt), (fmt, value)
    assert format_date(date(2024, 5, 1), "%H:%M") == "00:00"  # a time of a date: strftime's answer
    assert format_date(None) == format_datetime(None) == ""
    assert format_date(date(2024, 5, 1)) == "1 May 2024"


_OLD_FIELD_MACRO = """{% macro field(f, autocomplete=None, class_="", type=None) %}
  {% set describedby = [] %}
  {% if f.description %}{% set _ = describedby.append(f.id ~ "-hint") %}{% endif %}
  {% if f.errors %}{% set _ = describedby.append(f.id ~ "-error") %}{% endif %}
  {% set attrs = {} %}
  {% if describedby %}{% set _ = attrs.update({"aria-describedby": describedby|join(" ")}) %}{% endif %}
  {% if f.errors %}{% set _ = attrs.update({"aria-invalid": "true"}) %}{% endif %}
  {% if autocomplete %}{% set _ = attrs.update({"autocomplete": autocomplete}) %}{% endif %}
  {% if f.flags.required %}{% set _ = attrs.update({"required": True}) %}{% endif %}
  {% if f.type == "BooleanField" %}
  <div class="field field-checkbox{% if f.errors %} field-error{% endif %} {{ class_ }}">
    {{ render_field(f, **attrs) }}
    {{ render_label(f) }}
    {% if f.description %}<p class="hint" id="{{ f.id }}-hint">{{ f.description }}</p>{% endif %}
    {% if f.errors %}<p class="error-message" id="{{ f.id }}-error">{% for e in f.errors %}<span class="visually-hidden">Error: </span>{{ e }} {% endfor %}</p>{% endif %}
  </div>
  {% else %}
  <div class="field{% if f.errors %} field-error{% endif %} {{ class_ }}">
    {{ render_label(f) }}
    {% if f.description %}<p class="hint" id="{{ f.id }}-hint">{{ f.description }}</p>{% endif %}
    {% if f.errors %}<p class="error-message" id="{{ f.id }}-error">{% for e in f.errors %}<span class="visually-hidden">Error: </span>{{ e }} {% endfor %}</p>{% endif %}
    {{ render_field(f, **attrs) }}
  </div>
  {% endif %}
{% endmacro %}"""


def test_the_field_function_draws_what_the_old_field_macro_drew(app):
    """``field`` (imported from the forms macros) is Python now. For every field of every form,
    empty and with errors (awkward text among them), with and without a description, class and
    autocomplete, its markup is the old macro's, runs of whitespace aside."""
    new = app.jinja_env.from_string(
        '{% from "macros/forms.html" import field %}{{ field(f, autocomplete=ac, class_=cls) }}'
    )
    old = app.jinja_env.from_string(_OLD_FIELD_MACRO + "{{ field(f, autocomplete=ac, class_=cls) }}")

    def squeeze(html: str) -> str:
        return re.sub(r"\s+", " ", html).strip()

    drawn = 0
    with app.test_request_context("/"):
        for cls, f in _every_field():
            if f.type in ("CSRFTokenField", "HiddenField"):
                continue
            for errors, description, css, ac in (
                ([], f.description, "", None),
                (["Enter a date.", TRICKY[1][1]], f.description, "grow", "off"),
                (["One."], 'A "hint" <b>&</b>', "a&b", None),
                ([], "Just a hint.", "", "email"),
            ):
                f.errors, f.description = list(errors), description
                context = {"f": f, "ac": ac, "cls": css}
                app.update_template_context(context)
                assert squeeze(new.render(context)) == squeeze(old.render(context)), (cls, f.name, errors)
                drawn += 1
    assert drawn > 200


def test_templates_call_plain_functions_directly_and_the_rest_as_jinja_does(app):
    """The quick call path is only for plain functions: functions that ask for the context or the
    environment still get them, inside loops and blocks as outside; macros and methods work; a
    StopIteration gives Jinja's undefined."""
    from jinja2 import pass_context, pass_environment

    from d2w.core.templating import QuickCallContext

    @pass_context
    def with_context(context, suffix):
        return f"{context['who']}{suffix}"

    @pass_environment
    def with_environment(environment, value):
        return f"{type(environment).__name__}:{value}"

    def plain(a, b=0, *, c=""):
        return f"{a}-{b}-{c}"

    def stops():
        raise StopIteration

    class Thing:
        def plain(self, x):
            return f"plain {x}"

        @pass_context
        def marked(self, context, x):
            return f"{context['who']} {x}"

        class Called:  # a callable object whose class asks for the context
            jinja_pass_arg = pass_context(lambda: None).jinja_pass_arg

            def __call__(self, owner, context):
                return f"called {context['who']} {type(owner).__name__}"

        def __init__(self):
            self.called = types.MethodType(self.Called(), self)  # a method of a callable object

    source = (
        "{% macro m(x) %}<{{ x }}>{% endmacro %}"
        "{% block b %}{% for i in range(2) %}{% set who = 'loop' ~ i %}"
        "{{ plain(i, b=2, c='x') }}|{{ with_context('!') }}|{{ with_environment(i) }}|{{ m(i) }}|"
        "{{ ', '.join(['a', 'b']) }}|{{ stops() is undefined }}|{{ thing.plain(i) }}|{{ thing.marked(i) }}|"
        "{{ day.isoformat() }}|{{ thing.called() }};{% endfor %}{% endblock %}"
        "{{ plain(9) }}|{{ with_context('?') }}|{{ thing.marked('!') }}"
    )
    with app.test_request_context("/"):
        assert app.jinja_env.context_class is QuickCallContext
        template = app.jinja_env.from_string(source)
        out = template.render(
            who="top",
            plain=plain,
            with_context=with_context,
            with_environment=with_environment,
            stops=stops,
            thing=Thing(),
            day=date(2026, 11, 23),
        )
    env_name = type(app.jinja_env).__name__
    assert out == (
        f"0-2-x|loop0!|{env_name}:0|<0>|a, b|True|plain 0|loop0 0|2026-11-23|called loop0 Thing;"
        f"1-2-x|loop1!|{env_name}:1|<1>|a, b|True|plain 1|loop1 1|2026-11-23|called loop1 Thing;"
        "9-0-|top?|top !"
    )


def test_templates_read_the_environment_globals_through_a_read_only_live_view(app):
    """A template without globals of its own reads the environment's through a read-only view:
    it sees globals added later, cannot change them, and imports macros as before; one with
    globals of its own gets Jinja's ChainMap."""
    from types import MappingProxyType

    from d2w.core.templating import Environment

    env = app.jinja_env
    assert isinstance(env, Environment)
    plain = env.from_string("{{ thing }}")
    assert isinstance(plain.globals, MappingProxyType)
    env.globals["thing"] = "seen"
    try:
        assert plain.render() == "seen"
        with pytest.raises(TypeError):
            plain.globals["thing"] = "changed"
        own = env.from_string("{{ thing }}-{{ mine }}", globals={"mine": "own"})
        assert own.render() == "seen-own" and "mine" not in env.globals
        own.globals["mine"] = "changed"  # a template's own globals are its own
        assert own.render() == "seen-changed" and "mine" not in env.globals
    finally:
        del env.globals["thing"]
    with app.test_request_context("/"):
        imported = env.from_string('{% from "macros/forms.html" import action_button %}{{ action_button is defined }}')
        assert imported.render() == "True"


def test_quick_options_follow_coerce_and_fall_back_for_odd_choices(app):
    """Plain options are selected as WTForms selects them (``coerce(value) == data``), with whole
    numbers, flags and empty labels; grouped options, options with attributes and fields with
    their own ``iter_choices`` are WTForms'."""
    from wtforms import Form, SelectChoice, SelectField
    from wtforms.widgets import Select

    from d2w.core.forms import _plain_options, render_field

    class Odd(SelectField):
        def iter_choices(self):
            return super().iter_choices()

    class F(Form):
        n = SelectField("N", coerce=int, widget=Select())
        flag = SelectField("Flag", coerce=lambda v: v in (True, "True"), widget=Select())
        grouped = SelectField("G", widget=Select())
        odd = Odd("O", widget=Select())

    with app.test_request_context("/"):
        form = F()
        form.n.choices = [SelectChoice(1, "One"), SelectChoice(2, ""), SelectChoice(30, "Thirty & more")]
        form.flag.choices = [SelectChoice(True, "Yes"), SelectChoice(False, "No")]
        form.grouped.choices = [SelectChoice("a", "A", optgroup="G1"), SelectChoice("b", "B", optgroup="G2")]
        form.odd.choices = [SelectChoice("x", "X"), SelectChoice("y", "Y", render_kw={"disabled": True})]
        for data in (None, 1, 2, 30, "2"):
            form.n.data = data
            assert str(render_field(form.n)) == str(form.n()), data
        for data in (None, True, False):
            form.flag.data = data
            assert str(render_field(form.flag)) == str(form.flag()), data
        assert _plain_options(form.n) is not None
        assert _plain_options(form.grouped) is None and _plain_options(form.odd) is None
        form.odd.choices = [SelectChoice("x", "X")]
        assert _plain_options(form.odd) is None  # its own iter_choices
        assert str(render_field(form.grouped)) == str(form.grouped())


def test_named_rows_keep_every_field_and_value(app, people):
    from sqlalchemy import func, select

    from d2w.auth.models import User
    from d2w.core.db import named_rows, read
    from d2w.core.extensions import db

    with app.app_context():
        rows = read(
            select(User.id, User.name, User.email.label("mail"), func.lower(User.name), User.id.label("id")).order_by(
                User.id
            )
        ).all()
        named = named_rows(rows)
        assert [tuple(n) for n in named] == [tuple(r) for r in rows]
        assert named[0].name == rows[0].name and named[0].mail == rows[0].mail
        assert named_rows([]) == []
        assert type(named_rows(rows)[0]) is type(named[0])  # one type per set of fields
        db.session.rollback()


_OLD_LIST_MACROS = """{% macro sort_header(label, key, sort) %}
  {% set active = sort.key == key %}
  {% set next_dir = "desc" if active and not sort.descending else "asc" %}
  <th scope="col"{% if active %} aria-sort="{{ 'descending' if sort.descending else 'ascending' }}"{% endif %}>
    <a href="{{ url_with(sort=key, dir=next_dir, page=None) }}">{{ label }}{% if active %}<span aria-hidden="true"> {{ "▼" if sort.descending else "▲" }}</span>{% endif %}</a>
  </th>
{% endmacro %}

{% macro pagination(page, label="Pages") %}
  {% if page.pages > 1 %}
  <nav class="pagination" aria-label="{{ label }}">
    <ul>
      {% if page.has_prev %}<li><a href="{{ url_with(page=page.page - 1) }}" rel="prev">Previous<span class="visually-hidden"> page</span></a></li>{% endif %}
      {% for n in page.window %}
        {% if n is none %}
          <li class="gap" aria-hidden="true">…</li>
        {% elif n == page.page %}
          <li><a href="{{ url_with(page=n) }}" aria-current="page" class="current"><span class="visually-hidden">Page </span>{{ n }}</a></li>
        {% else %}
          <li><a href="{{ url_with(page=n) }}"><span class="visually-hidden">Page </span>{{ n }}</a></li>
        {% endif %}
      {% endfor %}
      {% if page.has_next %}<li><a href="{{ url_with(page=page.page + 1) }}" rel="next">Next<span class="visually-hidden"> page</span></a></li>{% endif %}
    </ul>
  </nav>
  {% endif %}
  <p class="count">{% if page.total %}Showing {{ page.first_index }}–{{ page.last_index }} of {{ page.total }}{% else %}Nothing to show{% endif %}</p>
{% endmacro %}"""


@pytest.mark.parametrize(
    "query",
    ["", "sort=name", "sort=name&dir=desc&page=4", "q=O%27Neil+%26+%3Cb%3E&sort=email&page=2", "page=120&dir=asc"],
)
def test_sort_headers_and_pagination_draw_what_the_old_macros_drew(app, query):
    """The lists macros are Python now: for awkward queries, every sort state and page position
    (first, middle, last, a single page, nothing), the markup is the old macros', whitespace aside."""
    from d2w.core.pagination import Page, Sort

    new = app.jinja_env.from_string(
        '{% from "macros/lists.html" import sort_header, pagination %}'
        "{% for label, key in headers %}{{ sort_header(label, key, sort) }}{% endfor %}{{ pagination(page, label) }}"
    )
    old = app.jinja_env.from_string(
        _OLD_LIST_MACROS
        + "{% for label, key in headers %}{{ sort_header(label, key, sort) }}{% endfor %}{{ pagination(page, label) }}"
    )
    headers = [("Name", "name"), ("E-mail & <more>", "email"), ("Won 2024", "winner")]
    with app.test_request_context(f"/users/?{query}"):
        for sort in (Sort("name", False), Sort("name", True), Sort("email", True), Sort("other", False)):
            for number, total in ((1, 0), (1, 10), (1, 5400), (3, 5400), (216, 5400), (7, 200), (4, 100)):
                page = Page(items=[], page=number, per_page=25, total=total)
                context = {"headers": headers, "sort": sort, "page": page, "label": 'People "pages"'}
                app.update_template_context(context)
                drawn = re.sub(r"\s+", " ", new.render(context)).strip()
                assert drawn == re.sub(r"\s+", " ", old.render(context)).strip(), (query, sort, number, total)


_OLD_FORM_ERRORS_MACRO = """{% macro form_errors(form) %}
  {% set field_errors = [] %}
  {% for field in form if field.errors and field.type not in ("CSRFTokenField", "HiddenField") %}{% set _ = field_errors.append(field) %}{% endfor %}
  {% if form.form_errors or field_errors %}
  <div class="error-summary" role="alert" tabindex="-1" aria-labelledby="error-summary-title">
    <h2 id="error-summary-title">There is a problem</h2>
    <ul>
      {% for message in form.form_errors %}<li>{{ message }}</li>{% endfor %}
      {% for field in field_errors %}
        {% for message in field.errors %}<li><a href="#{{ field.id }}">{{ message }}</a></li>{% endfor %}
      {% endfor %}
    </ul>
  </div>
  {% endif %}
{% endmacro %}"""


def test_the_form_errors_function_draws_what_the_old_macro_drew(app):
    """``form_errors`` (a global, and imported from the forms macros) is Python now. For every form
    built without arguments: no errors, form-wide errors alone, field errors alone (hidden fields'
    left out) and both, awkward text among them; its markup is the old macro's, whitespace aside."""
    old = app.jinja_env.from_string(_OLD_FORM_ERRORS_MACRO + "{{ form_errors(form) }}")
    imported = app.jinja_env.from_string('{% from "macros/forms.html" import form_errors %}{{ form_errors(form) }}')
    global_ = app.jinja_env.from_string("{{ form_errors(form) }}")

    def squeeze(html: str) -> str:  # whitespace between tags aside
        return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", html)).strip()

    drawn = 0
    with app.test_request_context("/"):
        for cls in _form_classes():
            try:
                form = cls(formdata=None, meta={"csrf": False})
            except TypeError:
                continue
            fields = list(form)
            for form_wide, with_field_errors in ((False, False), (True, False), (False, True), (True, True)):
                form.form_errors[:] = [TRICKY[1][1], "Save again."] if form_wide else []
                for n, f in enumerate(fields):
                    f.errors = [f"Wrong {n} <&>", TRICKY[3][1]] if with_field_errors and n % 2 == 0 else []
                expected = squeeze(old.render(form=form))
                assert squeeze(imported.render(form=form)) == expected == squeeze(global_.render(form=form)), cls
                assert ("There is a problem" in expected) == (
                    form_wide or any(f.errors and f.type not in ("CSRFTokenField", "HiddenField") for f in fields)
                )
                drawn += 1
    assert drawn > 60


_OLD_TAG_MACROS = """{% macro status_tag(status) -%}
{% if status == "selected" %}<span class="tag tag-green">{{ application_status_labels[status] }}</span>
{%- elif status in ("not_selected", "withdrawn") %}<span class="tag tag-grey">{{ application_status_labels[status] }}</span>
{%- else %}<span class="tag">{{ application_status_labels[status] }}</span>{% endif %}
{%- endmacro %}
{% macro band_tag(band, overridden=False) -%}
{% if band == "good" %}<span class="tag tag-green">Good fit</span>
{%- elif band == "caution" %}<span class="tag tag-amber">Caution</span>
{%- elif band == "poor" and overridden %}<span class="tag tag-red">Poor fit, overridden</span>
{%- elif band == "poor" %}<span class="tag tag-red">Poor fit</span>
{%- else %}<span class="tag tag-grey">No current check</span>{% endif %}
{%- endmacro %}"""


def test_the_application_tags_draw_what_the_old_macros_drew(app):
    """The applications macros' ``status_tag`` and ``band_tag`` are Python now (template globals,
    handed out by the macros as before): every status and band, overridden or not, exactly."""
    from d2w.applications.models import STATUS_VALUES

    old = app.jinja_env.from_string(_OLD_TAG_MACROS + "{{ status_tag(s) }}|{{ band_tag(b, o) }}")
    imported = app.jinja_env.from_string(
        '{% from "applications/_macros.html" import status_tag, band_tag %}{{ status_tag(s) }}|{{ band_tag(b, o) }}'
    )
    global_ = app.jinja_env.from_string("{{ application_status_tag(s) }}|{{ application_band_tag(b, o) }}")
    with app.test_request_context("/"):
        for s in STATUS_VALUES:
            for b in ("good", "caution", "poor", None):
                for o in (False, True):
                    expected = old.render(s=s, b=b, o=o).strip()  # the newline between the macros
                    assert imported.render(s=s, b=b, o=o) == expected == global_.render(s=s, b=b, o=o)


def test_statements_built_once_write_their_fixed_lists_out_once():
    """``column.in_(a fixed tuple)`` binds an "expanding" parameter that SQLAlchemy writes out into
    the statement again on every execution: d2w's fixed lists use ``one_of``/``none_of``, and
    the only such parameters left in statements built once are named lists of ids."""
    import importlib
    import pkgutil

    from sqlalchemy.dialects import postgresql
    from sqlalchemy.sql import CompoundSelect, Select

    import d2w

    seen = 0
    for found in pkgutil.walk_packages(d2w.__path__, "d2w."):
        module = importlib.import_module(found.name)
        for name, value in vars(module).items():
            if isinstance(value, Select | CompoundSelect):
                seen += 1
                compiled = value.compile(dialect=postgresql.psycopg.dialect())
                late = [(p.key, p.expanding) for p in compiled.post_compile_params]
                assert all(expanding and not key.startswith("%(") for key, expanding in late), (found.name, name, late)
    assert seen > 40


def test_one_of_and_none_of_select_as_in_and_not_in_do(app, people):
    from sqlalchemy import select

    from d2w.auth.models import User
    from d2w.core.db import none_of, one_of
    from d2w.core.extensions import db

    roles = ("staff", "mentor")
    with app.app_context():
        everyone = db.session.execute(select(User.id, User.role)).all()
        chosen = db.session.scalars(select(User.id).where(one_of(User.role, roles))).all()
        others = db.session.scalars(select(User.id).where(none_of(User.role, roles))).all()
    assert sorted(chosen) == sorted(i for i, role in everyone if role in roles) != []
    assert sorted(others) == sorted(i for i, role in everyone if role not in roles) != []
    compiled = str(select(User.id).where(one_of(User.role, roles)).compile())
    assert compiled.count(":param_") == 2  # a bound parameter each, written out once
