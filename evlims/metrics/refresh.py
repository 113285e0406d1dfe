"""Metric jobs for changed evidence: the receiver ``EvlimsConfig.ready()`` registers on
``evlims.core.hooks.on_evidence_changed``.

All the preparations one transaction changes go into ONE incremental job row, written inside that transaction
(so it is never lost: a broker outage leaves it pending for the sweeper) and sent to the workers when it
commits.
"""

from django.utils import timezone

from ..core.rows import row_insert
from .models import MetricJob
from .services import queue_job
from .services._companions import send_wanted


def record_change(preparation_ids: list[int], job_id: int | None) -> int:
    """Inside the transaction: the job row that will recompute these preparations (created on the first change,
    its list updated on the next ones). Returns its id.

    The row is stamped as queued here, in the transaction that writes it, so that sending it after commit is no
    further write (on SQLite, a second commit per result post). A row that never reaches the broker (the process
    stopped between commit and send) is pending with an old queued time, which the sweeper sends again; a send
    the broker refuses clears the stamp as before."""
    now = timezone.now()
    if job_id is None:  # MetricJob.objects.create(…) in one prepared statement: no signal listens to metric jobs
        job = MetricJob(
            kind=MetricJob.Kind.INCREMENTAL, preparation_ids=preparation_ids, total=len(preparation_ids), queued_at=now
        )
        return row_insert(job).pk
    MetricJob.objects.filter(pk=job_id).update(preparation_ids=preparation_ids, total=len(preparation_ids))
    return job_id


def queue_change(preparation_ids: list[int], job_id: int) -> None:
    """After commit: send the job ``record_change`` wrote, with no read of it first.

    The row is always there when this runs: it is written in the same savepoint as the commit hook that calls
    this (``core.hooks`` registers the hook, then records), and rolling a savepoint back drops the commit hooks
    registered inside it (Django's ``savepoint_rollback``), so a rolled-back row never reaches here; the next
    change in the transaction registers a new hook and writes a new row. Pending rows are never deleted. While a
    run that takes every waiting change is itself waiting for a worker, nothing is sent: that run takes this job
    (services._companions)."""
    if send_wanted():  # else a run that takes every waiting change is itself waiting for a worker
        queue_job(job_id, stamped=True)
