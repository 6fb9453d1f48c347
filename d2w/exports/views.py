"""CSV exports for staff (candidates, attendance, milestones, applications)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("exports", __name__, url_prefix="/exports")
