"""Forms for mentor profiles, matching and assigning, mentoring logs and staff notes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from d2w.core.forms import choices
from d2w.core.regions import REGIONS
from d2w.mentoring.models import MAX_CAPACITY, MODES, OWNERS
from d2w.programme.skills import SKILL_LABELS

SKILL_CHOICES = choices(SKILL_LABELS.items())
ACTION_ROWS = 3
PRIVATE_NOTE_HINT = (
    "Only you can read this note in Diversity To Win: not the candidate, not staff. It is still "
    "personal data: the candidate may obtain it through a subject access request, so write only "
    "what you would be comfortable for them to read."
)


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class MentorProfileForm(FlaskForm):
    region = SelectField("Region", choices=choices([("", "Not given"), *((r, r) for r in REGIONS)]), default="")
    skills = CheckboxesField(
        "Skill areas you can help with",
        description="The programme's skill areas. Used to suggest you for candidates who need them.",
        choices=SKILL_CHOICES,
        validate_choice=False,
    )
    languages = StringField(
        "Languages",
        description="Separate languages with commas, for example: English, Bengali, Polish.",
        validators=[Optional(), Length(max=500)],
    )
    capacity = IntegerField(
        "Mentees at most",
        description=f"How many candidates you can mentor at once (0 to {MAX_CAPACITY}).",
        validators=[
            InputRequired(f"Enter a number from 0 to {MAX_CAPACITY}."),
            NumberRange(0, MAX_CAPACITY, f"Enter a number from 0 to {MAX_CAPACITY}."),
        ],
    )
    availability = TextAreaField(
        "Availability note (optional)",
        description="For example: weekday evenings; not in August.",
        validators=[Optional(), Length(max=500, message="Keep the note under 500 characters.")],
    )
    submit = SubmitField("Save profile")


class FocusForm(FlaskForm):
    """The skill areas staff want the mentor to focus on (the match page's filter)."""

    class Meta:
        csrf = False

    focus = CheckboxesField("Focus on these skill areas (optional)", choices=SKILL_CHOICES, validate_choice=False)
    submit = SubmitField("Update suggestions")


class AssignForm(FlaskForm):
    mentor = SelectField("Mentor", choices=[], validators=[DataRequired("Choose a mentor.")])
    is_primary = BooleanField(
        "Primary mentor",
        default=True,
        description="A candidate has at most one primary mentor. Untick to add an additional mentor.",
    )
    submit = SubmitField("Assign")


class EndForm(FlaskForm):
    reason = StringField(
        "Reason for ending (optional)",
        validators=[Optional(), Length(max=255, message="Keep it under 255 characters.")],
    )
    submit = SubmitField("End this mentoring")


class ActionRowForm(Form):
    description = StringField(
        "Action", validators=[Optional(), Length(max=300, message="Keep it under 300 characters.")]
    )
    owner = SelectField("Owner", choices=choices([("", "Choose"), *OWNERS]), default="")
    due_on = DateField("Due", validators=[Optional()])


class LogForm(FlaskForm):
    met_on = DateField("Date you met", validators=[DataRequired("Enter the date you met, for example 14/03/2026.")])
    duration_minutes = IntegerField(
        "Length in minutes",
        validators=[
            InputRequired("Enter the length in minutes, from 5 to 600."),
            NumberRange(5, 600, "Enter the length in minutes, from 5 to 600."),
        ],
    )
    mode = RadioField(
        "How you met",
        choices=[SelectChoice(v, label) for v, label in MODES],
        validators=[InputRequired("Choose how you met.")],
    )
    summary = TextAreaField(
        "Summary shared with the candidate",
        description="The candidate sees this summary. Staff can read it too.",
        validators=[
            DataRequired("Write a summary to share with the candidate."),
            Length(max=4000, message="Keep the summary under 4,000 characters."),
        ],
    )
    private_note = TextAreaField(
        "Private note (optional)",
        description=PRIVATE_NOTE_HINT,
        validators=[Optional(), Length(max=4000, message="Keep the private note under 4,000 characters.")],
    )
    actions = FieldList(FormField(ActionRowForm), min_entries=ACTION_ROWS, max_entries=ACTION_ROWS)
    submit = SubmitField("Save the log")


class StaffNoteForm(FlaskForm):
    body = TextAreaField(
        "Staff note",
        description="Only staff can read staff notes: not the mentor, not the candidate.",
        validators=[DataRequired("Write the note."), Length(max=4000, message="Keep the note under 4,000 characters.")],
    )
    submit = SubmitField("Add staff note")
