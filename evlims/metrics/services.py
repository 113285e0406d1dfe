"""Metric computation against the database: read rows in a few queries → pure pandas → bulk upsert.

Jobs are rows first (pending → running → done/failed) and queued after commit; a sweeper re-queues
pending jobs the broker lost, and running a job twice gives the same figures (idempotent upsert).
"""

import math
from datetime import timedelta

import pandas as pd
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..characterization.models import Measurement, SizeBin
from ..isolation.models import EVPreparation
from . import compute
from .models import MetricJob, PreparationMetrics

FIGURES = (
    "particle_yield_per_ml_input",
    "particle_yield_per_million_cells",
    "protein_yield_ug_per_ml_input",
    "particles_per_ug",
    "recovery_pct",
    "size_mode_nm",
    "size_median_nm",
    "small_ev_fraction",
)
LIPOPROTEIN_MARKERS = {"APOA1", "APOB", "APOE", "APOA2"}
CHUNK = 5000
STALE_AFTER = timedelta(minutes=10)


def preparation_frame(preparation_ids) -> pd.DataFrame:
    rows = EVPreparation.objects.filter(pk__in=list(preparation_ids)).values_list(
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
        list(rows),
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
    rows = Measurement.objects.filter(
        preparation_id__in=list(preparation_ids), kind__in=[Measurement.Kind.PARTICLE, Measurement.Kind.PROTEIN]
    ).values_list("pk", "preparation_id", "values")
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


def _lipoprotein_tested(preparation_ids) -> set[int]:
    return set(
        Measurement.objects.filter(
            preparation_id__in=list(preparation_ids),
            kind=Measurement.Kind.MARKER,
            marker__protein__in=LIPOPROTEIN_MARKERS,
        ).values_list("preparation_id", flat=True)
    )


def _input_counts(sample_ids) -> pd.DataFrame:
    rows = Measurement.objects.filter(input_sample_id__in=list(sample_ids), kind=Measurement.Kind.PARTICLE).values_list(
        "input_sample_id", "values"
    )
    counts = [
        (sample, v["particles_per_ml"]) for sample, v in rows if isinstance(v.get("particles_per_ml"), int | float)
    ]
    frame = pd.DataFrame(counts, columns=["sample", "input_particles_per_ml"])
    return frame.groupby("sample", as_index=False)["input_particles_per_ml"].mean()


def _histograms(preparation_ids) -> pd.DataFrame:
    rows = SizeBin.objects.filter(analysis__measurement__preparation_id__in=list(preparation_ids)).values_list(
        "analysis__measurement__preparation_id", "bin_center_nm", "concentration_per_ml"
    )
    return pd.DataFrame(list(rows), columns=["preparation", "bin_center_nm", "concentration_per_ml"])


def compute_for(preparation_ids) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(metrics, provenance) for the preparations: pure computation over frames read in six queries."""
    ids = list(preparation_ids)
    preps = preparation_frame(ids)
    values, provenance = compute.collapse_measurements(measurement_frame(ids))
    frame = preps.merge(values, on="preparation", how="left")
    for column in ("particles_per_ml", "protein_ug_per_ml", "size_mode_nm", "size_median_nm"):
        if column not in frame:
            frame[column] = float("nan")
    frame = frame.merge(_input_counts(set(preps["sample"])), on="sample", how="left")
    frame["lipoprotein_readout"] = frame["preparation"].isin(_lipoprotein_tested(ids))
    metrics = compute.preparation_metrics(frame)
    metrics = metrics.merge(compute.small_ev_fraction(_histograms(ids)), on="preparation", how="left")
    return metrics, compute.metric_provenance(metrics, provenance)


def _clean(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def store_metrics(metrics: pd.DataFrame, provenance: pd.DataFrame) -> int:
    """Upsert one PreparationMetrics row per preparation (bulk, idempotent)."""
    by_prep: dict[int, dict[str, list[int]]] = {}
    for prep, metric, measurement in provenance[["preparation", "metric", "measurement_id"]].itertuples(index=False):
        by_prep.setdefault(int(prep), {}).setdefault(metric, []).append(int(measurement))
    now = timezone.now()
    rows = [
        PreparationMetrics(
            preparation_id=int(record["preparation"]),
            lab_id=int(record["lab"]),
            computed_at=now,
            purity_class=_clean(record.get("purity_class")),
            provenance=by_prep.get(int(record["preparation"]), {}),
            **{figure: _clean(record.get(figure)) for figure in FIGURES},
        )
        for record in metrics.to_dict("records")
    ]
    PreparationMetrics.objects.bulk_create(
        rows,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["preparation"],
        update_fields=[*FIGURES, "purity_class", "provenance", "computed_at", "lab"],
    )
    return len(rows)


def recompute(preparation_ids) -> int:
    ids = list(preparation_ids)
    total = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        metrics, provenance = compute_for(chunk)
        total += store_metrics(metrics, provenance)
    return total


def job_create(*, preparation_ids=None, lab=None, full: bool = False) -> MetricJob:
    """A job row, queued to Celery only once its transaction commits (so a worker always finds it)."""
    ids = sorted(set(preparation_ids or []))
    job = MetricJob.objects.create(
        lab=lab, kind=MetricJob.Kind.FULL if full else MetricJob.Kind.INCREMENTAL, preparation_ids=ids, total=len(ids)
    )
    transaction.on_commit(lambda: queue_job(job.pk))
    return job


def queue_job(job_id) -> None:
    """Send a job row to the workers. If the broker is unreachable the row stays pending with no queued
    time, and the sweeper sends it later."""
    from ..compliance.tasks import BROKER_ERRORS
    from .tasks import run_metric_job

    MetricJob.objects.filter(pk=job_id).update(queued_at=timezone.now())
    try:
        run_metric_job.delay(job_id)
    except BROKER_ERRORS:
        MetricJob.objects.filter(pk=job_id).update(queued_at=None)


def job_run(job_id: int) -> MetricJob:
    """Run a job; safe to run again (a retried or duplicated delivery recomputes the same figures)."""
    claimed = MetricJob.objects.filter(
        pk=job_id, status__in=[MetricJob.Status.PENDING, MetricJob.Status.RUNNING]
    ).update(status=MetricJob.Status.RUNNING, started_at=timezone.now())
    job = MetricJob.objects.get(pk=job_id)
    if not claimed:
        return job
    MetricJob.objects.filter(pk=job_id).update(attempts=job.attempts + 1)
    ids = job.preparation_ids
    if job.kind == MetricJob.Kind.FULL:
        prep_qs = EVPreparation.objects.all() if job.lab_id is None else EVPreparation.objects.filter(lab=job.lab_id)
        ids = list(prep_qs.order_by("pk").values_list("pk", flat=True))
        MetricJob.objects.filter(pk=job_id).update(total=len(ids))
    done = 0
    for start in range(0, len(ids), CHUNK):
        done += recompute(ids[start : start + CHUNK])
        MetricJob.objects.filter(pk=job_id).update(processed=done)
    MetricJob.objects.filter(pk=job_id).update(status=MetricJob.Status.DONE, finished_at=timezone.now())
    job.refresh_from_db()
    return job


def job_fail(job_id: int, error: str) -> None:
    MetricJob.objects.filter(pk=job_id).update(
        status=MetricJob.Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def sweep_stale_jobs(now=None) -> list[int]:
    """Queue again the pending jobs that never reached a worker (broker down at the time) or whose worker
    died; returns their ids."""

    cutoff = (now or timezone.now()) - STALE_AFTER
    never_queued = Q(queued_at__isnull=True) | Q(queued_at__lt=cutoff)
    stale = list(MetricJob.objects.filter(never_queued, status=MetricJob.Status.PENDING).values_list("pk", flat=True))
    stale += list(
        MetricJob.objects.filter(status=MetricJob.Status.RUNNING, started_at__lt=cutoff).values_list("pk", flat=True)
    )
    for job_id in stale:
        MetricJob.objects.filter(pk=job_id).update(status=MetricJob.Status.PENDING)
        queue_job(job_id)
    return stale
