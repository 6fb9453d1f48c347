"""Forms of the seat browser (its filters) and of the staff analysis. Both are GET forms without
CSRF: they only read. The browser's filters are checked by ``queries.parse_filters`` (shared with
the seat-fit ranking); this form only shows them with their messages."""

from __future__ import annotations

import math

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import NumberInput

from d2w.core.charts import PARTY_NAMES
from d2w.core.forms import choices
from d2w.core.regions import REGIONS
from d2w.seats.models import COUNTRIES, PARTIES
from d2w.seats.queries import ELECTION_LABELS, ELECTIONS_BY_SET

BOUNDARY_CHOICES = (("2024", "2024 boundaries (current)"), ("2010", "2010 boundaries (2010–2023)"))
PCT = NumberInput(step="any", min=0, max=100)


def _pct_field(label: str) -> StringField:
    return StringField(label, widget=PCT, validators=[Optional(), Length(max=20)])


class SeatFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Name or ONS code", validators=[Optional(), Length(max=100)])
    boundaries = SelectField("Boundaries", choices=choices(BOUNDARY_CHOICES), default="2024")
    country = SelectField("Nation", choices=choices([("", "Any nation"), *((c, c) for c in COUNTRIES)]), default="")
    region = SelectField("Region", choices=choices([("", "Any region"), *((r, r) for r in REGIONS)]), default="")
    winner = SelectField(
        "Won by (latest election)",
        choices=choices([("", "Any party"), *((p, PARTY_NAMES[p]) for p in PARTIES)]),
        default="",
    )
    leave_min = _pct_field("From")
    leave_max = _pct_field("To")
    bme_min = _pct_field("From")
    bme_max = _pct_field("To")
    majority_min = _pct_field("From")
    majority_max = _pct_field("To")
    submit = SubmitField("Filter")

    def show_problems(self, problems: dict[str, str]) -> None:
        """Put ``SeatFilters.problems`` at their fields."""
        for name, message in problems.items():
            f = getattr(self, name, None)
            if f is not None:
                f.errors = [*f.errors, message]


def _election_choices() -> list[SelectChoice]:
    return [
        SelectChoice(e, ELECTION_LABELS[e], optgroup=f"{bs} boundaries")
        for bs in ("2024", "2010")
        for e in reversed(ELECTIONS_BY_SET[bs])
    ]


class AnalysisForm(FlaskForm):
    class Meta:
        csrf = False

    boundaries = SelectField("Boundaries", choices=choices(BOUNDARY_CHOICES), default="2024")
    election = SelectField(
        "Election",
        description="One held on the chosen boundaries.",
        choices=_election_choices(),
        default="2024",
    )
    bme_threshold = StringField(
        "BME share at or above (%)",
        description="The share of residents not in any White group, from 0 to 100.",
        widget=NumberInput(step="any", min=0, max=100),
        default="30",
        validators=[InputRequired("Enter a BME share from 0 to 100."), Length(max=20)],
    )
    submit = SubmitField("Show")

    def validate_election(self, field) -> None:
        allowed = ELECTIONS_BY_SET.get(self.boundaries.data or "", ())
        if allowed and field.data not in allowed:
            names = " or ".join(ELECTION_LABELS[e] for e in allowed)
            raise ValidationError(
                f"The {ELECTION_LABELS.get(field.data, field.data)} election was not held on the "
                f"{self.boundaries.data} boundaries: choose {names}."
            )

    def validate_bme_threshold(self, field) -> None:
        try:
            value = float((field.data or "").strip().rstrip("%"))
        except ValueError:
            raise ValidationError("Enter the BME share as a number from 0 to 100.") from None
        if not math.isfinite(value) or not 0 <= value <= 100:
            raise ValidationError("Enter the BME share as a number from 0 to 100.")
        self.threshold = value + 0.0  # -0 becomes 0: never shown as "-0%"
