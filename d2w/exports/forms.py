"""The exports page: a cohort filter (GET) and the candidates download with its option (POST)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, SubmitField

from d2w.core.forms import choices


def cohort_choices(cohorts: list[tuple[int, str]]):
    return choices([("", "All cohorts"), *[(str(cid), name) for cid, name in cohorts]])


class ExportFilterForm(FlaskForm):
    class Meta:
        csrf = False

    cohort = SelectField(
        "Cohort",
        choices=choices([("", "All cohorts")]),
        default="",
        description="Only candidates holding a place in this cohort (for attendance: this cohort's sessions).",
        invalid_choice_message="Choose a cohort from the list.",
    )
    submit = SubmitField("Apply")


class CandidatesExportForm(FlaskForm):
    """Posted, with a CSRF token, so that no link from elsewhere can start a download of
    self-declared answers."""

    cohort = HiddenField()
    self_declared = BooleanField(
        "Include self-declared answers (ethnic group, date of birth, 2016 referendum vote)",
        description="Special category data. The download is recorded in the audit log; keep the file "
        "somewhere only the candidates department can open, and delete it when you are done.",
    )
    submit = SubmitField("Download candidates (CSV)")
