"""PDF reports (portfolio, cohort, seat-fit) rendered as background jobs."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")
