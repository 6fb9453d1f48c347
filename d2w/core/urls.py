"""``url_for`` for templates, quicker for the links a list page draws once per row.

A list page of 25 rows draws 25 to 75 links such as ``url_for("candidates.detail",
profile_id=row.id)``. Flask's ``url_for`` finds the rule, runs the URL-default hooks and
builds and quotes the path each time (about 14 µs). Within one request's kind of address (the
same script root), the address of an endpoint whose arguments are all whole numbers is a
fixed text with the numbers put in: this module builds that pattern once per endpoint, set of
argument names and script root, with Flask's own ``url_for`` and stand-in numbers, and then
only formats it.

Everything else goes to Flask's ``url_for`` as before: arguments that are not plain ``int``
(text is quoted, which the pattern would not do), arguments that end up in the query string,
blueprint-relative endpoints (".detail"), ``_external`` and the other options, addresses built
outside a request (e-mails, PDFs), and any app with URL-default hooks. Static files (a fixed
set named in templates) are kept whole per file name.
"""

from __future__ import annotations

from flask import Flask, current_app, url_for
from flask.globals import _cv_request  # the request context itself: no proxy lookup per link
from werkzeug.routing import IntegerConverter, UnicodeConverter

# Stand-ins, one per argument, so that each can be found in the built path (within the ids'
# range, as the routes' converter allows only those).
_STAND_IN = 1_987_654_301
_NOT_FAST = ""  # a pattern that cannot be used: ask Flask every time
PATTERNS = "d2w_url_patterns"


def _plain_rule(endpoint: str) -> bool:
    """One rule, no defaults (which make Werkzeug choose a rule by the values), and converters
    that write a whole number as ``str(number)``."""
    rules = list(current_app.url_map.iter_rules(endpoint))
    if len(rules) != 1 or rules[0].defaults:
        return False
    converters = getattr(rules[0], "_converters", None)  # Werkzeug's own record of them
    if converters is None:
        return False
    for converter in converters.values():
        if type(converter) is UnicodeConverter:
            continue
        if type(converter).to_url is not IntegerConverter.to_url or converter.fixed_digits:
            return False
    return True


def _pattern(endpoint: str, names: tuple[str, ...]) -> str:
    if current_app.url_default_functions or not _plain_rule(endpoint):
        return _NOT_FAST
    stand_ins = [str(_STAND_IN + i) for i in range(len(names))]
    built = url_for(endpoint, **{name: _STAND_IN + i for i, name in enumerate(names)})
    if "?" in built or "#" in built or any(built.count(s) != 1 for s in stand_ins):
        return _NOT_FAST
    pattern = built.replace("{", "{{").replace("}", "}}")
    for i, stand_in in enumerate(stand_ins):
        pattern = pattern.replace(stand_in, "{%d}" % i)  # noqa: UP031 - a format field, built
    return pattern


def fast_url_for(endpoint: str, **values) -> str:
    """``url_for(endpoint, **values)``, the same text, from a pattern where it can."""
    ctx = _cv_request.get(None)
    if ctx is None:
        return url_for(endpoint, **values)
    patterns = ctx.app.extensions[PATTERNS]
    if endpoint == "static":
        filename = values.get("filename")
        if len(values) != 1 or type(filename) is not str:
            return url_for(endpoint, **values)
        key = (endpoint, ctx.request.script_root, filename)
        url = patterns.get(key)
        if url is None:
            url = patterns[key] = url_for(endpoint, **values)
        return url
    for value in values.values():
        if type(value) is not int:
            return url_for(endpoint, **values)
    key = (endpoint, ctx.request.script_root, *values)
    pattern = patterns.get(key)
    if pattern is None:
        pattern = patterns[key] = _NOT_FAST if endpoint[0] == "." else _pattern(endpoint, tuple(values))
    if not pattern:
        return url_for(endpoint, **values)
    return pattern.format(*values.values())


def init_urls(app: Flask) -> None:
    """Templates draw links with ``fast_url_for``; each app keeps its own patterns."""
    app.extensions[PATTERNS] = {}
    app.jinja_env.globals["url_for"] = fast_url_for
