"""Checking a CSV of candidates before anything is written. Plain functions: no Flask import.

The check is complete before the import: every row gets its errors, and only a file with no
errors at all may be imported, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from d2w.candidates.rules import LanguageError, clean_languages
from d2w.core.csvio import CsvError, read_csv
from d2w.core.regions import REGIONS, canonical_region

COLUMNS = ("name", "email", "phone", "home_region", "home_borough", "languages")
REQUIRED = ("name", "email")

TEMPLATE_ROWS = (
    ("Amina Yusuf", "amina.yusuf@example.org", "07700 900123", "London", "Tower Hamlets", "English; Somali; Arabic"),
    ("Kieran O'Neill", "kieran.oneill@example.org", "", "North West", "Manchester", "English"),
)


@dataclass
class Row:
    number: int  # the line in the file (the header is line 1)
    name: str
    email: str
    phone: str
    home_region: str | None
    home_borough: str
    languages: list[str]
    errors: list[str] = field(default_factory=list)


@dataclass
class Preview:
    rows: list[Row]
    file_errors: list[str]
    places_left: int

    @property
    def ok(self) -> bool:
        return not self.file_errors and all(not r.errors for r in self.rows) and bool(self.rows)

    @property
    def error_count(self) -> int:
        return len(self.file_errors) + sum(len(r.errors) for r in self.rows)


def _languages(raw: str) -> tuple[list[str], str | None]:
    """The profile's own language rule, so an imported list is one the candidate can save."""
    try:
        return clean_languages(raw), None
    except LanguageError as exc:
        return [], str(exc)


def check_file(data: bytes, *, existing_emails: set[str], places_left: int, max_rows: int) -> Preview:
    """Check every row of a candidates CSV; ``existing_emails`` are addresses already in use."""
    try:
        header, dicts = read_csv(data, max_rows=max_rows)
    except CsvError as exc:
        return Preview(rows=[], file_errors=[str(exc)], places_left=places_left)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return Preview(
            rows=[],
            file_errors=[
                f"The first line must name the columns; missing: {', '.join(missing)}. Download the template to see them."
            ],
            places_left=places_left,
        )
    file_errors = []
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        file_errors.append(f"Unknown column(s): {', '.join(unknown)}. The columns are: {', '.join(COLUMNS)}.")
    if not dicts:
        file_errors.append("The file has a header but no candidates.")
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for index, d in dicts:
        errors = []
        name = " ".join(d.get("name", "").split())
        if not name:
            errors.append("name is missing")
        elif len(name) > 120:
            errors.append("name is longer than 120 characters")
        raw_email = d.get("email", "")
        email = ""
        if not raw_email:
            errors.append("email is missing")
        else:
            try:
                email = validate_email(raw_email, check_deliverability=False).normalized.lower()
            except EmailNotValidError:
                errors.append(f"email “{raw_email[:60]}” is not a valid address")
        if email:
            if email in seen:
                errors.append(f"email {email} is also on line {seen[email]}")
            else:
                seen[email] = index
            if email in existing_emails:
                errors.append(f"email {email} already has an account")
        region_raw = d.get("home_region", "")
        region = canonical_region(region_raw) if region_raw else None
        if region_raw and region is None:
            errors.append(f"home_region “{region_raw[:40]}” is not one of: {', '.join(REGIONS)}")
        phone = d.get("phone", "")
        if len(phone) > 40:
            errors.append("phone is longer than 40 characters")
        borough = " ".join(d.get("home_borough", "").split())
        if len(borough) > 80:
            errors.append("home_borough is longer than 80 characters")
        languages, lang_error = _languages(d.get("languages", ""))
        if lang_error:
            errors.append(lang_error)
        rows.append(Row(index, name, email or raw_email, phone, region, borough, languages, errors))
    if len(rows) > places_left:
        over = rows[places_left:]
        for row in over:
            row.errors.append(
                f"over capacity: the cohort has {places_left} place{'s' if places_left != 1 else ''} left"
            )
    return Preview(rows=rows, file_errors=file_errors, places_left=places_left)
