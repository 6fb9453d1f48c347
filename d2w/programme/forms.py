"""Forms for scheduling sessions, taking registers and filtering the session list."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from d2w.core.forms import choices
from d2w.programme.rules import MAX_WEEKS
from d2w.programme.skills import SKILL_GROUPS

# Skill areas grouped under their heading (assessment competencies, campaign skills).
SKILL_CHOICES = [SelectChoice(value, label, optgroup=group) for group, items in SKILL_GROUPS for value, label in items]


class SessionForm(FlaskForm):
    """The fields of one session (the schedule form adds the cohort and the number of weeks)."""

    title = StringField(
        "Title",
        description="What candidates will see in their schedule, calendar and e-mails.",
        validators=[DataRequired("Enter a title for the session."), Length(max=160)],
    )
    skill_area = SelectField(
        "Skill area",
        choices=[SelectChoice("", "Choose a skill area"), *SKILL_CHOICES],
        default="",
        validators=[DataRequired("Choose a skill area.")],
    )
    facilitator = StringField("Facilitator (optional)", validators=[Optional(), Length(max=120)])
    day = DateField(
        "Date",
        validators=[DataRequired("Enter the date of the session, for example 13/10/2026.")],
    )
    starts = TimeField("Starts", validators=[DataRequired("Enter the start time, for example 18:30.")], format="%H:%M")
    ends = TimeField("Ends", validators=[DataRequired("Enter the end time, for example 20:00.")], format="%H:%M")
    place = StringField(
        "Place",
        description="An address or room. Leave empty for an online-only session.",
        validators=[Optional(), Length(max=255)],
    )
    online_url = URLField(
        "Online link",
        description="An https:// link for joining online. Leave empty for an in-person session.",
        validators=[Optional(), Length(max=500)],
    )
    notes = TextAreaField(
        "Notes for staff (optional)",
        description="Not shown to candidates and not e-mailed.",
        validators=[Optional(), Length(max=2000)],
    )


class ScheduleForm(SessionForm):
    cohort = SelectField("Cohort", choices=[], validators=[DataRequired("Choose a cohort.")])
    weeks = IntegerField(
        "Number of weekly sessions",
        description=f"1 for a single session; up to {MAX_WEEKS} for a series on the same weekday and UK time.",
        default=1,
        validators=[
            InputRequired(f"Enter a number from 1 to {MAX_WEEKS}."),
            NumberRange(1, MAX_WEEKS, f"Enter a number from 1 to {MAX_WEEKS}."),
        ],
    )
    submit = SubmitField("Schedule")


class EditSessionForm(SessionForm):
    # A missing or mangled version is treated as stale: the view answers with a conflict.
    version = HiddenField()
    submit = SubmitField("Save changes")


class RegisterForm(FlaskForm):
    """CSRF and the register version the page was read at; the marks are radio groups named
    ``status-<profile id>``, read by the view."""

    register_version = HiddenField()


class SessionFilterForm(FlaskForm):
    class Meta:
        csrf = False

    cohort = SelectField("Cohort", choices=[], default="")
    when = SelectField(
        "When",
        choices=choices([("upcoming", "Upcoming"), ("past", "Past"), ("all", "All")]),
        default="upcoming",
    )
    skill = SelectField("Skill area", choices=[SelectChoice("", "Any skill area"), *SKILL_CHOICES], default="")
    submit = SubmitField("Filter")
