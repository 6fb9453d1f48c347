"""The one WeasyPrint wrapper: HTML from a report template, PDF out.

Documents are rendered against a private origin that never resolves (``.invalid``). The URL
fetcher answers only for the application's own bundled static files under that origin (the
print stylesheet and its fonts), read straight from the static folder; it refuses everything
else: ``file:``, ``data:``, any other host or scheme, and any path that leaves the folder. A
refused resource is simply left out (WeasyPrint logs it), so text a user typed can never make the
renderer read a local file or call another server, even if it got past autoescaping.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app
from werkzeug.security import safe_join

log = logging.getLogger(__name__)

# The base URL of every report document. Templates link "/static/...", which resolves here.
ORIGIN = "https://d2w-report.invalid"
BASE_URL = ORIGIN + "/"
STATIC_PREFIX = "/static/"
# What the fetcher may serve, by file extension.
ALLOWED_TYPES = {
    ".css": "text/css",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


class RefusedURL(ValueError):
    """The report asked for something outside the application's static files."""


def static_path(url: str, static_folder: str | Path) -> Path:
    """The file under the static folder that ``url`` names, or RefusedURL."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != ORIGIN or parts.query or parts.fragment:
        raise RefusedURL("only the application's own static files are loaded")
    path = unquote(parts.path)
    if not path.startswith(STATIC_PREFIX) or "\\" in path or "\x00" in path:
        raise RefusedURL("only the application's own static files are loaded")
    relative = path[len(STATIC_PREFIX) :]
    joined = safe_join(str(static_folder), relative)
    if joined is None:
        raise RefusedURL("the path leaves the static folder")
    resolved = Path(joined).resolve()
    root = Path(static_folder).resolve()
    if root not in resolved.parents or not resolved.is_file():
        raise RefusedURL("no such static file")
    if resolved.suffix.lower() not in ALLOWED_TYPES:
        raise RefusedURL("this kind of file is not loaded into reports")
    return resolved


def make_url_fetcher(static_folder: str | Path):
    """A WeasyPrint URL fetcher that serves only files of ``static_folder``."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse  # loading WeasyPrint takes a moment

    class StaticOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            try:
                path = static_path(url, static_folder)
            except RefusedURL:
                log.warning("report resource refused (%s)", urlsplit(url).scheme or "no scheme")
                raise
            content_type = ALLOWED_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})

    # No redirects and no protocol but https (ours): fetch() above never opens a connection
    # anyway, and these make sure nothing inherited could.
    return StaticOnlyFetcher(timeout=5, allowed_protocols=("https",), allow_redirects=False, fail_on_errors=False)


def html_to_pdf(html: str, static_folder: str | Path) -> bytes:
    """Render HTML to PDF bytes with the safe fetcher."""
    from weasyprint import HTML

    document = HTML(string=html, base_url=BASE_URL, url_fetcher=make_url_fetcher(static_folder))
    return document.write_pdf()


def render_pdf(template: str, **context) -> bytes:
    """Render a report template (autoescaped, like every .html template) to PDF bytes.

    Needs an application context, not a request: no context processors run, so the template sees
    only ``context``, plain data from ``d2w.reports.contexts``."""
    html = render_html(template, **context)
    return html_to_pdf(html, current_app.static_folder)


def render_html(template: str, **context) -> str:
    env = current_app.jinja_env
    escaped = env.autoescape(template) if callable(env.autoescape) else env.autoescape
    if not escaped:
        raise RuntimeError(f"report templates must be autoescaped: {template}")
    return env.get_template(template).render(**context)
