"""Dashboard summaries computed by the database, and the version of the labs' data their cache is keyed on.

The monthly trend needs only n, mean and SD per month, so on PostgreSQL it is one GROUP BY query (COUNT,
AVG, STDDEV_SAMP) whatever the number of preparations, instead of every row read into pandas. SQLite's
STDDEV_SAMP is a Python aggregate that Django registers and it fails on a group with fewer than two values,
so there the same figures come from ``compute.summarise`` over a narrow read. Both give the frame
``selectors.monthly_trend`` gives (the tests compare them).

Pages built from many rows are cached under ``data_version``: the newest stamp and row of the labs' stored
figures (every recompute stamps the rows it writes) and their newest audit event (sample, run, result and
control-material changes made through the services all write one; nothing in the app deletes a stored
figure). A recompute stamps its rows just before it writes them, so rows stamped earlier may commit after a
later stamp was seen: while the newest figure is younger than ``SETTLING_SECONDS`` a page is built without
being stored, and a cached page never outlives the data it shows.

When a metric job completes, a worker renders the default dashboard and comparison of each lab it changed
under the new version once the job's outcome has committed (``warm_up_after`` → ``on_figures_stored`` → the
web layer's ``evlims.web.tasks.warm_dashboards`` → ``store_settled``), so the first view after new results is a
cache read too. That worker does not wait for
the settling time: it stores only when no metric job that could write the lab's figures is running, and every
job's rows commit before it is marked done, so no row stamped earlier can still be on its way. Entries it
stored are served during the settling time as well.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from datetime import datetime

import pandas as pd
from django.core.cache import cache
from django.db import connection
from django.db.models import Avg, Count, Max, Q, StdDev
from django.db.models.functions import TruncMonth
from django.utils import timezone

from ..core.canonical import canonical_hash
from ..core.models import AuditEvent, Role
from ..core.registry import Hook
from ..core.tenancy import visible_lab_ids
from . import compute, selectors
from .models import MetricJob, PreparationMetrics

# A safety net only: every change that matters already changes the version.
CACHE_SECONDS = 3600
# Longer than one recompute chunk takes from stamping its rows to committing them.
SETTLING_SECONDS = 15


logger = logging.getLogger(__name__)


def data_version(user) -> tuple[list, datetime | None]:
    """(version, newest computed_at) of what the dashboards show from the user's labs."""
    return lab_data_version(visible_lab_ids(user))


def lab_data_version(labs: list[int]) -> tuple[list, datetime | None]:
    """(version, newest computed_at) of the labs' data: the newest stamp and the newest row of their stored
    figures (a figure stored with an older stamp is still a new row), and their newest audit event. Two MAX
    queries that PostgreSQL answers from the end of an index, not by counting."""
    stored = PreparationMetrics.objects.filter(lab_id__in=labs).aggregate(latest=Max("computed_at"), last=Max("id"))
    audited = AuditEvent.objects.filter(lab_id__in=labs).aggregate(last=Max("id"))["last"]
    latest = stored["latest"]
    return [labs, latest.isoformat() if latest else None, stored["last"], audited], latest


def _key(kind: str, version, params) -> str:
    return f"evlims:dashboards:{kind}:" + canonical_hash([kind, version, params])


def cached(user, kind: str, params, build):
    """``build()`` cached under the labs' data version and ``params`` (what the page was asked for). While the
    newest figure is settling, an entry a worker stored (``store_settled``) is still served, but nothing built
    here is stored."""
    version, latest = data_version(user)
    key = _key(kind, version, params)
    value = cache.get(key)
    if value is not None:
        return value
    value = build()
    if not latest or (timezone.now() - latest).total_seconds() >= SETTLING_SECONDS:
        cache.set(key, value, CACHE_SECONDS)
    return value


class LabReader:
    """Stands for a member of exactly one lab when no request is there: what the dashboards read for it (the
    lab's stored figures, runs and control materials) is what any member of that lab alone is shown, and the
    page's cache key is theirs. It holds no name and no permission beyond reading."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, lab_id: int):
        self.pk = None
        # The membership map core.tenancy keeps on a user for the request, so no membership row is read.
        self._evlims_memberships = {lab_id: Role.LAB_STAFF}


def jobs_in_flight(lab_id: int) -> bool:
    """A running metric job may have stamped rows of the lab that are not committed yet (a job without a lab
    computes preparations of any lab)."""
    return MetricJob.objects.filter(Q(lab_id=lab_id) | Q(lab__isnull=True), status=MetricJob.Status.RUNNING).exists()


def store_settled(lab_id: int, kind: str, params, build) -> bool:
    """Render ``build()`` into the cache under the lab's current version, for its members' next view; False
    (nothing stored) when the entry is there already or a job may still be writing the lab's figures."""
    if jobs_in_flight(lab_id):
        return False
    version, _ = lab_data_version([lab_id])
    key = _key(kind, version, params)
    if cache.get(key) is not None:
        return False
    cache.set(key, build(), CACHE_SECONDS)
    return True


# Called with the ids of the labs whose stored figures a finished job changed. The pages that show them live in
# the web layer, above this package: it registers here (EvlimsConfig.ready()) the task that renders them.
on_figures_stored = Hook("labs whose metric figures a finished job changed")


def warm_up_after(job, companions=()) -> None:
    """Called once a job's outcome has committed: when that finished a stand-alone job, or the full job the
    chunk belongs to (its last chunk settled it), the receivers of ``on_figures_stored`` get the labs whose
    figures it wrote (the web layer sends a worker to render their default dashboards). Two chunks settling
    together may both send it; the second finds the pages cached. ``companions``: the waiting jobs it computed
    with its own (``services._companions``), whose labs are warmed with its. Never raises: the figures are stored,
    and a page not warmed is built on its first view as before."""
    try:
        finished = MetricJob.objects.filter(
            pk=job.parent_id or job.pk, status__in=[MetricJob.Status.DONE, MetricJob.Status.FAILED]
        ).first()
        if finished is None:
            return  # a chunk of a full job still running, or a job that did not finish
        # The job's lab, every lab (a full job without one), or the labs of a change's preparations; only
        # labs with stored figures have a dashboard worth drawing.
        rows = PreparationMetrics.objects.order_by()
        computed = {pk for companion in companions for pk in companion.preparation_ids}
        if finished.lab_id is not None:
            rows = rows.filter(Q(lab_id=finished.lab_id) | Q(preparation_id__in=sorted(computed)))
        elif finished.kind == MetricJob.Kind.INCREMENTAL:
            rows = rows.filter(preparation_id__in=sorted(computed.union(finished.preparation_ids)))
        labs = sorted(rows.values_list("lab_id", flat=True).distinct())
        if labs:
            on_figures_stored.send(labs)
    except Exception:
        logger.exception("dashboards after metric job %s not warmed", job.pk)


def _number(value) -> float:
    return math.nan if value is None else float(value)


def month_summary(user, filters=None, figures=selectors.TRACKED_FIGURES) -> pd.DataFrame:
    """Per calendar month (UTC) of the run's start, oldest first, n/mean/SD/CV% of each figure: the frame of
    ``selectors.monthly_trend``; runs without a start are left out."""
    if connection.vendor != "postgresql":
        frame = selectors.metrics_frame(user, filters, columns=["preparation", "started_at", *figures])
        return selectors.monthly_trend(frame, figures)
    aggregates = {}
    for index, figure in enumerate(figures):
        aggregates[f"n_{index}"] = Count(figure)
        aggregates[f"mean_{index}"] = Avg(figure)
        aggregates[f"sd_{index}"] = StdDev(figure, sample=True)
    rows = (
        selectors.filtered_metrics(user, filters)
        .filter(preparation__run__started_at__isnull=False)
        .annotate(month=TruncMonth("preparation__run__started_at", tzinfo=dt.UTC))
        .values("month")
        .annotate(**aggregates)
        .order_by("month")
    )
    records = [
        {
            "month": row["month"].strftime("%Y-%m"),
            "metric": figure,
            "n": row[f"n_{index}"],
            "mean": _number(row[f"mean_{index}"]),
            "sd": _number(row[f"sd_{index}"]),
        }
        for row in rows
        for index, figure in enumerate(figures)
    ]
    summary = pd.DataFrame(records, columns=["month", *compute.SUMMARY_COLUMNS[:-1]])
    summary["n"] = summary["n"].astype("int64")
    summary["cv_pct"] = compute.cv_pct(summary["n"], summary["mean"], summary["sd"])
    return summary
