"""Helpers for putting a service's refusal where the person will see it."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice

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
