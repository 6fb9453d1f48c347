"""Seat browser, seat profiles and the analysis of how high-BME seats voted."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("seats", __name__, url_prefix="/seats")
