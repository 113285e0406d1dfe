"""Calling the API through its own OpenAPI schema (schemathesis), and checking that each answer is documented:
its status code, content type, headers and body."""

import schemathesis
from django.conf import settings as django_settings
from django.core.handlers.wsgi import WSGIHandler
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# Every answer: no server error, a documented status code with a documented content type, documented headers
# of the documented type, and a body of the documented shape.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def load_schema():
    return schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())


def session_credentials(user) -> dict:
    """What a logged-in browser sends, as keyword arguments of ``case.call``: the session and CSRF cookies,
    and the CSRF token echoed in X-CSRFToken. (Cookies go as cookies: the WSGI test client replaces a
    ``Cookie`` header with its own cookie jar.)"""
    client = Client()
    client.force_login(user)
    token = _get_new_csrf_string()
    return {
        "headers": {"X-CSRFToken": token},
        "cookies": {
            django_settings.SESSION_COOKIE_NAME: client.cookies[django_settings.SESSION_COOKIE_NAME].value,
            django_settings.CSRF_COOKIE_NAME: token,
        },
    }


def key_credentials(raw_key: str) -> dict:
    return {"headers": {"Authorization": f"Api-Key {raw_key}"}}


ANONYMOUS: dict = {"headers": {}}
