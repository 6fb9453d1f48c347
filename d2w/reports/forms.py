"""Forms for asking for PDF reports."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField


class PortfolioForm(FlaskForm):
    """Which self-declared answers go into the PDF: none unless ticked."""

    ethnic_group = BooleanField("Include my ethnic group")
    date_of_birth = BooleanField("Include my date of birth")
    eu_ref_vote = BooleanField(
        "Include my 2016 referendum vote",
        description=(
            "Also shows, for your seat-fit checks, the referendum factor, its warnings and the overall band "
            "and score, which can give the vote away."
        ),
    )
    submit = SubmitField("Make the PDF")

    FIELDS = ("ethnic_group", "date_of_birth", "eu_ref_vote")

    def ticked(self) -> frozenset[str]:
        return frozenset(name for name in self.FIELDS if getattr(self, name).data)

    def for_staff(self) -> None:
        """Staff ask on a candidate's behalf: the labels say "their", not "my"."""
        self.ethnic_group.label.text = "Include their ethnic group"
        self.date_of_birth.label.text = "Include their date of birth"
        self.eu_ref_vote.label.text = "Include their 2016 referendum vote"
        self.eu_ref_vote.description = (
            "Also shows, for their seat-fit checks, the referendum factor, its warnings and the overall band "
            "and score, which can give the vote away."
        )


class CohortReportForm(FlaskForm):
    submit = SubmitField("Make the PDF")
