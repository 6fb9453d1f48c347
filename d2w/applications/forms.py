"""Forms for starting an application, moving it on, overriding a poor fit and the board's filters."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from d2w.applications import rules
from d2w.applications.models import STATUSES
from d2w.core.forms import choices
from d2w.core.regions import REGIONS

BOUNDARY_CHOICES = [("2024", "2024 boundaries (the next election)"), ("2010", "2010 boundaries (2010 to 2019)")]


class CandidateLookupForm(FlaskForm):
    """Staff: find the candidate an application is for (GET)."""

    class Meta:
        csrf = False

    who = StringField("Candidate's name or e-mail", validators=[Optional(), Length(max=100)])


class SeatLookupForm(FlaskForm):
    """Find a seat by its ONS code or name (GET)."""

    class Meta:
        csrf = False

    q = StringField(
        "Seat: ONS code or name",
        description="For example E14001131 or Bristol Central.",
        validators=[Optional(), Length(max=100)],
    )
    boundaries = SelectField("Boundaries", choices=choices(BOUNDARY_CHOICES), default="2024")


class NewApplicationForm(FlaskForm):
    on = DateField(
        "Date you started considering this seat",
        description="Today or earlier.",
        validators=[DataRequired("Enter the date, for example 14/03/2026.")],
    )
    notes = TextAreaField(
        "Notes (optional)",
        description="For example why this seat, who you have spoken to, the selection timetable.",
        validators=[Optional(), Length(max=4000, message="Keep the notes under 4,000 characters.")],
    )
    submit = SubmitField("Start the application")


class MoveForm(FlaskForm):
    to_status = SelectField("What happened", choices=[], validators=[DataRequired("Choose what happened next.")])
    on = DateField(
        "Date",
        description="When it happened: today or earlier, not before the previous step.",
        validators=[DataRequired("Enter the date, for example 14/03/2026.")],
    )
    note = TextAreaField(
        "Note (optional)",
        validators=[
            Optional(),
            Length(max=rules.MAX_NOTE, message=f"Keep the note under {rules.MAX_NOTE:,} characters."),
        ],
    )
    version = HiddenField()
    submit = SubmitField("Record this step")


class OverrideForm(FlaskForm):
    reason = TextAreaField(
        "Why this seat is still right for the candidate",
        description=f"At least {rules.MIN_OVERRIDE_REASON} characters. It is kept on the application and the "
        "override is recorded in the audit log.",
        validators=[
            DataRequired("Write the reason for the override."),
            Length(
                min=rules.MIN_OVERRIDE_REASON,
                max=rules.MAX_OVERRIDE_REASON,
                message=f"Write at least {rules.MIN_OVERRIDE_REASON} and at most {rules.MAX_OVERRIDE_REASON:,} characters.",
            ),
        ],
    )
    version = HiddenField()
    submit = SubmitField("Record the override")


class BoardFilterForm(FlaskForm):
    class Meta:
        csrf = False

    cohort = SelectField("Cohort", choices=choices([("", "Any cohort")]), default="", validate_choice=False)
    region = SelectField("Seat region", choices=choices([("", "Any region"), *[(r, r) for r in REGIONS]]), default="")
    status = SelectField("Status", choices=choices([("", "Every status (board)"), *STATUSES]), default="")
    submit = SubmitField("Filter")
