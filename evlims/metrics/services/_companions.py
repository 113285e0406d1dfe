"""A change's metric job takes the changes waiting behind it.

Every transaction that changes evidence writes one incremental job row and sends it (``metrics.refresh``). When
results arrive faster than a worker runs one job per change (an instrument posting a result at a time), the
jobs queue up, each recomputing one or two preparations at a fixed cost of reads and writes, and the figures
fall further behind with every post. A worker that claims a stand-alone incremental job therefore also claims
the incremental jobs still pending (up to ``MAX_COMPANIONS``, oldest first), computes the union of their
preparations in one pass and marks them done with its own; their own messages, when they arrive, find them done
and compute nothing (``job_run``). The figures are those of one job per change: a recompute reads the current
records of each preparation, whichever job asked for it.

A companion is claimed as its own delivery would claim it (pending → running, one more attempt), under a lock
that another worker's claim waits for and skips, so each job runs once. If the run fails, the companions go back
to pending with no queued time, and the sweeper sends them again (``sweep_stale_jobs``); if that write fails too,
they are running jobs whose worker is gone, which the sweeper recovers after ``STALE_AFTER``.
"""

import logging
from typing import NamedTuple

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import MetricJob

MAX_COMPANIONS = 500
_PENDING, _RUNNING, _DONE = MetricJob.Status.PENDING, MetricJob.Status.RUNNING, MetricJob.Status.DONE
logger = logging.getLogger(__name__)


class Companion(NamedTuple):
    pk: int
    preparation_ids: list[int]


def claim(job: MetricJob) -> list[Companion]:
    """Claim the pending stand-alone incremental jobs other than ``job`` (none unless ``job`` is one itself)."""
    if job.kind != MetricJob.Kind.INCREMENTAL or job.parent_id is not None:
        return []
    waiting = MetricJob.objects.filter(status=_PENDING, kind=MetricJob.Kind.INCREMENTAL, parent__isnull=True)
    stamp = timezone.now()
    with transaction.atomic():
        # Locked until this commits: another worker's claim of one of them waits, then finds it running.
        candidates = list(
            waiting.exclude(pk=job.pk)
            .order_by("pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:MAX_COMPANIONS]
        )
        if not candidates:
            return []
        waiting.filter(pk__in=candidates).update(status=_RUNNING, started_at=stamp, attempts=F("attempts") + 1)
        claimed = MetricJob.objects.filter(pk__in=candidates, status=_RUNNING, started_at=stamp)
        return [Companion(pk, ids) for pk, ids in claimed.order_by("pk").values_list("pk", "preparation_ids")]


def together(ids: list[int], companions: list[Companion]) -> list[int]:
    """The job's preparations, then those only its companions name, each once."""
    seen = set(ids)
    union = list(ids)
    for companion in companions:
        for pk in companion.preparation_ids:
            if pk not in seen:
                seen.add(pk)
                union.append(pk)
    return union


def finish(companions: list[Companion], finished_at) -> None:
    """Inside the transaction that marks the claiming job done: its companions are done with it."""
    if companions:
        MetricJob.objects.filter(pk__in=[c.pk for c in companions], status=_RUNNING).update(
            status=_DONE, finished_at=finished_at, processed=F("total")
        )


def release(companions: list[Companion]) -> None:
    """The claiming job failed: its companions wait again, for the sweeper to send them."""
    if not companions:
        return
    try:
        MetricJob.objects.filter(pk__in=[c.pk for c in companions], status=_RUNNING).update(
            status=_PENDING, queued_at=None
        )
    except Exception:
        logger.warning("metric jobs %s left running; the sweeper will recover them", [c.pk for c in companions])
