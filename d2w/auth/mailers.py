"""E-mails about accounts: invitation and password-reset links. Names and links only."""

from __future__ import annotations

import logging

from flask import current_app, url_for

from d2w.auth.models import User
from d2w.core import mail

log = logging.getLogger(__name__)

TEMPLATES = {
    "invite": ("invitation.txt", "You are invited to Diversity To Win"),
    "reset": ("reset_password.txt", "Reset your Diversity To Win password"),
}


def send_password_link(user: User, raw_token: str, purpose: str) -> bool:
    """E-mail a set-password link; return False (and log, without the link) if it failed."""
    template, subject = TEMPLATES[purpose]
    link = current_app.config["BASE_URL"].rstrip("/") + url_for("auth.set_password", token=raw_token)
    hours = current_app.config["INVITE_TOKEN_HOURS"]
    minutes = current_app.config["RESET_TOKEN_MINUTES"]
    try:
        mail.send(user.email, subject, template, user=user, link=link, invite_days=hours // 24, reset_minutes=minutes)
    except mail.MailError:
        log.exception("could not send the %s e-mail to user %s", purpose, user.id)
        return False
    return True
