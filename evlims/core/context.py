"""The request id of the work in progress, so audit events written deep in a service can name it."""

import contextvars
import uuid

_request_id = contextvars.ContextVar("evlims_request_id", default="")


def current_request_id() -> str:
    return _request_id.get() or ""


def set_request_id(value: str | None):
    return _request_id.set(value or uuid.uuid4().hex)


def reset_request_id(token):
    _request_id.reset(token)
