"""Filters for the audit log."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional, ValidationError

from d2w.core.forms import choices


def _sane_year(field) -> None:
    if field.data and not 2000 <= field.data.year <= 2100:
        raise ValidationError("Enter a date between 2000 and 2100.")


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    action = SelectField("Action", choices=choices([("", "Any action")]), validate_choice=False)
    actor = StringField("Done by (name or e-mail)", validators=[Optional(), Length(max=100)])
    object_type = SelectField("Object", choices=choices([("", "Any object")]), validate_choice=False)
    object_id = StringField("Object id", validators=[Optional(), Length(max=64)])
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
    submit = SubmitField("Filter")

    def validate_date_from(self, field):
        _sane_year(field)

    def validate_date_to(self, field):
        _sane_year(field)
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date must be on or after the start date.")
