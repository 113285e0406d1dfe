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

Since a waiting run takes every pending change with it, a change committed while such a run waits for a worker
sends no message of its own (``send_wanted``): one mark in the shared cache (``core.coalesced``) says a run is
waiting, and each run clears it before it claims, so a change that commits after that sends again. A delivery
whose own job another run already took still takes the changes waiting (``claim_waiting``): they may be the
ones its mark held back. A change held back whose run is lost is pending with its queued time, and the sweeper
sends it after ``STALE_AFTER``, as it sends any job whose message was lost.
"""

import logging
from types import SimpleNamespace
from typing import NamedTuple

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ...core import coalesced
from ..models import MetricJob

MAX_COMPANIONS = 500
_PENDING, _RUNNING, _DONE = MetricJob.Status.PENDING, MetricJob.Status.RUNNING, MetricJob.Status.DONE
logger = logging.getLogger(__name__)
# One mark for every lab: a run claims the waiting changes of any lab (core.coalesced keys it by this name).
_TAKER, _ALL = SimpleNamespace(name="evlims.metrics.change-jobs-taken-together"), (0,)


class Companion(NamedTuple):
    pk: int
    preparation_ids: list[int]


def send_wanted() -> bool:
    """After a change commits: False when a run that will take its job with it waits for a worker already (the
    job is then left pending, with its queued time, for that run); True, marking one waiting, when its message
    must go. ``send_failed`` when that message does not reach the broker."""
    return bool(coalesced.mark_waiting(_TAKER, _ALL))


def send_failed() -> None:
    coalesced.unmark(_TAKER, _ALL)


def taking_started() -> None:
    """A run is about to claim the waiting changes: the next change's message is sent again."""
    coalesced.started(_TAKER, _ALL)


def takes_waiting(job: MetricJob) -> bool:
    """A stand-alone change's job: its run takes the changes waiting behind it."""
    return job.kind == MetricJob.Kind.INCREMENTAL and job.parent_id is None


def claim(job: MetricJob) -> list[Companion]:
    """Claim the pending stand-alone incremental jobs other than ``job`` (none unless ``job`` is one itself)."""
    return claim_waiting(exclude=job.pk) if takes_waiting(job) else []


def claim_waiting(*, exclude: int | None = None) -> list[Companion]:
    """Claim the pending stand-alone incremental jobs (oldest first, up to ``MAX_COMPANIONS``) but ``exclude``."""
    taking_started()  # before the read: a change committed from now on sends its own message
    waiting = MetricJob.objects.filter(status=_PENDING, kind=MetricJob.Kind.INCREMENTAL, parent__isnull=True)
    stamp = timezone.now()
    with transaction.atomic():
        # Locked until this commits: another worker's claim of one of them waits, then finds it running.
        candidates = list(
            (waiting if exclude is None else waiting.exclude(pk=exclude))
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


def next_waiting(companions: list[Companion]) -> int | None:
    """After a pass that took ``MAX_COMPANIONS``: the oldest change still waiting, whose message the mark may have
    held back (the caller sends it), or None."""
    if not companions or len(companions) < MAX_COMPANIONS:
        return None
    waiting = MetricJob.objects.filter(status=_PENDING, kind=MetricJob.Kind.INCREMENTAL, parent__isnull=True)
    return waiting.order_by("pk").values_list("pk", flat=True).first()


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
