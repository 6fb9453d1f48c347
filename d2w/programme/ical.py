"""A candidate's iCalendar feed, built with the icalendar library. No Flask import.

The feed is public (behind an unguessable token), so it holds only what a calendar needs:
each session's title, times (UTC), place or online link, a stable UID, a SEQUENCE that grows
with every change, and STATUS:CANCELLED for cancelled sessions. No names, cohorts, notes,
facilitators or attendance.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from icalendar import Calendar, Event

PRODID = "-//Diversity To Win//Skills sessions//EN"
CALENDAR_NAME = "Diversity To Win sessions"


def session_uid(session_id: int, domain: str) -> str:
    """Stable across edits and feed resets, so calendar apps update the event in place."""
    return f"programme-session-{session_id}@{domain}"


def build_calendar(sessions: Iterable, *, uid_domain: str, now: datetime) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", CALENDAR_NAME)
    for s in sessions:
        event = Event()
        event.add("uid", session_uid(s.id, uid_domain))
        event.add("dtstamp", now)
        event.add("dtstart", s.starts_at)
        event.add("dtend", s.ends_at)
        event.add("sequence", s.version)
        event.add("summary", f"Cancelled: {s.title}" if s.is_cancelled else s.title)
        location = s.place or (f"Online: {s.online_url}" if s.online_url else None)
        if location:
            event.add("location", location)
        if s.online_url:
            event.add("url", s.online_url)
        event.add("status", "CANCELLED" if s.is_cancelled else "CONFIRMED")
        cal.add_component(event)
    return cal.to_ical()
