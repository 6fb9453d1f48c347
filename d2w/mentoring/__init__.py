"""Mentoring: mentor profiles, matching, assignments, logs with private notes, action items."""
