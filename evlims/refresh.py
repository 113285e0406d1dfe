"""What happens after the evidence of preparations changes: their compliance and metrics are refreshed.

Services that change evidence call ``preparations_changed`` inside their transaction. All the changes of
one transaction are gathered into ONE metric job row (written in that transaction, so it is never lost)
and ONE compliance refresh, both queued when the transaction commits: a bulk import or the demo loader
queues two tasks, not two per preparation.
"""

from django.db import transaction

from .compliance.tasks import queue_refresh
from .metrics.models import MetricJob
from .metrics.services import queue_job


class _PendingRefresh:
    """Preparations changed in the current transaction, and the job row that will recompute them."""

    def __init__(self):
        self.ids: set[int] = set()
        self.job = MetricJob.objects.create(kind=MetricJob.Kind.INCREMENTAL)

    def add(self, ids) -> None:
        self.ids.update(ids)
        ordered = sorted(self.ids)
        MetricJob.objects.filter(pk=self.job.pk).update(preparation_ids=ordered, total=len(ordered))

    def flush(self) -> None:
        ordered = sorted(self.ids)
        if not MetricJob.objects.filter(pk=self.job.pk).exists():  # its savepoint was rolled back
            self.job = MetricJob.objects.create(
                kind=MetricJob.Kind.INCREMENTAL, preparation_ids=ordered, total=len(ordered)
            )
        queue_refresh(ordered)
        queue_job(self.job.pk)


def _pending(connection) -> _PendingRefresh:
    pending = getattr(connection, "_evlims_pending_refresh", None)
    # A pending refresh belongs to the transaction whose commit hooks still hold its flush; after that
    # transaction committed or rolled back, a new one starts.
    if pending is None or not any(hook[1] == pending.flush for hook in connection.run_on_commit):
        pending = _PendingRefresh()
        connection._evlims_pending_refresh = pending
        transaction.on_commit(pending.flush)
    return pending


def preparations_changed(preparation_ids) -> None:
    ids = {int(pk) for pk in preparation_ids if pk is not None}
    if not ids:
        return
    connection = transaction.get_connection()
    if not connection.in_atomic_block:  # autocommit: nothing to gather, queue straight away
        queue_refresh(sorted(ids))
        queue_job(
            MetricJob.objects.create(kind=MetricJob.Kind.INCREMENTAL, preparation_ids=sorted(ids), total=len(ids)).pk
        )
        return
    _pending(connection).add(ids)
