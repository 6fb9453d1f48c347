"""Seats: constituency data on the 2010 and 2024 boundaries, with the source of every figure."""
