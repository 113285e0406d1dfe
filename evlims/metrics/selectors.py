"""Stored preparation figures read for dashboards, as pandas frames, scoped to the user's labs.

Every function issues a fixed number of queries however many preparations there are: one ``values``
query joins the figures with the grouping keys asked for (run, protocol, method, biofluid, operator,
particle instrument), and the summaries are then computed in pandas by ``compute.summarise``. Summaries
that need no row of their own are computed by the database instead (``metrics.summaries``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import pandas as pd
from django.db.models import Case, Count, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce, Concat, NullIf
from django.utils import timezone

from ..characterization.models import Measurement, SizeBin
from ..compliance.models import Review
from ..core.tenancy import visible_lab_ids
from ..isolation.models import EVPreparation, IsolationRun
from . import compute, figures
from .models import MetricJob, PreparationMetrics

# The figures the dashboards follow and summarise, in their order (the catalogue in figures.py owns them).
YIELD, PURITY, TRACKED_FIGURES = figures.YIELD, figures.PURITY, figures.TRACKED
SUMMARY_FIGURES = tuple(figure.key for figure in figures.DASHBOARD)
FRAME_COLUMNS = (
    "preparation",
    "barcode",
    "lab",
    "run",
    "run_code",
    "started_at",
    "protocol_version",
    "protocol",
    "method",
    "biofluid",
    "operator",
    "instrument",
    "purity_class",
    *SUMMARY_FIGURES,
)
OPEN_REVIEW_STATES = (Review.State.SUBMITTED, Review.State.VERIFIED)
# A preparation is produced once its run is completed (isolation.selectors.PREPARATION_STATES).
PRODUCED_RUN = IsolationRun.Status.COMPLETED


@dataclass(frozen=True)
class MetricFilters:
    """What the comparison page narrows the preparations to; None means "any"."""

    biofluid: str | None = None
    protocol_version: int | None = None
    method: str | None = None
    started_from: date | None = None
    started_to: date | None = None
    operator: int | None = None


def _particle_instrument():
    """Name of the instrument of the preparation's first particle measurement (registered or as typed)."""
    first_particle = Measurement.objects.filter(
        preparation_id=OuterRef("preparation_id"), kind=Measurement.Kind.PARTICLE
    ).order_by("measured_at", "id")
    name = Coalesce(F("instrument__name"), NullIf(F("instrument_name"), Value("")))
    return Subquery(first_particle.annotate(shown=name).values("shown")[:1])


def protocol_label(run_path: str):
    """slug@version of the run's protocol version, else the protocol name typed on the run, else null.
    (A Concat alone would turn a missing version into a bare "@" on some databases.)"""
    version = f"{run_path}protocol_version"
    with_version = Concat(F(f"{version}__protocol__slug"), Value("@"), F(f"{version}__version"))
    return Case(
        When(**{f"{version}__isnull": False}, then=with_version),
        default=NullIf(F(f"{run_path}protocol_name"), Value("")),
    )


def _day_bounds(day: date, end: bool) -> datetime:
    moment = datetime.combine(day, time.max if end else time.min)
    return timezone.make_aware(moment)


def metrics_rows(user, filters: MetricFilters | None = None, columns=FRAME_COLUMNS):
    """The stored figures of the user's labs as a ``values`` queryset (one row per preparation), with only
    the ``columns`` asked for: the particle instrument is a subquery per row, so it is read only when shown."""
    rows = filtered_metrics(user, filters)
    keys = {
        "barcode": F("preparation__barcode"),
        "run": F("preparation__run_id"),
        "run_code": F("preparation__run__code"),
        "started_at": F("preparation__run__started_at"),
        "protocol_version": F("preparation__run__protocol_version_id"),
        "protocol": protocol_label("preparation__run__"),
        "method": NullIf(F("preparation__run__method"), Value("")),
        "biofluid": F("preparation__input_aliquot__sample__biofluid"),
        "operator": F("preparation__run__operator__username"),
        "instrument": _particle_instrument(),
    }
    return rows.annotate(**{name: keys[name] for name in columns if name in keys}).values_list(*columns)


def filtered_metrics(user, filters: MetricFilters | None = None):
    """The PreparationMetrics rows of the user's labs narrowed by the comparison filters. Produced preparations
    only: figures stored for a preparation of a planned, in-progress or aborted run count nowhere."""
    filters = filters or MetricFilters()
    rows = PreparationMetrics.objects.filter(lab_id__in=visible_lab_ids(user), preparation__run__status=PRODUCED_RUN)
    if filters.biofluid:
        rows = rows.filter(preparation__input_aliquot__sample__biofluid=filters.biofluid)
    if filters.protocol_version:
        rows = rows.filter(preparation__run__protocol_version_id=filters.protocol_version)
    if filters.method:
        rows = rows.filter(preparation__run__method=filters.method)
    if filters.operator:
        rows = rows.filter(preparation__run__operator_id=filters.operator)
    if filters.started_from:
        rows = rows.filter(preparation__run__started_at__gte=_day_bounds(filters.started_from, end=False))
    if filters.started_to:
        rows = rows.filter(preparation__run__started_at__lte=_day_bounds(filters.started_to, end=True))
    return rows


def metrics_frame(
    user, filters: MetricFilters | None = None, columns=FRAME_COLUMNS, limit: int | None = None
) -> pd.DataFrame:
    """One row per preparation with its figures (NaN where missing) and its grouping keys, plus ``month``
    (calendar month the run started; missing when the run has no start time). ``columns`` narrows the read
    (it must hold ``started_at``); ``limit`` keeps the first rows in run order."""
    columns = list(columns)
    ordered = metrics_rows(user, filters, columns).order_by("preparation__run__started_at", "preparation_id")
    rows = list(ordered[:limit] if limit is not None else ordered)
    frame = pd.DataFrame(rows, columns=columns)
    for figure in SUMMARY_FIGURES:
        if figure in frame:
            frame[figure] = pd.to_numeric(frame[figure], errors="coerce").astype("float64")
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    return compute.with_month(frame, "started_at")


def group_summary(frame: pd.DataFrame, by, figures=TRACKED_FIGURES) -> pd.DataFrame:
    """n, mean, SD and CV% per group (``compute.summarise``); an empty frame gives an empty summary."""
    if frame.empty:
        return pd.DataFrame(columns=[*by, *compute.SUMMARY_COLUMNS])
    return compute.summarise(frame, by=list(by), metrics=list(figures))


def recorded_figures(frame: pd.DataFrame) -> list[str]:
    """The summary figures at least one preparation of the frame has (the tracked two always), so a table
    does not fill with figures nobody measured; a group lacking a recorded figure still shows n = 0."""
    return [f for f in SUMMARY_FIGURES if f in TRACKED_FIGURES or (f in frame and frame[f].notna().any())]


def monthly_trend(frame: pd.DataFrame, figures=TRACKED_FIGURES) -> pd.DataFrame:
    """Per month (oldest first) the summaries of the figures; runs without a start are left out."""
    dated = frame.loc[frame["month"].notna()].sort_values("month", kind="stable")
    return group_summary(dated, ["month"], figures)


def recent_runs(user, limit: int = 10) -> list[IsolationRun]:
    """The latest runs, each with its number of produced preparations (none until the run is completed). The
    runs are cut first and their preparations counted afterwards: counting in the same query would group every
    run of the lab before keeping ten."""
    runs = list(
        IsolationRun.objects.filter(lab_id__in=visible_lab_ids(user))
        .select_related("protocol_version__protocol", "operator")
        .order_by(F("started_at").desc(nulls_first=True), "-id")[:limit]
    )
    counts = dict(
        EVPreparation.objects.filter(run_id__in=[run.pk for run in runs], run__status=PRODUCED_RUN)
        .order_by()
        .values_list("run_id")
        .annotate(n=Count("id"))
    )
    for run in runs:
        run.preparation_count = counts.get(run.pk, 0)
    return runs


def open_reviews(user, limit: int = 10) -> tuple[dict[str, int], list[Review]]:
    """({state: count} of reviews awaiting verification or approval, the oldest of them)."""
    reviews = Review.objects.filter(lab_id__in=visible_lab_ids(user), state__in=OPEN_REVIEW_STATES)
    counts = dict(reviews.order_by().values_list("state").annotate(n=Count("id")))
    oldest = list(reviews.select_related("preparation", "run", "submitted_by").order_by("submitted_at", "id")[:limit])
    return {state: counts.get(state, 0) for state in OPEN_REVIEW_STATES}, oldest


def metric_jobs(user, limit: int = 5) -> list[MetricJob]:
    """The latest full recomputes of the user's labs, newest first."""
    return list(
        MetricJob.objects.filter(lab_id__in=visible_lab_ids(user), kind=MetricJob.Kind.FULL)
        .select_related("lab")
        .order_by("-created_at", "-id")[:limit]
    )


def metric_job_get(user, pk) -> MetricJob | None:
    return MetricJob.objects.filter(lab_id__in=visible_lab_ids(user), pk=pk).first()


def size_distributions(user, preparation_ids) -> pd.DataFrame:
    """Size bins of the chosen preparations' particle measurements (the user's labs only): columns
    preparation, barcode, measurement, bin_center_nm, concentration_per_ml, in bin order."""
    rows = (
        SizeBin.objects.filter(
            analysis__measurement__lab_id__in=visible_lab_ids(user),
            analysis__measurement__preparation_id__in=list(preparation_ids),
        )
        .order_by("analysis__measurement__preparation__barcode", "analysis__measurement_id", "bin_center_nm")
        .values_list(
            "analysis__measurement__preparation_id",
            "analysis__measurement__preparation__barcode",
            "analysis__measurement_id",
            "bin_center_nm",
            "concentration_per_ml",
        )
    )
    columns = ["preparation", "barcode", "measurement", "bin_center_nm", "concentration_per_ml"]
    return pd.DataFrame(list(rows), columns=columns)
