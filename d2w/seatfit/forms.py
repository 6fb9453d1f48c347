"""Forms for running a seat-fit check."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from d2w.core.forms import choices

STANCE_CHOICES = (
    ("", "Use the vote recorded on the profile"),
    ("leave", "Leave"),
    ("remain", "Remain"),
    ("did_not_vote", "Did not vote"),
    ("prefer_not_to_say", "Prefer not to say"),
)
BOUNDARY_CHOICES = (("2024", "2024 boundaries (current)"), ("2010", "2010 boundaries (2010–2019 elections)"))


class CheckForm(FlaskForm):
    seat = StringField(
        "Seat",
        description="The seat's name, for example Lewisham North, or its ONS code, for example E14001332.",
        validators=[DataRequired("Enter the seat's name or ONS code."), Length(max=100)],
    )
    boundary_set = SelectField("Boundaries", choices=choices(BOUNDARY_CHOICES), default="2024")
    stance = SelectField(
        "2016 EU referendum vote to check against",
        choices=choices(STANCE_CHOICES),
        default="",
        description="Saved with the check, which only you and the candidates department can see.",
    )
    submit = SubmitField("Run the check")
