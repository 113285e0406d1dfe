"""Metric computation against the database: read rows in a few queries → pure pandas → bulk upsert.

Jobs are rows first (pending → running → done/failed) and queued after commit. A delivery claims its
job with a conditional UPDATE (pending → running), so one worker runs it; a full recompute fans out into
chunk jobs that any worker can claim. A sweeper re-queues the jobs the broker lost or whose worker died,
and running a job twice gives the same figures (idempotent upsert).
"""

import logging
from datetime import timedelta
from functools import partial

import pandas as pd
from django.db import DatabaseError, InterfaceError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.utils import timezone

from ...characterization.models import Measurement
from ...compliance.evaluator import collector_paused
from ...core.broker import BROKER_ERRORS
from ...core.registry import Provider
from ...isolation.models import EVPreparation
from .. import compute, summaries
from ..models import MetricJob
from . import _companions, _recompute_io
from .controls import control_material_create, control_material_link_samples, control_material_update

# The job and recompute writers are defined here; the control-material writers live in services/controls.py.
__all__ = [
    "control_material_create",
    "control_material_link_samples",
    "control_material_update",
    "preparation_frame",
    "measurement_frame",
    "compute_for",
    "store_metrics",
    "recompute",
    "job_create",
    "queue_job",
    "sent_failed",
    "job_run",
    "job_fail",
    "sweep_stale_jobs",
    "job_sender",
    "ClaimInterrupted",
]

# What sends a job row's id to the workers: ``metrics.tasks.send_metric_job``, which calls back into this module,
# registered by ``EvlimsConfig.ready()`` so that the two modules do not import each other.
job_sender = Provider("the sender of metric jobs to the workers (metrics.tasks.send_metric_job)")

CHUNK = 5000  # preparations read and computed at a time
# Preparations per chunk job of a full recompute: small enough that a second worker gets a share of a
# 10,000-preparation lab, large enough that the six reads of a chunk outweigh its bookkeeping.
FULL_JOB_CHUNK = 1000
STALE_AFTER = timedelta(minutes=10)
# Errors worth a retry: the database or the broker went away for a moment.
TRANSIENT = (DatabaseError, InterfaceError, ConnectionError)
PENDING, RUNNING, DONE, FAILED = (MetricJob.Status[name] for name in ("PENDING", "RUNNING", "DONE", "FAILED"))

logger = logging.getLogger(__name__)


def preparation_frame(preparation_ids) -> pd.DataFrame:
    query = EVPreparation.objects.filter(_recompute_io.AmongIds("pk", preparation_ids)).values_list(
        "pk",
        "lab_id",
        "run_id",
        "input_aliquot__sample_id",
        "input_aliquot__sample__biofluid",
        "input_volume_ul",
        "final_volume_ul",
        "input_aliquot__sample__volume_ml",
        "input_aliquot__sample__cell_count_at_harvest",
    )
    frame = pd.DataFrame(
        _recompute_io.fetch(query),
        columns=[
            "preparation",
            "lab",
            "run",
            "sample",
            "biofluid",
            "input_volume_ul",
            "prep_volume_ul",
            "sample_volume_ml",
            "cells_at_harvest",
        ],
    )
    frame["input_volume_ml"] = pd.to_numeric(frame["input_volume_ul"], errors="coerce").astype(float) / 1000
    frame["prep_volume_ml"] = pd.to_numeric(frame["prep_volume_ul"], errors="coerce").astype(float) / 1000
    # Cells behind this preparation: the harvest count scaled by the share of the medium used.
    share = frame["input_volume_ml"] / pd.to_numeric(frame["sample_volume_ml"], errors="coerce").astype(float)
    frame["producing_cells"] = pd.to_numeric(frame["cells_at_harvest"], errors="coerce").astype(float) * share
    return frame


def measurement_frame(preparation_ids) -> pd.DataFrame:
    """Long (measurement_id, preparation, quantity, value) rows from the headline values."""
    rows = _recompute_io.fetch(
        Measurement.objects.filter(
            _recompute_io.AmongIds("preparation_id", preparation_ids),
            kind__in=[Measurement.Kind.PARTICLE, Measurement.Kind.PROTEIN],
        ).values_list("pk", "preparation_id", "values")
    )
    long = [
        (pk, prep, quantity, values[key])
        for pk, prep, values in rows
        for key, quantity in (
            ("particles_per_ml", "particles_per_ml"),
            ("protein_ug_per_ml", "protein_ug_per_ml"),
            ("size_mode_nm", "size_mode_nm"),
            ("d50_nm", "size_median_nm"),
        )
        if isinstance(values.get(key), int | float)
    ]
    return pd.DataFrame(long, columns=["measurement_id", "preparation", "quantity", "value"])


def compute_for(preparation_ids) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(metrics, provenance) for the preparations: pure computation over frames read in six queries."""
    ids = list(preparation_ids)
    preps = preparation_frame(ids)
    values, provenance = compute.collapse_measurements(measurement_frame(ids))
    frame = preps.merge(values, on="preparation", how="left")
    for column in ("particles_per_ml", "protein_ug_per_ml", "size_mode_nm", "size_median_nm"):
        if column not in frame:
            frame[column] = float("nan")
    frame = frame.merge(_recompute_io.input_counts(set(preps["sample"])), on="sample", how="left")
    frame["lipoprotein_readout"] = frame["preparation"].isin(_recompute_io.lipoprotein_tested(ids))
    metrics = compute.preparation_metrics(frame)
    metrics = metrics.merge(compute.small_ev_fraction(_recompute_io.histograms(ids)), on="preparation", how="left")
    return metrics, compute.metric_provenance(metrics, provenance)


def store_metrics(metrics: pd.DataFrame, provenance: pd.DataFrame) -> int:
    """Store one PreparationMetrics row per preparation (idempotent): the changed and new rows in one upsert, the
    unchanged ones stamped with this computation's time (services/_recompute_io.py)."""
    return _recompute_io.write(_recompute_io.rows_of(metrics, provenance), timezone.now())


def recompute(preparation_ids) -> int:
    """Compute and store the figures of the preparations, CHUNK at a time. Python's cyclic collector is paused for a
    chunk: the rows, frames and tuples of a chunk form no cycles that matter, and the collector walking them again
    and again took a third of a full recompute's CPU (docs/performance.md)."""
    ids = list(preparation_ids)
    total = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with collector_paused():
            metrics, provenance = compute_for(chunk)
            total += store_metrics(metrics, provenance)
    return total


class ClaimInterrupted(Exception):
    """A transient error struck after a delivery claimed its job. ``claim``, the attempt number it held, lets
    the retry of that delivery take back the job it left running; ``__cause__`` is the original error."""

    def __init__(self, job_id: int, claim: int):
        super().__init__(f"metric job {job_id} interrupted in attempt {claim}")
        self.claim = claim


def job_create(*, preparation_ids=None, lab=None, full: bool = False) -> MetricJob:
    """A job row, queued to Celery only once its transaction commits (so a worker always finds it)."""
    if full and preparation_ids:
        raise ValueError("a full job covers every preparation of its lab and takes no preparation ids")
    ids = sorted(set(preparation_ids or []))
    job = MetricJob.objects.create(
        lab=lab, kind=MetricJob.Kind.FULL if full else MetricJob.Kind.INCREMENTAL, preparation_ids=ids, total=len(ids)
    )
    transaction.on_commit(lambda: queue_job(job.pk))
    return job


def queue_job(job_id, *, stamped: bool = False) -> None:
    """Send a job row to the workers (``stamped``: queued time written with it); no broker: the sweeper sends it."""
    if not stamped:
        MetricJob.objects.filter(pk=job_id).update(queued_at=timezone.now())
    try:
        job_sender.get()(job_id)
    except BROKER_ERRORS:
        sent_failed(job_id)


def sent_failed(job_id) -> None:
    """The job's message did not reach the broker: the sweeper sends it, and the next change sends its own."""
    MetricJob.objects.filter(pk=job_id).update(queued_at=None)
    _companions.send_failed()


def job_run(job_id: int, *, claim: int | None = None, redelivered: bool = False) -> MetricJob:
    """Run the job if this delivery claims it; a delivery of a job that is running or finished returns it untouched.

    A delivery claims a pending job. It takes a running one only when ``claim`` is the attempt number it held
    before a transient error (its retry takes its own job back) or when ``redelivered`` says the broker handed
    the message back because the worker holding it never acknowledged it: that worker died.
    """
    attempt = _claim(job_id, claim=claim, takeover=redelivered)
    if attempt is None:
        job = MetricJob.objects.get(pk=job_id)
        if _companions.takes_waiting(job):
            _run_waiting(job)  # another run took this change: the changes its mark held back may be waiting
        return job
    try:
        job = MetricJob.objects.get(pk=job_id)
        if job.kind == MetricJob.Kind.FULL:
            _run_full(job)
        else:
            _run_chunk(job)
    except TRANSIENT as error:
        raise ClaimInterrupted(job_id, attempt) from error
    return MetricJob.objects.get(pk=job_id)


def _claim(job_id: int, *, claim: int | None = None, takeover: bool = False) -> int | None:
    """Move the job to running with one conditional UPDATE, so of two deliveries racing exactly one wins.
    Returns the attempt number this delivery holds, or None when the job is not this delivery's to run."""
    claimable = Q(status=PENDING)
    if takeover:
        claimable |= Q(status=RUNNING)
    elif claim is not None:
        claimable |= Q(status=RUNNING, attempts=claim)
    claimed = MetricJob.objects.filter(claimable, pk=job_id).update(
        status=RUNNING, started_at=timezone.now(), finished_at=None, attempts=F("attempts") + 1
    )
    return MetricJob.objects.values_list("attempts", flat=True).get(pk=job_id) if claimed else None


def _run_waiting(delivered: MetricJob) -> None:
    """The changes waiting, computed in one pass for a delivery whose own job another run took. If the pass fails
    they go back to the sweeper, which sends each alone; only a transient error is raised (for the retry): the
    delivered job is done, not the one to mark failed."""
    if not (companions := _companions.claim_waiting()):
        return
    try:
        recompute(_companions.together([], companions))
    except Exception as error:
        _companions.release(companions)
        if isinstance(error, TRANSIENT):
            raise
        logger.exception("metric jobs waiting behind job %d failed together", delivered.pk)
        return
    with transaction.atomic():
        _companions.finish(companions, timezone.now())
    _after_taking(delivered, companions)


def _after_taking(job: MetricJob, companions) -> None:
    summaries.warm_up_after(job, companions)  # committed: the figures are there for the dashboards' warm-up
    if (waiting := _companions.next_waiting(companions)) is not None:
        queue_job(waiting)  # more changes wait than one pass takes: the next pass gets a message of its own


def _run_chunk(job: MetricJob, ids=None) -> None:
    """Compute an incremental job (a chunk of a full one is one too), or ``ids`` for a full job that needs no
    chunks, then settle the full job it belongs to. A stand-alone change takes the changes waiting behind it
    (``_companions``)."""
    companions = _companions.claim(job) if ids is None else []
    ids = job.preparation_ids if ids is None else ids
    try:
        done = 0
        for start in range(0, len(ids), CHUNK):
            done += recompute(ids[start : start + CHUNK])
            MetricJob.objects.filter(pk=job.pk).update(processed=done)
        if companions:
            recompute(_companions.together(ids, companions)[len(ids) :])
    except BaseException:
        _companions.release(companions)
        raise
    with transaction.atomic():
        finished_at = timezone.now()
        MetricJob.objects.filter(pk=job.pk).update(status=DONE, finished_at=finished_at)
        _companions.finish(companions, finished_at)
        _settle_parent_of(job)
    _after_taking(job, companions)
    logger.info("metric job %d computed %d preparations (with %d waiting jobs)", job.pk, done, len(companions))


def _run_full(job: MetricJob) -> None:
    """Fan the full job out into chunk jobs (once), then work through the chunks no other worker has taken."""
    fanned_out, ids = _fan_out(job.pk)
    if not fanned_out:
        _run_chunk(job, ids)  # one chunk's worth or none: nothing to share, so no chunk job either
        return
    # Other workers take the chunks from the queue first to last; this one takes them last to first, so the
    # two seldom reach for the same chunk, and a lone worker still computes the whole job in this one task.
    while (chunk := job.chunks.filter(status=PENDING).order_by("-pk").first()) is not None:
        attempt = _claim(chunk.pk)
        if attempt is None:
            continue  # another worker claimed it between the read and the claim
        try:
            _run_chunk(chunk)
        except TRANSIENT:
            _release(chunk.pk, attempt)
            raise
        except Exception as error:  # a bad chunk fails alone; the others still run
            logger.exception("metric job %d failed", chunk.pk)
            job_fail(chunk.pk, f"{type(error).__name__}: {error}")
    _settle(job.pk)


def _fan_out(job_id: int) -> tuple[bool, list[int]]:
    """Split a full job into chunk jobs of FULL_JOB_CHUNK preparations in one transaction, queued when it
    commits. Each chunk's ``parent`` is the full job, so a retry or a takeover finds its chunks and fans out
    no second time (the full job's row is locked while it looks, so of two deliveries only one fans out).

    Returns (True, []) when the job has chunk jobs, or (False, the preparation ids) when they fit in one."""
    with transaction.atomic():
        job = MetricJob.objects.select_for_update().get(pk=job_id)
        if job.chunks.exists():
            return True, []
        preparations = EVPreparation.objects.all()
        if job.lab_id is not None:
            preparations = preparations.filter(lab=job.lab_id)
        ids = list(preparations.order_by("pk").values_list("pk", flat=True))
        if len(ids) <= FULL_JOB_CHUNK:
            MetricJob.objects.filter(pk=job_id).update(total=len(ids), processed=0)
            return False, ids
        pieces = [ids[start : start + FULL_JOB_CHUNK] for start in range(0, len(ids), FULL_JOB_CHUNK)]
        chunks = MetricJob.objects.bulk_create(
            MetricJob(
                lab_id=job.lab_id,
                parent_id=job_id,
                kind=MetricJob.Kind.INCREMENTAL,
                preparation_ids=piece,
                total=len(piece),
            )
            for piece in pieces
        )
        MetricJob.objects.filter(pk=job_id).update(total=len(ids), processed=0)
        for chunk in chunks:
            transaction.on_commit(partial(queue_job, chunk.pk))
    return True, []


def _release(job_id: int, attempt: int) -> None:
    """Hand a chunk back to pending after a transient error, for any worker (or the retry) to take; with the
    database away this fails too, and the sweeper recovers the chunk once it has run past STALE_AFTER."""
    try:
        MetricJob.objects.filter(pk=job_id, status=RUNNING, attempts=attempt).update(status=PENDING, queued_at=None)
    except TRANSIENT:
        logger.warning("metric job %d left running after a transient error; the sweeper will recover it", job_id)


def _settle_parent_of(job: MetricJob) -> None:
    """Bring the full job that ``job`` is a chunk of up to date, if it is one."""
    if job.parent_id is not None:
        _settle(job.parent_id)


def _settle(job_id: int) -> None:
    """Progress and outcome of a full job from its chunk jobs: ``processed`` sums theirs, and once none is
    pending or running the job is done, or failed naming the chunks that failed. The full job's row is locked
    before the chunks are read, so of two chunks finishing together the second to settle sees both."""
    with transaction.atomic():
        job = MetricJob.objects.select_for_update().filter(pk=job_id, status=RUNNING).first()
        if job is None:
            return
        chunks = job.chunks.all()
        by_status = dict(chunks.order_by().values_list("status").annotate(n=Count("pk")))
        changes = {"processed": chunks.aggregate(n=Sum("processed"))["n"] or 0}
        if not by_status.get(PENDING) and not by_status.get(RUNNING):
            changes |= {"status": FAILED if by_status.get(FAILED) else DONE, "finished_at": timezone.now()}
        if by_status.get(FAILED):
            failed = chunks.filter(status=FAILED).order_by("pk").values_list("pk", "error")[:3]
            named = "; ".join(f"job {pk}: {error}" for pk, error in failed)
            changes["error"] = f"{by_status[FAILED]} of {sum(by_status.values())} chunk jobs failed: {named}"[:2000]
        MetricJob.objects.filter(pk=job_id).update(**changes)


def job_fail(job_id: int, error: str) -> None:
    with transaction.atomic():
        MetricJob.objects.filter(pk=job_id).update(status=FAILED, error=error[:2000], finished_at=timezone.now())
        job = MetricJob.objects.only("pk", "parent_id").get(pk=job_id)
        _settle_parent_of(job)
    summaries.warm_up_after(job)


def sweep_stale_jobs(now=None) -> list[int]:
    """Queue again the pending jobs that never reached a worker (broker down at the time) and the running ones
    whose worker died; returns their ids. A full job that fanned out is only settled: its chunks carry its work,
    and each of them is recovered on its own."""
    cutoff = (now or timezone.now()) - STALE_AFTER
    never_queued = Q(queued_at__isnull=True) | Q(queued_at__lt=cutoff)
    stale = list(MetricJob.objects.filter(never_queued, status=PENDING).values_list("pk", flat=True))
    running = MetricJob.objects.filter(status=RUNNING, started_at__lt=cutoff).annotate(
        fanned_out=Exists(MetricJob.objects.filter(parent=OuterRef("pk")))
    )
    for job_id, fanned_out in running.values_list("pk", "fanned_out"):
        if fanned_out:
            _settle(job_id)
        elif MetricJob.objects.filter(pk=job_id, status=RUNNING, started_at__lt=cutoff).update(status=PENDING):
            stale.append(job_id)
    for job_id in stale:
        queue_job(job_id)
    return stale
