"""Seat-fit checks: run, read, rank every seat for a candidate, compare up to three."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("seatfit", __name__, url_prefix="/seat-fit")
