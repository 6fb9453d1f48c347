"""Small pieces of markup shared by the application pages, in Python: a page that uses only these
(and the forms' globals) imports no macros. Colours always come with words. Registered as the
template globals ``application_status_tag`` and ``application_band_tag``; the applications
macros hand them out as ``status_tag`` and ``band_tag``."""

from __future__ import annotations

from markupsafe import Markup, escape

from d2w.applications.models import STATUS_LABELS

_STATUS_CLASSES = {"selected": "tag tag-green", "not_selected": "tag tag-grey", "withdrawn": "tag tag-grey"}
_BANDS = {
    "good": ("tag tag-green", "Good fit"),
    "caution": ("tag tag-amber", "Caution"),
    "poor": ("tag tag-red", "Poor fit"),
}


def status_tag(status: str) -> Markup:
    """An application's status as a tag."""
    css = _STATUS_CLASSES.get(status, "tag")
    return Markup(f'<span class="{css}">{escape(STATUS_LABELS[status])}</span>')  # noqa: S704 - escaped


def band_tag(band: str | None, overridden: bool = False) -> Markup:
    """A fit check's band as a tag ("No current check" without one)."""
    if band == "poor" and overridden:
        css, label = "tag tag-red", "Poor fit, overridden"
    else:
        css, label = _BANDS.get(band, ("tag tag-grey", "No current check"))
    return Markup(f'<span class="{css}">{label}</span>')  # noqa: S704 - fixed words
