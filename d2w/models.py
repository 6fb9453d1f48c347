"""Imports every domain's models, so that the metadata and migrations know every table."""

from d2w.audit.models import AuditEvent  # noqa: F401
from d2w.auth.models import AuthToken, LoginThrottle, User, UserSession  # noqa: F401
