"""Domain errors raised by services; adapters (forms, API, commands) turn them into 4xx answers."""

from django.core.exceptions import PermissionDenied, ValidationError

__all__ = ["ConflictError", "PermissionDenied", "ValidationError", "NotFound"]


class ConflictError(Exception):
    """A save based on a stale version of a record: nothing was written."""

    def __init__(
        self,
        message="This record was changed by someone else since you opened it. "
        "Reload it, check their change, then apply yours again.",
        current_version=None,
    ):
        super().__init__(message)
        self.message = message
        self.current_version = current_version


class NotFound(Exception):
    """The object does not exist or belongs to a lab the user cannot see (the two are not distinguished)."""
