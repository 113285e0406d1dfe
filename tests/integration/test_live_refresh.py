"""Results posted through the API refresh compliance and metrics in a real worker on real Redis.

The API request commits the results; the post-commit hooks send one compliance refresh and one metric job
to Redis; a separate worker process, reading the same PostgreSQL database, runs them.
"""

import json
import os
import uuid

import pytest
from django.test import Client

from evlims.compliance.models import ComplianceEvaluation
from evlims.metrics.models import MetricJob, PreparationMetrics

from .faults import (
    build_instrument_world,
    database_url_of,
    particle_result,
    protein_result,
    sending_to,
    start_worker,
    wait_until,
)

pytestmark = [pytest.mark.needs_redis, pytest.mark.django_db(transaction=True)]

WAIT_S = 120


@pytest.fixture
def live(tmp_path):
    from django.db import connection

    world = build_instrument_world(preparations=2, slug=f"live-{uuid.uuid4().hex[:6]}")
    queue = f"evlims-live-{uuid.uuid4().hex[:10]}"
    broker = os.environ["REDIS_URL"]
    worker = start_worker(
        broker_url=broker,
        database_url=database_url_of(connection.settings_dict),
        queue=queue,
        log_path=tmp_path / "worker.log",
    )
    try:
        with sending_to(broker, queue):
            yield world, worker
    finally:
        worker.stop()


def post(world, documents):
    client = Client()
    response = client.post(
        "/api/v1/results/",
        data=json.dumps({"results": documents}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {world.raw_key}",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    assert response.status_code == 201, response.content
    return response


def test_marker_posted_through_the_api_changes_the_stored_evaluation(live):
    world, worker = live
    prep = world.preparations[0]
    post(world, [particle_result(prep.barcode, 3e11)])
    wait_until(
        lambda: ComplianceEvaluation.objects.filter(preparation=prep).exists(),
        timeout=WAIT_S,
        message="the first evaluation (worker log follows)\n" + worker.log(),
    )
    before = ComplianceEvaluation.objects.get(preparation=prep)
    assert before.failed_rules  # particles alone leave marker rules failing
    post(
        world,
        [
            {
                "kind": "marker",
                "method": "western_blot",
                "preparation": prep.barcode,
                "marker": {"protein": "CD63", "detected": True, "antibody": {"clone": "H5C6", "dilution": "1:1000"}},
            }
        ],
    )
    wait_until(
        lambda: ComplianceEvaluation.objects.get(preparation=prep).evidence_hash != before.evidence_hash,
        timeout=WAIT_S,
        message="the evaluation to change\n" + worker.log(),
    )
    after = ComplianceEvaluation.objects.get(preparation=prep)
    assert any(m["protein"] == "CD63" for m in after.document["characterization"]["markers"])
    assert after.failed_rules != before.failed_rules
    assert worker.alive()


def test_metrics_appear_after_posting_particles_and_protein(live):
    world, worker = live
    prep = world.preparations[1]
    post(world, [particle_result(prep.barcode, 4e11), protein_result(prep.barcode, 10.0)])
    wait_until(
        lambda: PreparationMetrics.objects.filter(preparation=prep, particles_per_ug__isnull=False).exists(),
        timeout=WAIT_S,
        message="the metrics (worker log follows)\n" + worker.log(),
    )
    metrics = PreparationMetrics.objects.get(preparation=prep)
    assert metrics.particles_per_ug == pytest.approx(4e10)
    # One post is one transaction: its two results were recomputed by one job. The job's figures are committed
    # before the job is marked done (metrics.services._run_chunk), so its status is waited for, not read at once.
    job = MetricJob.objects.latest("pk")
    assert job.preparation_ids == [prep.pk]
    wait_until(
        lambda: MetricJob.objects.get(pk=job.pk).status == MetricJob.Status.DONE,
        timeout=WAIT_S,
        message="the metric job to be marked done\n" + worker.log(),
    )
