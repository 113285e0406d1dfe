"""Turns the domain errors raised by services and selectors into DRF answers.

Services speak Django (ValidationError with a field dict, PermissionDenied) and our own
ConflictError / NotFound; API clients get the same JSON shapes DRF uses for its own errors:
``{"field": ["message", ...]}`` for bad input and ``{"detail": "..."}`` for everything else.
"""

from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from ..core.errors import ConflictError, NotFound


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable. Nothing was written; retry with the same Idempotency-Key."
    default_code = "database_unavailable"


RETRY_AFTER_S = "5"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This record was changed by someone else since you read it."
    default_code = "conflict"

    def __init__(self, detail=None, *, current_version=None):
        super().__init__(detail)
        self.current_version = current_version


def validation_detail(error: DjangoValidationError) -> dict:
    """{field: [messages]} with Django's ``__all__`` renamed to DRF's non-field key."""
    if not hasattr(error, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: error.messages}
    return {
        api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field: messages
        for field, messages in error.message_dict.items()
    }


@contextmanager
def errors_named_as_payload(**service_to_payload):
    """Report a service's field errors under the payload's names where the two differ."""
    try:
        yield
    except DjangoValidationError as error:
        detail = validation_detail(error)
        raise exceptions.ValidationError({service_to_payload.get(k, k): v for k, v in detail.items()})


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=validation_detail(exc))
    elif isinstance(exc, NotFound | Http404):
        # Another lab's object and a missing one answer alike (without even the model name).
        exc = exceptions.NotFound()
    elif isinstance(exc, ConflictError):
        exc = Conflict(exc.message, current_version=exc.current_version)
    elif isinstance(exc, OperationalError | InterfaceError):
        # The connection is gone (server restarting): the transaction rolled back, a retry is safe.
        exc = DatabaseUnavailable()
    elif isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, list):
        # Messages about no field in particular: an object like every other 400 (the documented shape).
        exc = exceptions.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: exc.detail})
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, DatabaseUnavailable):
        response["Retry-After"] = RETRY_AFTER_S
    if response is not None and isinstance(exc, Conflict):
        response.data["current_version"] = exc.current_version
    return response


@csrf_exempt  # it reads and writes nothing; a write with a bad CSRF token still gets this 404, not an HTML 403
def no_such_endpoint(request, *args, **kwargs):
    """Any other URL under the API (``/api/v1/samples/abc/``, an id that is not a number): the API's own 404,
    in JSON like every API answer, rather than the site's HTML page."""
    return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=status.HTTP_404_NOT_FOUND)
