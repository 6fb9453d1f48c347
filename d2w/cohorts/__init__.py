"""Cohorts, enrolments and the CSV import of candidates."""
