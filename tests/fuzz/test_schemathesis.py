"""Property-based fuzzing of the whole API against its own OpenAPI schema (schemathesis).

Every operation of ``/api/schema/`` is called with generated requests, as each kind of client: a lab staff
member, a QA manager and a lab admin (browser sessions, with their CSRF token) and an instrument key. Two
properties must hold for every answer: no server error (5xx), and the answer conforms to the schema
(status code documented with a body of the documented shape).

The run is deterministic (``derandomize``) and bounded (``EVLIMS_FUZZ_EXAMPLES`` examples per operation,
no shrinking), so the fast suite stays fast; ``bench/fuzz_api.py`` runs the same properties with many more
examples.
"""

import os

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from evlims.core.models import Role
from tests.api.conftest import build_world
from tests.api.evidence import build_evidence
from tests.factories import LabFactory, ProjectFactory, member

EXAMPLES = int(os.environ.get("EVLIMS_FUZZ_EXAMPLES", "5"))
CHECKS = [not_a_server_error, response_schema_conformance]
ROLES = ("lab_staff", "qa_manager", "lab_admin", "instrument")
# Operations with a defect the fuzzer found, expected to fail strictly so that a fix is noticed.
KNOWN_DEFECTS: dict[str, str] = {}

schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())


def session_headers(user) -> dict:
    """What a logged-in browser sends: the session cookie, and the CSRF cookie echoed in X-CSRFToken."""
    client = Client()
    client.force_login(user)
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    token = _get_new_csrf_string()
    return {
        "Cookie": f"{django_settings.SESSION_COOKIE_NAME}={session}; {django_settings.CSRF_COOKIE_NAME}={token}",
        "X-CSRFToken": token,
    }


@pytest.fixture
def clients(db):
    """One lab with its evidence (samples, aliquots, a run, preparations, results, a file, a review) and the
    request headers of each kind of client."""
    lab = LabFactory(name="Fuzz Lab", slug="fuzz-lab")
    staff = member(lab, Role.LAB_STAFF, username="fuzz-staff")
    qa = member(lab, Role.QA_MANAGER, username="fuzz-qa")
    admin = member(lab, Role.LAB_ADMIN, username="fuzz-admin")
    project = ProjectFactory(lab=lab, code="FUZZ", title="Fuzzing")
    world = build_world(staff, lab, project)
    evidence = build_evidence(staff, qa, admin, lab, world)
    cache.clear()  # throttle counts of instrument keys
    return {
        "lab_staff": session_headers(staff),
        "qa_manager": session_headers(qa),
        "lab_admin": session_headers(admin),
        "instrument": {"Authorization": f"Api-Key {evidence.both_key}"},
    }


OPERATIONS = {result.ok().label: result.ok() for result in schema.get_all_operations()}


def operation_params():
    for label in sorted(OPERATIONS):
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[label])] if label in KNOWN_DEFECTS else []
        yield pytest.param(label, id=label, marks=marks)


@pytest.mark.parametrize("label", list(operation_params()))
def test_no_server_error_and_answers_conform_to_the_schema(label, clients):
    @given(case=OPERATIONS[label].as_strategy())
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def every_client_gets_a_conforming_answer(case):
        for role in ROLES:
            response = case.call(headers=clients[role])
            case.validate_response(response, checks=CHECKS, headers=clients[role])

    every_client_gets_a_conforming_answer()
