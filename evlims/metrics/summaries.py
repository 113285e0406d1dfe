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
later stamp was seen: while the newest figure is younger than ``SETTLING_SECONDS`` the page is built without
being cached, and a cached page never outlives the data it shows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from datetime import datetime

import pandas as pd
from django.core.cache import cache
from django.db import connection
from django.db.models import Avg, Count, Max, StdDev
from django.db.models.functions import TruncMonth
from django.utils import timezone

from ..core.models import AuditEvent
from ..core.tenancy import visible_lab_ids
from . import compute, selectors
from .models import PreparationMetrics

# A safety net only: every change that matters already changes the version.
CACHE_SECONDS = 3600
# Longer than one recompute chunk takes from stamping its rows to committing them.
SETTLING_SECONDS = 15


def data_version(user) -> tuple[list, datetime | None]:
    """(version, newest computed_at) of what the dashboards show from the user's labs: the newest stamp and the
    newest row of their stored figures (a figure stored with an older stamp is still a new row), and their
    newest audit event. Two MAX queries that PostgreSQL answers from the end of an index, not by counting."""
    labs = visible_lab_ids(user)
    stored = PreparationMetrics.objects.filter(lab_id__in=labs).aggregate(latest=Max("computed_at"), last=Max("id"))
    audited = AuditEvent.objects.filter(lab_id__in=labs).aggregate(last=Max("id"))["last"]
    latest = stored["latest"]
    return [labs, latest.isoformat() if latest else None, stored["last"], audited], latest


def cached(user, kind: str, params, build):
    """``build()`` cached under the labs' data version and ``params`` (what the page was asked for)."""
    version, latest = data_version(user)
    if latest and (timezone.now() - latest).total_seconds() < SETTLING_SECONDS:
        return build()
    content = json.dumps([kind, version, params], default=str, sort_keys=True)
    key = f"evlims:dashboards:{kind}:" + hashlib.sha256(content.encode()).hexdigest()
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, CACHE_SECONDS)
    return value


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
