"""Reminder e-mails to mentors: lapsed contact and overdue action items.

Names, dates and links only: never a summary, an action's wording, a private or staff note, or
anything self-declared. Called by ``flask d2w mentoring remind`` after its commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app

from d2w.core import mail
from d2w.mentoring.services import Reminder

log = logging.getLogger(__name__)


@dataclass
class Sent:
    sent: int = 0
    failed: int = 0


def send_reminders(reminders: list[Reminder]) -> Sent:
    result = Sent()
    base = current_app.config["BASE_URL"].rstrip("/")
    for r in reminders:
        overdue_by_mentee: dict[str, int] = {}
        for _, assignment in r.overdue:
            name = assignment.profile.name
            overdue_by_mentee[name] = overdue_by_mentee.get(name, 0) + 1
        try:
            mail.send(
                r.mentor.user.email,
                "Mentoring reminder",
                "mentoring_reminder.txt",
                user=r.mentor.user,
                lapsed=[(row.assignment.profile.name, row.last_contact) for row in r.lapsed],
                overdue=sorted(overdue_by_mentee.items()),
                link=f"{base}/mentoring/",
            )
        except (mail.MailError, OSError):
            log.exception("could not send a mentoring reminder to mentor %s", r.mentor.id)
            result.failed += 1
        else:
            result.sent += 1
    return result
