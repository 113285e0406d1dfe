"""Metric jobs: exclusive claims, the fan-out of a full recompute into chunk jobs linked to it by ``parent``,
progress, failure of one chunk, recovery by the sweeper, and retries after a transient error (SQLite; Celery
runs eagerly)."""

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from evlims.demo import scale
from evlims.isolation.models import EVPreparation
from evlims.metrics import services, tasks
from evlims.metrics.models import MetricJob, PreparationMetrics

pytestmark = pytest.mark.django_db

TINY = scale.ScaleSize(preparations=40, samples=30, measurements=330, runs=8, histogram_bins=5, seed=11)
CHUNK = 7  # 40 preparations: five chunks of 7 and one of 5
Status = MetricJob.Status


@pytest.fixture
def generated():
    (summary,) = scale.generate(TINY)
    return summary.lab


@pytest.fixture
def lab_ids(generated):
    return list(EVPreparation.objects.filter(lab=generated).order_by("pk").values_list("pk", flat=True))


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(services, "FULL_JOB_CHUNK", CHUNK)


@pytest.fixture
def computed(monkeypatch):
    """Records the preparation ids of every recompute (and the full jobs' progress when it started)."""
    calls = []
    original = services.recompute

    def recompute(ids):
        full = MetricJob.objects.filter(kind=MetricJob.Kind.FULL).values_list("processed", flat=True)
        calls.append((list(ids), list(full)))
        return original(ids)

    monkeypatch.setattr(services, "recompute", recompute)
    return calls


def figures(ids):
    return {
        row["preparation_id"]: {k: v for k, v in row.items() if k not in {"id", "computed_at"}}
        for row in PreparationMetrics.objects.filter(preparation_id__in=ids).values()
    }


def chunks_of(full: MetricJob) -> list[MetricJob]:
    full.refresh_from_db()
    return list(full.chunks.order_by("pk"))


def incremental(ids, **fields) -> MetricJob:
    return MetricJob.objects.create(kind=MetricJob.Kind.INCREMENTAL, preparation_ids=ids, total=len(ids), **fields)


# ---------------------------------------------------------------- claims


def test_a_delivery_arriving_while_the_job_runs_computes_nothing(lab_ids, monkeypatch):
    job = incremental(lab_ids[:5])
    seen = []
    original = services.recompute

    def recompute(ids):
        # A second delivery of the same job reaches another worker while the first one computes.
        duplicate = services.job_run(job.pk)
        seen.append((duplicate.status, duplicate.attempts))
        return original(ids)

    monkeypatch.setattr(services, "recompute", recompute)
    services.job_run(job.pk)

    assert seen == [(Status.RUNNING, 1)], "the duplicate found the job running and left it"
    job.refresh_from_db()
    assert (job.status, job.attempts, job.processed) == (Status.DONE, 1, 5)


def test_a_delivery_of_a_finished_job_computes_nothing(lab_ids, computed):
    job = incremental(lab_ids[:3])
    services.job_run(job.pk)
    services.job_run(job.pk)
    services.job_run(job.pk, redelivered=True)

    assert len(computed) == 1
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Status.DONE, 1)


def test_a_retry_holding_an_outdated_claim_computes_nothing(lab_ids, computed):
    # Attempt 1 was given up (the sweeper re-queued the job) and attempt 2 is running elsewhere now.
    job = incremental(lab_ids[:3], status=Status.RUNNING, attempts=2, started_at=timezone.now())

    services.job_run(job.pk, claim=1)

    assert computed == []
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Status.RUNNING, 2)


def test_a_redelivered_message_takes_over_the_job_its_dead_worker_left_running(lab_ids, computed):
    job = incremental(lab_ids[:3], status=Status.RUNNING, attempts=1, started_at=timezone.now())

    services.job_run(job.pk, redelivered=True)

    assert [ids for ids, _ in computed] == [lab_ids[:3]]
    job.refresh_from_db()
    assert (job.status, job.attempts, job.processed) == (Status.DONE, 2, 3)


# ---------------------------------------------------------------- fan-out and progress


def test_a_full_job_fans_out_into_chunks_covering_every_preparation_of_its_lab_once(
    generated, lab_ids, small_chunks, computed
):
    (other,) = scale.generate(TINY)  # a second lab, whose preparations the job must leave alone
    full = MetricJob.objects.create(lab=generated, kind=MetricJob.Kind.FULL)

    services.job_run(full.pk)

    chunks = chunks_of(full)
    assert [chunk.total for chunk in chunks] == [7, 7, 7, 7, 7, 5]
    assert [chunk.preparation_ids for chunk in chunks] == [lab_ids[i : i + CHUNK] for i in range(0, 40, CHUNK)]
    assert {(chunk.kind, chunk.lab_id, chunk.status, chunk.attempts) for chunk in chunks} == {
        (MetricJob.Kind.INCREMENTAL, generated.pk, Status.DONE, 1)
    }
    assert sorted(pk for ids, _ in computed for pk in ids) == lab_ids, "each preparation computed exactly once"
    assert (full.status, full.total, full.processed, full.attempts) == (Status.DONE, 40, 40, 1)
    assert set(PreparationMetrics.objects.values_list("preparation_id", flat=True)) == set(lab_ids)
    assert not PreparationMetrics.objects.filter(lab=other.lab).exists()


def test_a_full_jobs_chunks_are_reached_through_parent_and_its_preparation_ids_hold_no_job_id(
    generated, lab_ids, small_chunks
):
    full = MetricJob.objects.create(lab=generated, kind=MetricJob.Kind.FULL)

    services.job_run(full.pk)

    full.refresh_from_db()
    chunks = list(full.chunks.order_by("pk"))
    assert len(chunks) == 6 and {chunk.parent_id for chunk in chunks} == {full.pk}
    assert full.preparation_ids == [], "the full job lists no preparations and no chunk jobs"
    assert set(MetricJob.objects.exclude(pk=full.pk).values_list("pk", flat=True)) == {c.pk for c in chunks}
    assert full.parent is None and not any(chunk.chunks.exists() for chunk in chunks), "one level deep"


def test_a_full_job_takes_no_preparation_ids(generated, lab_ids):
    with pytest.raises(ValueError, match="takes no preparation ids"):
        services.job_create(lab=generated, full=True, preparation_ids=lab_ids[:2])
    assert not MetricJob.objects.exists()


def test_deleting_a_full_job_deletes_its_chunks_and_nothing_else(generated, lab_ids, small_chunks):
    full = MetricJob.objects.create(lab=generated, kind=MetricJob.Kind.FULL)
    services.job_run(full.pk)
    other = incremental(lab_ids[:2])

    full.delete()

    assert list(MetricJob.objects.values_list("pk", flat=True)) == [other.pk]


def test_the_full_jobs_progress_grows_with_each_finished_chunk(generated, small_chunks, computed):
    full = MetricJob.objects.create(lab=generated, kind=MetricJob.Kind.FULL)

    services.job_run(full.pk)

    # The fanning worker takes the chunks last to first (other workers take them from the queue, first to last).
    assert [len(ids) for ids, _ in computed] == [5, 7, 7, 7, 7, 7]
    assert [progress for _, progress in computed] == [[0], [5], [12], [19], [26], [33]]


def test_a_full_job_of_one_chunk_or_less_computes_in_place(generated, lab_ids, computed, monkeypatch):
    monkeypatch.setattr(services, "FULL_JOB_CHUNK", len(lab_ids))
    full = MetricJob.objects.create(lab=generated, kind=MetricJob.Kind.FULL)

    services.job_run(full.pk)

    full.refresh_from_db()
    assert MetricJob.objects.count() == 1 and full.preparation_ids == []
    assert [ids for ids, _ in computed] == [lab_ids]
    assert (full.status, full.total, full.processed) == (Status.DONE, 40, 40)


def test_chunk_jobs_are_queued_when_the_fan_out_commits(
    generated, small_chunks, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(tasks.run_metric_job, "delay", lambda job_id: sent.append(job_id))
    full = MetricJob.objects.create(lab=generated, kind=MetricJob.Kind.FULL)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.job_run(full.pk)

    assert sent == [chunk.pk for chunk in chunks_of(full)] and len(callbacks) == 6
    assert not MetricJob.objects.filter(queued_at__isnull=True).exclude(pk=full.pk).exists()


def test_a_failing_chunk_fails_alone_and_the_full_job_names_it(generated, lab_ids, small_chunks, monkeypatch):
    bad = lab_ids[10]  # in the second chunk
    original = services.compute_for

    def compute_for(ids):
        if bad in ids:
            raise ValueError(f"preparation {bad} has an impossible volume")
        return original(ids)

    monkeypatch.setattr(services, "compute_for", compute_for)
    full = MetricJob.objects.create(lab=generated, kind=MetricJob.Kind.FULL)

    services.job_run(full.pk)

    chunks = chunks_of(full)
    assert [chunk.status for chunk in chunks] == [Status.DONE, Status.FAILED] + [Status.DONE] * 4
    assert chunks[1].error == f"ValueError: preparation {bad} has an impossible volume"
    assert (full.status, full.processed, full.total) == (Status.FAILED, 33, 40)
    assert full.error == f"1 of 6 chunk jobs failed: job {chunks[1].pk}: {chunks[1].error}"
    assert set(PreparationMetrics.objects.values_list("preparation_id", flat=True)) == set(lab_ids) - set(
        chunks[1].preparation_ids
    )


def test_a_failing_chunk_delivered_on_its_own_fails_alone(generated, small_chunks, monkeypatch):
    full = MetricJob.objects.create(lab=generated, kind=MetricJob.Kind.FULL)
    monkeypatch.setattr(services, "_run_full", lambda job: services._fan_out(job.pk))  # fan out, compute nothing
    services.job_run(full.pk)
    first, *others = chunks_of(full)
    monkeypatch.setattr(services, "compute_for", lambda ids: 1 / 0)

    with pytest.raises(ZeroDivisionError):
        tasks.run_metric_job.apply(args=(first.pk,))

    first.refresh_from_db()
    full.refresh_from_db()
    assert first.status == Status.FAILED and {o.status for o in chunks_of(full)[1:]} == {Status.PENDING}
    assert full.status == Status.RUNNING, "the other chunks are still to run"


# ---------------------------------------------------------------- the sweeper


def test_the_sweeper_recovers_a_chunk_whose_worker_died_and_the_full_job_completes(
    generated, lab_ids, small_chunks, monkeypatch
):
    full = MetricJob.objects.create(lab=generated, kind=MetricJob.Kind.FULL)
    original = services._run_chunk
    died = []

    def run_chunk(job, ids=None):
        if not died:  # the worker dies in its first chunk: the row stays running, nothing is computed
            died.append(job.pk)
            raise SystemExit("worker killed")
        return original(job, ids)

    monkeypatch.setattr(services, "_run_chunk", run_chunk)
    with pytest.raises(SystemExit):
        services.job_run(full.pk)
    monkeypatch.setattr(services, "_run_chunk", original)
    # Another worker runs the chunks that are still pending, from their messages.
    for chunk in chunks_of(full):
        services.job_run(chunk.pk)
    full.refresh_from_db()
    dead = MetricJob.objects.get(pk=died[0])
    assert dead.status == Status.RUNNING and dead.total == 5, "the fanning worker died in the last chunk"
    assert full.status == Status.RUNNING and full.processed == 35

    assert services.sweep_stale_jobs() == [], "nothing has run past STALE_AFTER yet"
    later = timezone.now() + services.STALE_AFTER + timedelta(seconds=1)
    assert services.sweep_stale_jobs(now=later) == died, "the dead chunk, not the full job that fanned out"

    full.refresh_from_db()
    assert (full.status, full.processed, full.total) == (Status.DONE, 40, 40)
    assert MetricJob.objects.get(pk=died[0]).attempts == 2
    assert set(PreparationMetrics.objects.values_list("preparation_id", flat=True)) == set(lab_ids)


def test_the_sweeper_restarts_a_full_job_whose_worker_died_before_it_fanned_out(generated, small_chunks):
    started = timezone.now() - services.STALE_AFTER - timedelta(minutes=1)
    full = MetricJob.objects.create(
        lab=generated, kind=MetricJob.Kind.FULL, status=Status.RUNNING, attempts=1, started_at=started
    )

    assert services.sweep_stale_jobs() == [full.pk]

    full.refresh_from_db()
    assert (full.status, full.attempts, full.processed, full.chunks.count()) == (Status.DONE, 2, 40, 6)
    assert full.preparation_ids == []


def test_the_sweeper_settles_a_full_job_whose_last_chunk_finished_unseen(generated, small_chunks, monkeypatch):
    full = MetricJob.objects.create(lab=generated, kind=MetricJob.Kind.FULL)
    monkeypatch.setattr(services, "_settle", lambda job_id: None)  # the settling step is lost every time
    services.job_run(full.pk)
    monkeypatch.undo()
    full.refresh_from_db()
    assert (full.status, full.processed) == (Status.RUNNING, 0)

    later = timezone.now() + services.STALE_AFTER + timedelta(seconds=1)
    assert services.sweep_stale_jobs(now=later) == []

    full.refresh_from_db()
    assert (full.status, full.processed, full.attempts) == (Status.DONE, 40, 1)


# ---------------------------------------------------------------- retries after a transient error


def flaky(monkeypatch, name, fail_on):
    """Replace services.<name> by one that raises OperationalError on the calls numbered in ``fail_on``."""
    original = getattr(services, name)
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(args)
        if len(calls) in fail_on:
            raise OperationalError("server closed the connection unexpectedly")
        return original(*args, **kwargs)

    monkeypatch.setattr(services, name, wrapper)
    return calls


def test_a_retry_after_a_transient_error_takes_its_claimed_job_back_and_recomputes(lab_ids, monkeypatch):
    job = incremental(lab_ids[:6])
    calls = flaky(monkeypatch, "recompute", fail_on={1})

    result = tasks.run_metric_job.apply(args=(job.pk,), throw=False).get()

    assert len(calls) == 2, "the first delivery failed after its claim; its retry computed"
    job.refresh_from_db()
    assert (job.status, job.attempts, job.processed) == (Status.DONE, 2, 6)
    assert result["job"] == job.pk and result["status"] == Status.DONE and result["worker"]
    assert len(figures(lab_ids[:6])) == 6


def test_a_transient_error_in_a_chunk_releases_it_and_the_retry_finishes_the_full_job(
    generated, lab_ids, small_chunks, monkeypatch
):
    full = MetricJob.objects.create(lab=generated, kind=MetricJob.Kind.FULL)
    calls = flaky(monkeypatch, "recompute", fail_on={2})

    tasks.run_metric_job.apply(args=(full.pk,), throw=False).get()

    chunks = chunks_of(full)
    assert len(calls) == 7, "six chunks and the one computed again"
    assert [chunk.attempts for chunk in chunks] == [1, 1, 1, 1, 2, 1], "the second chunk taken (fifth) ran twice"
    assert {chunk.status for chunk in chunks} == {Status.DONE}
    assert (full.status, full.attempts, full.processed) == (Status.DONE, 2, 40)
    assert set(PreparationMetrics.objects.values_list("preparation_id", flat=True)) == set(lab_ids)


def test_figures_of_a_shared_recompute_equal_a_single_pass(generated, lab_ids, small_chunks):
    services.recompute(lab_ids)
    single = figures(lab_ids)
    PreparationMetrics.objects.all().delete()

    services.job_run(MetricJob.objects.create(lab=generated, kind=MetricJob.Kind.FULL).pk)

    assert figures(lab_ids) == single and len(single) == 40
