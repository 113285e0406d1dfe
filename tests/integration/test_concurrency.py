"""Races on real PostgreSQL: threads with connections of their own start together at a barrier.

Each case is a pair of writers doing the same thing at the same moment; the database (row locks, unique
constraints, conditional UPDATEs) must let exactly one of them through, and the loser must get the error a
client can act on, never a duplicate row or a 500.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connections
from rest_framework.test import APIClient

from evlims.characterization.models import Measurement
from evlims.core.errors import ConflictError
from evlims.instruments.models import Ingestion, RawFile
from evlims.metrics import services as metric_services
from evlims.metrics.models import MetricJob, PreparationMetrics
from evlims.samples import services as sample_services
from evlims.samples.models import Aliquot, Sample
from tests.api.evidence import NTA_FILE
from tests.factories import storage_box
from tests.integration.faults import build_instrument_world, particle_result, protein_result

pytestmark = pytest.mark.django_db(transaction=True)

BARRIER_TIMEOUT_S = 30
RACE_TIMEOUT_S = 120


def race(*calls):
    """Run the calls in parallel threads released together; return [("ok", value) | ("error", exception)]."""
    start_together = threading.Barrier(len(calls), timeout=BARRIER_TIMEOUT_S)

    def run(call):
        try:
            start_together.wait()
            return "ok", call()
        except Exception as error:  # noqa: BLE001 - the outcome is what the test inspects
            return "error", error
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=RACE_TIMEOUT_S) for future in futures]


def key_client(raw_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


@pytest.fixture
def world(db):
    return build_instrument_world(preparations=3, slug="race-lab")


def test_two_editors_with_the_same_version_one_wins_the_other_gets_a_conflict(staff, project):
    sample = sample_services.sample_register(actor=staff, project=project, biofluid="serum", volume_ml=3)
    version = sample.version

    def edit(volume):
        fresh = Sample.objects.get(pk=sample.pk)
        return sample_services.sample_update(
            sample=fresh,
            actor=staff,
            reason="recounted",
            expected_version=version,
            changes={"volume_ml": Decimal(volume)},
        )

    outcomes = race(lambda: edit("2.5"), lambda: edit("3.5"))

    winners = [value for kind, value in outcomes if kind == "ok"]
    losers = [value for kind, value in outcomes if kind == "error"]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert isinstance(losers[0], ConflictError), repr(losers[0])
    assert losers[0].current_version == version + 1
    stored = Sample.objects.get(pk=sample.pk)
    assert stored.version == version + 1
    assert stored.volume_ml == winners[0].volume_ml, "the stored value is the winner's, not a mix"
    assert sample.history.count() == 2, "one creation, one edit: the loser wrote no history"


def test_same_idempotency_key_posted_twice_at_once_stores_one_set_of_rows(world):
    barcode = world.preparations[0].barcode
    body = {"results": [protein_result(barcode, 40.5), particle_result(barcode, 3.1e10)]}

    def post():
        response = key_client(world.raw_key).post(
            "/api/v1/results/", body, format="json", HTTP_IDEMPOTENCY_KEY="race-1"
        )
        return response.status_code, response.json(), response.headers.get("Idempotent-Replayed")

    outcomes = race(post, post)

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    (status_a, body_a, replayed_a), (status_b, body_b, replayed_b) = (value for _, value in outcomes)
    assert status_a == status_b == 201, outcomes
    assert body_a == body_b, "the retry gets the first answer"
    assert sorted([replayed_a or "", replayed_b or ""]) == ["", "true"], "exactly one of the two is a replay"
    assert Ingestion.objects.filter(idempotency_key="race-1").count() == 1
    assert Measurement.objects.filter(preparation__lab=world.lab).count() == 2
    assert sorted(body_a["measurements"]) == sorted(Measurement.objects.values_list("pk", flat=True))


def test_same_external_run_posted_twice_at_once_stores_one_set_of_rows(world):
    barcode = world.preparations[1].barcode

    def post(key):
        body = {"results": [protein_result(barcode, 12.0)], "external_run_id": "PLATE-77"}
        response = key_client(world.raw_key).post("/api/v1/results/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        return response.status_code, response.json()

    outcomes = race(lambda: post("first-key"), lambda: post("second-key"))

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    answers = [value for _, value in outcomes]
    assert [status for status, _ in answers] == [201, 201], answers
    assert answers[0][1]["ingestion"] == answers[1][1]["ingestion"]
    assert Ingestion.objects.filter(external_run_id="PLATE-77").count() == 1
    assert Measurement.objects.filter(preparation__lab=world.lab).count() == 1


@pytest.mark.skipif(not NTA_FILE.exists(), reason=f"the shared instrument samples are missing ({NTA_FILE})")
def test_same_file_posted_twice_at_once_is_kept_once(world):
    data = NTA_FILE.read_bytes()

    def post():
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile(NTA_FILE.name, data, content_type="text/csv")
        client = key_client(world.raw_key)
        client.raise_request_exception = False  # a server error is an answer the client sees: a 500
        response = client.post(
            "/api/v1/files/", {"file": upload, "format": "nanosight"}, HTTP_IDEMPOTENCY_KEY="file-race"
        )
        body = response.json() if response.headers.get("Content-Type", "").startswith("application/json") else None
        return response.status_code, body

    outcomes = race(post, post)

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    answers = [value for _, value in outcomes]
    assert 500 not in [status for status, _ in answers], (
        "a concurrent retry of a file post with the same Idempotency-Key answered 500: the losing insert's "
        "IntegrityError (unique client + idempotency_key) is not turned into the first answer"
    )
    assert [status for status, _ in answers] == [201, 201], answers
    assert answers[0][1]["id"] == answers[1][1]["id"]
    assert RawFile.objects.filter(lab=world.lab).count() == 1
    assert Ingestion.objects.filter(lab=world.lab, idempotency_key="file-race").count() == 1


def test_one_position_booked_by_two_moves_at_once_holds_one_tube(staff, project, lab):
    source = storage_box(lab, name="Source")
    target = storage_box(lab, name="Target", rows=2, columns=2)
    sample = sample_services.sample_register(
        actor=staff, project=project, biofluid="blood_plasma", volume_ml=4, aliquot_volumes_ul=[300, 300], box=source
    )
    first, second = sample.aliquots.order_by("id")

    def move(aliquot):
        return sample_services.aliquot_move(actor=staff, aliquot=aliquot, box=target, row=1, column=2, reason="re-box")

    outcomes = race(lambda: move(first), lambda: move(second))

    winners = [value for kind, value in outcomes if kind == "ok"]
    losers = [value for kind, value in outcomes if kind == "error"]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert isinstance(losers[0], ValidationError), repr(losers[0])
    assert "position" in losers[0].message_dict
    in_cell = Aliquot.objects.filter(box=target, position_row=1, position_column=2)
    assert list(in_cell.values_list("pk", flat=True)) == [winners[0].pk]
    loser = ({first.pk, second.pk} - {winners[0].pk}).pop()
    assert Aliquot.objects.get(pk=loser).box_id == source.pk, "the loser's tube stays where it was"
    assert Aliquot.objects.get(pk=loser).custody_events.filter(kind="moved").count() == 0


def figures(preparation_ids):
    return {
        row["preparation_id"]: {k: v for k, v in row.items() if k not in {"id", "computed_at"}}
        for row in PreparationMetrics.objects.filter(preparation_id__in=preparation_ids).values()
    }


def test_two_workers_running_the_same_job_compute_it_once(world):
    from evlims.characterization.services import measurements_record, validate_results

    preparation_ids = [p.pk for p in world.preparations]
    results = []
    for number, preparation in enumerate(world.preparations, start=1):
        results += [
            protein_result(preparation.barcode, 20.0 * number),
            particle_result(preparation.barcode, 1.5e10 * number),
        ]
    measurements_record(actor=world.staff, lab=world.lab, results=validate_results(results))
    # The clean figures: one run, alone.
    metric_services.recompute(preparation_ids)
    clean = figures(preparation_ids)
    assert len(clean) == len(preparation_ids) and all(v["particles_per_ug"] for v in clean.values())
    PreparationMetrics.objects.all().delete()
    job = MetricJob.objects.create(
        lab=world.lab, kind=MetricJob.Kind.INCREMENTAL, preparation_ids=preparation_ids, total=len(preparation_ids)
    )

    outcomes = race(lambda: metric_services.job_run(job.pk), lambda: metric_services.job_run(job.pk))

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    job.refresh_from_db()
    assert job.status == MetricJob.Status.DONE
    assert job.processed == job.total == len(preparation_ids), "processed counts each preparation once"
    assert job.error == ""
    assert PreparationMetrics.objects.filter(preparation_id__in=preparation_ids).count() == len(preparation_ids)
    assert figures(preparation_ids) == clean
    # A third delivery after the job is done does nothing.
    attempts = job.attempts
    metric_services.job_run(job.pk)
    job.refresh_from_db()
    assert job.attempts == attempts and job.status == MetricJob.Status.DONE
