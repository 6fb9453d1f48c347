"""Domain exceptions raised by services and turned into messages or status codes by views."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the request. ``field`` names the form field at fault, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The object does not exist, or the acting user may not know that it does."""

    def __init__(self, message: str = "Not found."):
        super().__init__(message)


class Conflict(DomainError):
    """Somebody else changed the record since it was read."""


class Forbidden(DomainError):
    """The acting user may not do this."""
