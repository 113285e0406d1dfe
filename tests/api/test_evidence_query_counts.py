"""The new lists and details answer in a fixed number of queries, whatever they hold."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evlims.instruments import services as instrument_services
from evlims.isolation import services as isolation_services
from evlims.isolation.models import IsolationRun
from evlims.review.services import review_submit
from tests.api.evidence import LAB_PROTOCOL, marker, particle
from tests.api.test_evidence_access import LISTS
from tests.run_states import completed, in_state

pytestmark = pytest.mark.django_db


def grow(staff, qa, admin, lab, world, count, start):
    """``count`` more of everything: protocol versions, runs, preparations, results, instruments, reviews."""
    for n in range(start, start + count):
        text = LAB_PROTOCOL.replace("slug: lab-sec", f"slug: lab-sec-{n}")
        version = isolation_services.protocol_version_approve(
            actor=qa,
            version=isolation_services.protocol_version_save_draft(actor=staff, lab=lab, source_text=text),
        )
        run = isolation_services.run_plan(
            actor=staff,
            project=world.project,
            protocol_version=version,
            inputs=[(world.aliquots[0], 10), (world.aliquots[1], 10)],
        )
        run = completed(run)
        instrument = instrument_services.instrument_register(actor=admin, lab=lab, name=f"Grown {n}", kind="nta")
        instrument_services.api_key_issue(actor=admin, instrument=instrument, scopes=["read"])
        for prep in run.preparations.all():
            instrument_services.results_ingest(
                actor=None,
                instrument=instrument,
                lab=lab,
                documents=[particle(prep.barcode), marker(prep.barcode)],
            )
        review_submit(actor=staff, run=run, justification="Pilot run, reviewed as it is")


def measure(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content[:300]
    return len(queries), response.json()


@pytest.mark.parametrize("endpoint", LISTS, ids=str)
def test_list_query_count_is_flat(admin_api, staff, qa_manager, admin, lab, ours, evidence, endpoint):
    path = endpoint.path(evidence)
    grow(staff, qa_manager, admin, lab, ours, 1, 1)
    few, small = measure(admin_api, path)
    grow(staff, qa_manager, admin, lab, ours, 3, 2)
    many, large = measure(admin_api, path)
    assert large["count"] > small["count"]
    assert many == few


def test_run_detail_query_count_is_flat(admin_api, staff, evidence):
    path = f"/api/v1/runs/{evidence.run.pk}/"
    planned = in_state(evidence.run, IsolationRun.Status.PLANNED)
    few, _ = measure(admin_api, path)
    isolation_services.run_start(actor=staff, run=planned)
    from tests.api.evidence import STEP_1, STEP_2

    isolation_services.run_record_step(actor=staff, run=evidence.run, number=1, observed=STEP_1)
    isolation_services.run_record_step(actor=staff, run=evidence.run, number=2, observed=STEP_2)
    many, body = measure(admin_api, path)
    assert all(step["record"] for step in body["steps"]) and many == few


def test_measurement_detail_reads_bins_in_one_query(admin_api, evidence, write_key_api):
    small, _ = measure(admin_api, f"/api/v1/measurements/{evidence.measurement.pk}/")
    response = write_key_api.post(
        "/api/v1/results/", {"results": [particle(evidence.preparation.barcode, bins=400)]}, format="json"
    )
    big = response.json()["measurements"][0]
    large, body = measure(admin_api, f"/api/v1/measurements/{big}/")
    assert len(body["particle"]["histogram"]["bin_center_nm"]) == 400 and large == small


def test_ingestion_detail_query_count_is_flat(admin_api, evidence, write_key_api):
    small, _ = measure(admin_api, f"/api/v1/ingestions/{evidence.ingestion.pk}/")
    results = [marker(evidence.preparation.barcode, protein=p) for p in ("CD9", "CD63", "CD81", "TSG101", "ALB")]
    ingestion = write_key_api.post("/api/v1/results/", {"results": results}, format="json").json()["ingestion"]
    large, body = measure(admin_api, f"/api/v1/ingestions/{ingestion}/")
    assert len(body["measurements"]) == 5 and large == small
