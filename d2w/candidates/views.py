"""Views of the candidates domain."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("candidates", __name__, url_prefix="/candidates")
