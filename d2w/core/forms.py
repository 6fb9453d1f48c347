"""Form helpers: a service's refusal put where the person will see it, choices, and a quicker
way to draw select boxes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import SelectChoice
from wtforms.widgets import Select

from d2w.core.errors import DomainError


def show_error(form: FlaskForm, exc: DomainError) -> None:
    """Attach a domain error to its field, or to the form as a whole."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


def choices(pairs) -> list[SelectChoice]:
    """SelectField choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class QuickSelect(Select):
    """WTForms' select box, drawing each plain option without ``html_params``. The markup is the
    same, character for character (tests/test_request_costs.py compares every select field
    of every form); a filter bar's cohort list is drawn on every list page, and WTForms took
    a few milliseconds per page over it."""

    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw:
            return super().render_option(choice, **kwargs)
        value = choice.value
        if isinstance(value, bool):
            value = str(value)
        label = escape(choice.label or choice.value)
        selected = "selected " if choice.selected else ""
        # every interpolated part is escaped (escape() gives Markup; selected is a constant)
        return Markup(f'<option {selected}value="{escape(value)}">{label}</option>')  # noqa: S704


_QUICK_SELECT = QuickSelect()


def render_field(field, **attrs) -> Markup:
    """Draw a field as ``field(**attrs)`` does; a plain single select box the quicker way."""
    if type(field.widget) is Select and not field.widget.multiple:
        return _QUICK_SELECT(field, **attrs)
    return field(**attrs)
