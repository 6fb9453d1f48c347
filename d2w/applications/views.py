"""Applications to seats: a candidate's own, staff's board, moves, overrides."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("applications", __name__, url_prefix="/applications")
