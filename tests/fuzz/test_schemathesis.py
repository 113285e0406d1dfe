"""Property-based fuzzing of the whole API against its own OpenAPI schema (schemathesis).

Every operation of ``/api/schema/`` is called with generated requests, as each kind of client: a lab staff
member, a QA manager and a lab admin (browser sessions, with their CSRF token) and an instrument key. The
requests are valid ones (positive) and invalid ones (negative: a wrong type, a value out of bounds, an
unknown field, an id that is not a number). Every answer must hold all the checks of ``tests.api.openapi``,
for every operation, with nothing excluded: no server error (5xx), a documented status code with a
documented content type and headers, and a body of the documented shape.

The run is deterministic (``derandomize``) and bounded (``EVLIMS_FUZZ_EXAMPLES`` examples per operation and
mode, no shrinking), so the fast suite stays fast; ``bench/fuzz_api.py`` runs the same properties with many
more examples.
"""

import os

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from evlims.core.models import Role
from tests.api.conftest import build_world
from tests.api.evidence import build_evidence
from tests.api.openapi import CHECKS, key_credentials, load_schema, session_credentials
from tests.factories import LabFactory, ProjectFactory, member

EXAMPLES = int(os.environ.get("EVLIMS_FUZZ_EXAMPLES", "5"))
ROLES = ("lab_staff", "qa_manager", "lab_admin", "instrument")
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)

schema = load_schema()


@pytest.fixture
def clients(db):
    """One lab with its evidence (samples, aliquots, a run, preparations, results, a file, a review) and the
    credentials of each kind of client."""
    lab = LabFactory(name="Fuzz Lab", slug="fuzz-lab")
    staff = member(lab, Role.LAB_STAFF, username="fuzz-staff")
    qa = member(lab, Role.QA_MANAGER, username="fuzz-qa")
    admin = member(lab, Role.LAB_ADMIN, username="fuzz-admin")
    project = ProjectFactory(lab=lab, code="FUZZ", title="Fuzzing")
    world = build_world(staff, lab, project)
    evidence = build_evidence(staff, qa, admin, lab, world)
    cache.clear()  # throttle counts of instrument keys
    return {
        "lab_staff": session_credentials(staff),
        "qa_manager": session_credentials(qa),
        "lab_admin": session_credentials(admin),
        "instrument": key_credentials(evidence.both_key),
    }


OPERATIONS = {result.ok().label: result.ok() for result in schema.get_all_operations()}


@pytest.mark.parametrize("mode", MODES, ids=[mode.value for mode in MODES])
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_no_server_error_and_answers_conform_to_the_schema(label, mode, clients):
    @given(case=OPERATIONS[label].as_strategy(generation_mode=mode))
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
            response = case.call(**clients[role])
            case.validate_response(response, checks=CHECKS, headers=clients[role]["headers"])

    every_client_gets_a_conforming_answer()
