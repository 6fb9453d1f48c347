"""Forms for logging milestones, reviewing them, the type catalogue and cohort targets."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from d2w.core.forms import choices
from d2w.core.regions import REGIONS
from d2w.engagement.models import CATEGORIES, MAX_PEOPLE_REACHED, MAX_VOLUNTEERS, STATUSES


class MilestoneForm(FlaskForm):
    type_id = SelectField(
        "What did you do?", choices=[], validators=[DataRequired("Choose what kind of milestone this is.")]
    )
    occurred_on = DateField(
        "Date",
        description="When it happened (not a date to come).",
        validators=[DataRequired("Enter the date it happened, for example 14/03/2026.")],
    )
    place = StringField(
        "Place",
        description="For example the name of the centre, the street and the town.",
        validators=[DataRequired("Enter where it happened."), Length(max=255)],
    )
    region = SelectField(
        "Region (optional)",
        choices=choices([("", "Not given"), *((r, r) for r in REGIONS)]),
        default="",
        validators=[Optional()],
    )
    borough = StringField("Borough or council area (optional)", validators=[Optional(), Length(max=80)])
    seat_code = StringField(
        "Parliamentary seat code (optional)",
        description="The seat's ONS code, a letter and eight digits, for example E14000555.",
        validators=[Optional(), Length(max=20)],
    )
    community = StringField(
        "Community (optional)",
        description="For example the Bangladeshi community of Tower Hamlets, or students at the college.",
        validators=[Optional(), Length(max=120)],
    )
    description = TextAreaField(
        "What you did",
        description="Who took part, what happened and what came of it.",
        validators=[DataRequired("Describe what you did and who took part."), Length(max=4000)],
    )
    people_reached = IntegerField(
        "People reached",
        default=0,
        validators=[
            Optional(),
            NumberRange(0, MAX_PEOPLE_REACHED, f"Enter a number from 0 to {MAX_PEOPLE_REACHED:,}."),
        ],
    )
    volunteers_recruited = IntegerField(
        "Volunteers recruited",
        default=0,
        validators=[Optional(), NumberRange(0, MAX_VOLUNTEERS, f"Enter a number from 0 to {MAX_VOLUNTEERS:,}.")],
    )
    evidence_url = URLField(
        "Evidence link (optional)",
        description="An https:// link, for example to a news story, a post or photos.",
        validators=[Optional(), Length(max=500)],
    )
    evidence_file = FileField(
        "Evidence file (optional)",
        description="A PDF, JPEG or PNG file.",
    )
    version = HiddenField()
    submit = SubmitField("Save")


class ReviewForm(FlaskForm):
    comment = TextAreaField(
        "Comment",
        description="Needed when you return it: say what the candidate should change or add.",
        validators=[Optional(), Length(max=2000, message="Keep the comment under 2,000 characters.")],
    )
    version = HiddenField()


class TypeForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter a name for the milestone type."), Length(max=120)])
    description = TextAreaField("Description (optional)", validators=[Optional(), Length(max=1000)])
    category = SelectField(
        "Category",
        choices=[SelectChoice("", "Choose a category"), *choices(CATEGORIES)],
        default="",
        validators=[DataRequired("Choose a category.")],
    )
    evidence_required = BooleanField("Evidence is required (a link or a file)", default=True)
    active = BooleanField("Active: candidates can log milestones of this type", default=True)
    version = HiddenField()
    submit = SubmitField("Save")


class TargetsForm(FlaskForm):
    """CSRF only; the targets are number inputs named ``target-<type id>``, read by the view."""


class ReviewFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(
        "Status",
        choices=choices(
            [
                ("logged", "Awaiting verification"),
                *((value, label) for value, label in STATUSES if value != "logged"),
                ("all", "All"),
            ]
        ),
        default="logged",
    )
    type = SelectField("Type", choices=[], default="")
    submit = SubmitField("Filter")
