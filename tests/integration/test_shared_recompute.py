"""Two real Celery workers share one full metric recompute on Redis and PostgreSQL, without double work.

The full job fans out into chunk jobs; the worker that fans out works through them last to first while the
other takes them from the queue. Every chunk is claimed by exactly one of them (a conditional UPDATE), every
other delivery of a job finds it taken and returns, and the figures equal one single-process recompute.
"""

import math
import os
import re
from collections import Counter

import pytest
import redis
from django.db import transaction

from evlims.demo import scale
from evlims.isolation.models import EVPreparation
from evlims.metrics import services
from evlims.metrics.models import MetricJob, PreparationMetrics
from evlims.metrics.tasks import run_metric_job
from tests.integration.faults import sending_to, wait_until

pytestmark = [pytest.mark.needs_redis, pytest.mark.django_db(transaction=True)]

PREPARATIONS = 3000  # three chunk jobs of services.FULL_JOB_CHUNK
LAB = scale.ScaleSize.from_preparations(PREPARATIONS, measurements=2 * PREPARATIONS, histogram_bins=5, seed=5)
JOB_TIMEOUT_S = 90
COMPUTED = re.compile(r"metric job (\d+) computed (\d+) preparations")
SUCCEEDED = re.compile(r"Task evlims\.metrics\.tasks\.run_metric_job\[[0-9a-f-]+\] succeeded in [^:]+: (\{.*\})")


def figures(ids):
    return {
        row["preparation_id"]: {k: v for k, v in row.items() if k not in {"id", "computed_at"}}
        for row in PreparationMetrics.objects.filter(preparation_id__in=ids).values()
    }


def computed_by(worker) -> Counter:
    """{job id: how many times this worker logged computing it}."""
    return Counter(int(job) for job, _ in COMPUTED.findall(worker.log()))


def deliveries(worker) -> int:
    return len(SUCCEEDED.findall(worker.log()))


def test_two_workers_share_one_full_recompute_and_every_chunk_runs_once(worker_queue, queue_workers):
    (summary,) = scale.generate(LAB)
    lab_ids = list(EVPreparation.objects.filter(lab=summary.lab).order_by("pk").values_list("pk", flat=True))
    assert len(lab_ids) == PREPARATIONS
    first, second = queue_workers(2)
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])

    with sending_to(os.environ["REDIS_URL"], worker_queue), transaction.atomic():
        full = services.job_create(lab=summary.lab, full=True)
    wait_until(
        lambda: MetricJob.objects.filter(pk=full.pk, status__in=[MetricJob.Status.DONE, MetricJob.Status.FAILED]),
        timeout=JOB_TIMEOUT_S,
        message="the full recompute to finish",
    )
    chunk_count = math.ceil(PREPARATIONS / services.FULL_JOB_CHUNK)
    # One message for the full job and one per chunk, each delivered once and acknowledged.
    wait_until(
        lambda: deliveries(first) + deliveries(second) == 1 + chunk_count and broker.llen(worker_queue) == 0,
        timeout=JOB_TIMEOUT_S,
        message="every message to be handled",
    )

    full.refresh_from_db()
    assert (full.status, full.attempts, full.total, full.processed) == (MetricJob.Status.DONE, 1, 3000, 3000)
    chunks = list(full.chunks.order_by("pk"))
    assert len(chunks) == chunk_count and full.preparation_ids == []
    assert {(c.status, c.attempts, c.processed == c.total) for c in chunks} == {(MetricJob.Status.DONE, 1, True)}
    covered = [pk for chunk in chunks for pk in chunk.preparation_ids]
    assert sorted(covered) == lab_ids, "the chunks cover every preparation of the lab exactly once"

    by_first, by_second = computed_by(first), computed_by(second)
    assert by_first and by_second, f"both workers computed chunks: {dict(by_first)} / {dict(by_second)}"
    assert by_first + by_second == Counter({chunk.pk: 1 for chunk in chunks}), "each chunk computed exactly once"

    # A late duplicate of the full job's message finds it done and computes nothing.
    with sending_to(os.environ["REDIS_URL"], worker_queue):
        run_metric_job.delay(full.pk)
    wait_until(
        lambda: deliveries(first) + deliveries(second) == 2 + chunk_count,
        timeout=JOB_TIMEOUT_S,
        message="the duplicate delivery",
    )
    full.refresh_from_db()
    assert full.attempts == 1 and computed_by(first) + computed_by(second) == by_first + by_second

    shared = figures(lab_ids)
    PreparationMetrics.objects.filter(preparation_id__in=lab_ids).delete()
    services.recompute(lab_ids)
    assert shared == figures(lab_ids), "the shared recompute stored what one process computes"
    assert len(shared) == PREPARATIONS
    assert first.alive() and second.alive()
