"""Views of the cohorts domain."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cohorts", __name__, url_prefix="/cohorts")
