"""Report jobs: a PDF rendered away from the request that asked for it.

The page that asks for a long report gets a job at once and polls it; the PDF is written under
instance/reports with a random name and served only to the person who asked (or staff).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from d2w.auth.models import User
from d2w.core.db import UTCDateTime, utcnow
from d2w.core.extensions import db

REPORT_KINDS = ("portfolio", "cohort", "seatfit")
JOB_STATUSES = ("queued", "running", "done", "failed")


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class ReportJob(db.Model):
    __tablename__ = "report_jobs"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(REPORT_KINDS)}", name="kind_known"),
        CheckConstraint(f"status IN {_in(JOB_STATUSES)}", name="status_known"),
        CheckConstraint("status <> 'done' OR stored_name IS NOT NULL", name="done_has_file"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    # The subject: a candidate profile id, a cohort id or a seat-fit check id, by kind.
    subject_id: Mapped[int] = mapped_column(Integer)
    # Report options, as "name=value; ..." (for example the sensitive fields ticked in).
    options: Mapped[str] = mapped_column(String(200), default="")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stored_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    download_name: Mapped[str | None] = mapped_column(String(120))
    error: Mapped[str | None] = mapped_column(Text)

    requested_by: Mapped[User] = relationship(lazy="joined", innerjoin=True)
