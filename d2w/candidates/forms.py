"""Forms for candidate profiles, stages and sensitive answers."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from d2w.candidates.choices import APPROVED_LIST, ETHNIC_GROUPS, EU_VOTES, PREFER_NOT_TO_SAY, STAGES
from d2w.core.forms import choices
from d2w.core.regions import REGIONS

REGION_CHOICES = [("", "Not given"), *[(r, r) for r in REGIONS]]


class ProfileForm(FlaskForm):
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    postcode = StringField("Postcode", validators=[Optional(), Length(max=10)])
    home_region = SelectField("Home nation or region", choices=choices(REGION_CHOICES), default="")
    home_borough = StringField(
        "Home borough or council area",
        description="For example Tower Hamlets or Leeds.",
        validators=[Optional(), Length(max=80)],
    )
    languages = StringField(
        "Languages spoken",
        description="Separate them with commas, for example English, Bengali, Sylheti.",
        validators=[Length(max=600)],
    )
    community_links = TextAreaField(
        "Community links",
        description="Groups, places of worship, associations and communities you are part of or work with.",
        validators=[Optional(), Length(max=2000)],
    )
    is_councillor = BooleanField("I am a councillor")
    is_association_officer = BooleanField("I am an association officer")
    friends_of_groups = StringField(
        "“Friends Of” groups",
        description="Any Friends Of groups you belong to.",
        validators=[Optional(), Length(max=255)],
    )
    version = HiddenField(validators=[DataRequired()])
    submit = SubmitField("Save profile")


class StageForm(FlaskForm):
    stage = SelectField("New stage", choices=choices(STAGES), validators=[InputRequired("Choose a stage.")])
    reason = TextAreaField(
        "Why",
        description="Kept in the stage history, which the candidate can read on their profile.",
        validators=[DataRequired("Say why the stage is changing."), Length(max=500)],
    )
    submit = SubmitField("Change stage")


class ApprovedListForm(FlaskForm):
    status = SelectField("Approved-list status", choices=choices(APPROVED_LIST))
    decided_on = DateField("Date of the decision or application", validators=[Optional()])
    submit = SubmitField("Save")


def _ethnic_choices() -> list[SelectChoice]:
    out = [SelectChoice("", "Choose one")]
    for group, items in ETHNIC_GROUPS:
        out.extend(SelectChoice(code, label, optgroup=group) for code, label in items)
    out.append(SelectChoice(PREFER_NOT_TO_SAY, "Prefer not to say"))
    return out


CONSENT_LABEL = "I agree to the consent statement above for this answer"


class EthnicGroupForm(FlaskForm):
    value = SelectField(
        "Ethnic group",
        choices=_ethnic_choices(),
        validators=[DataRequired("Choose an ethnic group, or “Prefer not to say”.")],
    )
    consent = BooleanField(CONSENT_LABEL)
    submit = SubmitField("Save ethnic group")


class DateOfBirthForm(FlaskForm):
    value = DateField(
        "Date of birth", description="Used only to count young candidates in the programme.", validators=[Optional()]
    )
    prefer_not = BooleanField("Prefer not to say")
    consent = BooleanField(CONSENT_LABEL)
    submit = SubmitField("Save date of birth")


class EuVoteForm(FlaskForm):
    value = RadioField(
        "How did you vote in the 2016 EU referendum?",
        choices=choices(EU_VOTES),
        description="Used only to check how well a seat fits you, and shown to nobody else but the candidates department.",
        validators=[InputRequired("Choose how you voted, or “Prefer not to say”.")],
    )
    consent = BooleanField(CONSENT_LABEL)
    submit = SubmitField("Save referendum vote")


class WithdrawForm(FlaskForm):
    field = HiddenField(validators=[DataRequired()])
    submit = SubmitField("Withdraw consent and delete")


class CandidateFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Name or e-mail", validators=[Optional(), Length(max=100)])
    cohort = SelectField("Cohort", choices=choices([("", "Any cohort")]), default="", validate_choice=False)
    stage = SelectField("Stage", choices=choices([("", "Any stage"), *STAGES]), default="")
    region = SelectField("Region", choices=choices([("", "Any region"), *[(r, r) for r in REGIONS]]), default="")
    at_risk = BooleanField("Only candidates at risk")
    submit = SubmitField("Filter")
