"""Candidate profiles, their pipeline stage, and self-declared sensitive data with consent."""
