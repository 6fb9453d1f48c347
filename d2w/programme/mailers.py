"""E-mails to a cohort when a session changes or is cancelled: title, time and place only.

Called by views after the commit, never before, so a failed e-mail never loses the change.
One message per candidate (nobody sees who else is in the cohort).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from d2w.core import mail
from d2w.programme import services
from d2w.programme.models import ProgrammeSession

log = logging.getLogger(__name__)


@dataclass
class Sent:
    sent: int = 0
    failed: int = 0


def _deliver(s: ProgrammeSession, subject: str, template: str, **context) -> Sent:
    result = Sent()
    for user in services.recipients(s):
        try:
            mail.send(user.email, subject, template, user=user, session=s, **context)
        except (mail.MailError, OSError):
            log.exception("could not send the %s e-mail for session %s to user %s", template, s.id, user.id)
            result.failed += 1
        else:
            result.sent += 1
    return result


def notify_changed(change: services.SessionChange) -> Sent:
    s = change.session
    return _deliver(
        s,
        f"Changed: {s.title}",
        "session_changed.txt",
        previous=change.previous,
    )


def notify_cancelled(change: services.SessionChange) -> Sent:
    s = change.session
    return _deliver(s, f"Cancelled: {s.title}", "session_cancelled.txt")
