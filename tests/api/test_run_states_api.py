"""A preparation exists once its run is completed: the API refuses results (posted or committed from a file) for
the preparations of planned, in-progress and aborted runs, and lists only produced preparations unless ?state=
asks for others, each with its state in the lab's words."""

import pytest

from evlims.characterization.models import Measurement
from evlims.isolation.models import IsolationRun
from tests.api.evidence import protein
from tests.run_states import in_state

pytestmark = pytest.mark.django_db

NOT_COMPLETED = "which is not completed yet: complete the run before recording results."


@pytest.mark.parametrize(
    "status, message",
    [
        (IsolationRun.Status.PLANNED, NOT_COMPLETED),
        (IsolationRun.Status.IN_PROGRESS, NOT_COMPLETED),
        (IsolationRun.Status.ABORTED, "which is aborted: it produced no preparation."),
    ],
)
def test_results_posted_for_an_unproduced_preparation_are_refused(staff_api, evidence, status, message):
    run = in_state(evidence.preparation.run, status)
    before = Measurement.objects.count()
    response = staff_api.post("/api/v1/results/", {"results": [protein(evidence.preparation.barcode)]}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "results[0].preparation": [f"{evidence.preparation.barcode} belongs to run {run.code} {message}"]
    }
    assert Measurement.objects.count() == before


def test_a_file_committed_to_an_unproduced_preparation_is_refused(staff_api, evidence):
    run = in_state(evidence.preparation.run, IsolationRun.Status.ABORTED)
    before = Measurement.objects.count()
    path = f"/api/v1/ingestions/{evidence.file_ingestion.pk}/commit/"
    response = staff_api.post(
        path, {"mapping": {"d200": evidence.preparation.barcode}, "dilutions": {"d200": 1}}, format="json"
    )
    assert response.status_code == 400
    assert f"{evidence.preparation.barcode} belongs to run {run.code} which is aborted" in response.content.decode()
    assert Measurement.objects.count() == before


def test_the_list_shows_produced_preparations_unless_state_asks(staff_api, evidence, staff, project):
    from evlims.isolation import services as isolation

    planned = isolation.run_plan(
        actor=staff,
        project=project,
        protocol_version=evidence.preparation.run.protocol_version,
        inputs=[(evidence.preparation.input_aliquot, 10)],
    )
    waiting = planned.preparations.get()
    listed = {row["barcode"]: row for row in staff_api.get("/api/v1/preparations/").json()["results"]}
    assert evidence.preparation.barcode in listed and waiting.barcode not in listed
    assert listed[evidence.preparation.barcode]["state"] == "produced"
    assert listed[evidence.preparation.barcode]["state_label"] == "Produced"

    rows = staff_api.get("/api/v1/preparations/?state=not_produced").json()["results"]
    assert [(row["barcode"], row["state"], row["state_label"]) for row in rows] == [
        (waiting.barcode, "not_produced", "Not produced yet")
    ]
    every = {row["barcode"] for row in staff_api.get("/api/v1/preparations/?state=all").json()["results"]}
    assert {waiting.barcode, evidence.preparation.barcode} <= every

    in_state(planned, IsolationRun.Status.ABORTED, abort_reason="Column cracked")
    (row,) = staff_api.get("/api/v1/preparations/?state=aborted").json()["results"]
    assert (row["barcode"], row["state_label"]) == (waiting.barcode, "Aborted: Column cracked")
    detail = staff_api.get(f"/api/v1/preparations/{waiting.pk}/").json()
    assert detail["state"] == "aborted"


def test_an_unknown_state_is_a_400_naming_it(staff_api, evidence):
    response = staff_api.get("/api/v1/preparations/?state=finished")
    assert response.status_code == 400 and "state" in response.json()
