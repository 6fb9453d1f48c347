"""Views of the programme domain."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("programme", __name__, url_prefix="/sessions")
