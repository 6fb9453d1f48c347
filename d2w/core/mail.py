"""The one way d2w sends e-mail.

``MAIL_BACKEND=outbox`` (development and tests) writes each message as an .eml file to
``MAIL_OUTBOX_DIR``; ``MAIL_BACKEND=smtp`` (production) sends it with the MAIL_* settings.
Messages are plain text rendered from ``templates/mail/``. They never carry sensitive data:
only names, links and dates. Send after the request's commit, never before.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from flask import current_app, render_template

log = logging.getLogger(__name__)


class MailError(RuntimeError):
    pass


def outbox_dir() -> Path:
    configured = current_app.config.get("MAIL_OUTBOX_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "outbox"


def build(to: str, subject: str, template: str, **context) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="d2w.local")
    msg.set_content(render_template(f"mail/{template}", **context))
    return msg


def send(to: str, subject: str, template: str, **context) -> None:
    """Render and deliver one message; raises MailError if it could not be handed over."""
    msg = build(to, subject, template, **context)
    backend = current_app.config["MAIL_BACKEND"]
    if backend == "outbox":
        folder = outbox_dir()
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
        (folder / name).write_bytes(bytes(msg))
        log.info("e-mail %r written to the outbox as %s", template, name)
        return
    if backend == "smtp":
        _send_smtp(msg)
        log.info("e-mail %r sent by SMTP", template)
        return
    raise MailError(f"unknown MAIL_BACKEND {backend!r}")


def _send_smtp(msg: EmailMessage) -> None:
    cfg = current_app.config
    try:
        if cfg["MAIL_USE_SSL"]:
            server = smtplib.SMTP_SSL(
                cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"], context=ssl.create_default_context()
            )
        else:
            server = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"])
        with server:
            if cfg["MAIL_USE_TLS"] and not cfg["MAIL_USE_SSL"]:
                server.starttls(context=ssl.create_default_context())
            if cfg["MAIL_USERNAME"]:
                server.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
            server.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"could not send e-mail: {type(exc).__name__}") from exc


def read_outbox(folder: Path) -> list[EmailMessage]:
    """The messages in an outbox folder, oldest first (for tests and the demo)."""
    from email import policy
    from email.parser import BytesParser

    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]
