"""The dashboard's filters (a GET form: no CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField

from d2w.core.forms import choices
from d2w.core.regions import REGIONS


class DashboardFilterForm(FlaskForm):
    class Meta:
        csrf = False

    cohort = SelectField(
        "Cohort",
        choices=choices([("", "All cohorts")]),
        default="",
        invalid_choice_message="Choose a cohort from the list.",
    )
    region = SelectField(
        "Home region",
        choices=choices([("", "All regions"), *[(r, r) for r in REGIONS]]),
        default="",
        invalid_choice_message="Choose a region from the list.",
    )
    submit = SubmitField("Show")

    def set_cohorts(self, cohorts: list[tuple[int, str]]) -> None:
        self.cohort.choices = choices([("", "All cohorts"), *[(str(cid), name) for cid, name in cohorts]])
