"""Forms for cohorts, enrolments and imports."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, EmailField, HiddenField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from d2w.cohorts.models import FOCUSES
from d2w.core.forms import choices
from d2w.core.regions import REGIONS


class CohortForm(FlaskForm):
    name = StringField(
        "Name",
        description="For example “London BME 2026–27”.",
        validators=[DataRequired("Enter a name."), Length(max=120)],
    )
    focus = SelectField(
        "Focus",
        choices=choices([("", "Choose the focus"), *FOCUSES]),
        default="",
        validators=[DataRequired("Choose the cohort's focus.")],
    )
    region = SelectField(
        "Region", choices=choices([("", "National (no single region)"), *[(r, r) for r in REGIONS]]), default=""
    )
    intake_start = DateField("Intake starts", validators=[InputRequired("Enter the date the intake starts.")])
    intake_end = DateField("Intake ends", validators=[InputRequired("Enter the date the intake ends.")])
    capacity = IntegerField(
        "Places",
        description="The most candidates the cohort can hold.",
        validators=[
            InputRequired("Enter the number of places."),
            NumberRange(1, 1000, "Enter a number from 1 to 1,000."),
        ],
    )
    version = HiddenField()
    submit = SubmitField("Save cohort")


class EnrolForm(FlaskForm):
    email = EmailField(
        "Candidate's e-mail address",
        description="They must already have a candidate account. To add new people, import a CSV.",
        validators=[DataRequired("Enter the candidate's e-mail address."), Length(max=254)],
    )
    submit = SubmitField("Enrol")


class ImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file.")])
    submit = SubmitField("Check the file")


class ConfirmImportForm(FlaskForm):
    data = HiddenField(validators=[DataRequired()])
    submit = SubmitField("Import")


class CohortFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(
        "Status", choices=choices([("", "Any status"), ("open", "Open"), ("closed", "Closed")]), default=""
    )
    q = StringField("Name", validators=[Optional(), Length(max=100)])
    submit = SubmitField("Filter")
