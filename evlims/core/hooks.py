"""What happens after the evidence of preparations changes, without the domains knowing who does it.

Services that change evidence (a result, a recorded run step, a completed run, an edited sample) call
``preparations_changed(ids)`` inside their transaction. The work that follows (compliance re-evaluated, yield
and purity recomputed) lives in the compliance and metrics domains above them, which register it in
``EvlimsConfig.ready()``::

    on_evidence_changed.register(queue_refresh)                                  # after commit
    on_evidence_changed.register(queue_change, record=record_change)             # and inside the transaction

All the changes of one transaction are gathered: a receiver's ``record(ids, recorded)`` runs inside the
transaction each time the set of changed preparations grows (what it writes, such as a metric job row,
commits or rolls back with the change; it returns what it recorded, None on its first call); every receiver
runs once when the transaction commits, with all the preparations it changed (``receiver(ids)``, or
``receiver(ids, recorded)`` when it records). A bulk import or the demo loader thus queues one compliance
refresh and one metric job, not one per preparation. Outside a transaction (autocommit) both run at once.

Receivers send their Celery tasks with ``send_task``: the tasks the receivers of one commit send travel to the
broker as ONE message (``run_together``), which the worker unpacks, running each task as if it had come alone
(its own request, retries and back-off). One message per result post instead of two: half the broker's work and
one send less on the request. Only where they would share a queue anyway: with ``CELERY_TASK_ROUTES`` set (the
refreshes on an ``ingest`` queue, recomputes on ``metrics``), or with eager tasks, each is sent by itself.
"""

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from celery import shared_task
from celery.exceptions import Retry
from celery.utils import uuid
from django.db import transaction

from .broker import BROKER_ERRORS
from .registry import receiver_key

logger = logging.getLogger(__name__)


class EvidenceHook:
    """Receivers of the preparations changed by one transaction, called once it commits."""

    def __init__(self):
        self._receivers: dict[str, tuple[Callable, Callable | None]] = {}

    def register(self, receiver: Callable, *, record: Callable | None = None) -> Callable:
        """Register ``receiver`` (called after commit) and, optionally, ``record`` (called inside the transaction).
        Registering the same receiver again replaces it."""
        self._receivers[receiver_key(receiver)] = (receiver, record)
        return receiver

    def receivers(self) -> list[tuple[Callable, Callable | None]]:
        return list(self._receivers.values())


on_evidence_changed = EvidenceHook()


class _Pending:
    """Preparations changed in the current transaction, and what each receiver recorded for them so far."""

    def __init__(self, receivers):
        self.ids: set[int] = set()
        self.receivers = receivers
        self.recorded: list[Any] = [None] * len(receivers)

    def add(self, ids) -> None:
        self.ids.update(ids)
        ordered = sorted(self.ids)
        for index, (_, record) in enumerate(self.receivers):
            if record is not None:
                self.recorded[index] = record(ordered, self.recorded[index])

    def flush(self) -> None:
        _deliver(sorted(self.ids), self.receivers, self.recorded)


def _deliver(ordered: list[int], receivers, recorded) -> None:
    _sending.calls = calls = [] if _may_send_together() else None
    try:
        for (receiver, record), state in zip(receivers, recorded, strict=True):
            if record is None:
                receiver(ordered)
            else:
                receiver(ordered, state)
    finally:
        _sending.calls = None
        if calls:  # what the receivers before a failing one sent still goes
            _send_together(calls)


# The sends of the receivers being delivered in this thread, gathered to go as one message (None: send at once).
_sending = threading.local()


def _may_send_together() -> bool:
    """One message can carry the tasks of a commit when they would all go to one queue: no task routes, no eager
    execution (tests, the embedded demo: each task runs where it is sent)."""
    conf = run_together.app.conf
    return not conf.task_always_eager and not conf.task_routes


def send_task(task, *args, unsent: Callable[[], None] | None = None) -> None:
    """Send ``task(*args)`` from a receiver of ``on_evidence_changed``: gathered with the other receivers' tasks
    into one message when they share a queue, else sent at once. When the broker cannot be reached ``unsent()`` is
    called (the change is saved; the sweepers catch up), or, without it, the broker's error is raised."""
    calls = getattr(_sending, "calls", None)
    if calls is not None and getattr(task, "queue", None) is None:
        calls.append((task, args, unsent))
        return
    try:
        task.delay(*args)
    except BROKER_ERRORS:
        if unsent is None:
            raise
        unsent()


def _send_together(calls) -> None:
    """One message for the gathered sends (a single one goes as itself); each one's ``unsent`` if it fails."""
    try:
        if len(calls) == 1:
            task, args, _ = calls[0]
            task.delay(*args)
        else:
            run_together.delay([[task.name, list(args)] for task, args, _ in calls])
    except BROKER_ERRORS:
        for _, _, unsent in calls:
            if unsent is not None:
                unsent()
        if any(unsent is None for _, _, unsent in calls):
            raise


@shared_task(bind=True, name="evlims.core.hooks.run_together", acks_late=True, soft_time_limit=2400, time_limit=2700)
def run_together(self, calls: list):
    """Run the tasks one commit sent as one message, in order, each under a request of its own as if it had come
    alone: a retry (``autoretry_for``, ``self.retry``) sends that task again by itself with its own back-off, and
    a redelivered message (its worker died) is redelivered for each. A task that fails does not stop the others;
    the first failure is raised at the end. The time limits cover the compliance refresh's and the metric job's
    together (600 + 1,800 s soft)."""
    failure = None
    for name, args in calls:
        task = self.app.tasks[name]
        task.push_request(
            id=uuid(),
            args=args,
            kwargs={},
            retries=0,
            called_directly=False,
            is_eager=False,  # a retry is sent (run at once where tasks are eager)
            delivery_info=self.request.delivery_info,
            hostname=self.request.hostname,
            root_id=self.request.root_id,
            parent_id=self.request.id,
        )
        try:
            task.run(*args)
        except Retry:
            logger.info("%s sent again by itself to retry.", name)
        except Exception as error:
            logger.exception("%s failed.", name)
            failure = failure or error
        finally:
            task.pop_request()
    if failure is not None:
        raise failure


def _pending(connection, receivers) -> _Pending:
    pending = getattr(connection, "_evlims_pending_evidence", None)
    # A pending batch belongs to the transaction whose commit hooks still hold its flush; after that
    # transaction committed or rolled back (or the savepoint that registered it did), a new one starts.
    if pending is None or not any(hook[1] == pending.flush for hook in connection.run_on_commit):
        pending = _Pending(receivers)
        connection._evlims_pending_evidence = pending
        transaction.on_commit(pending.flush)
    return pending


def preparations_changed(preparation_ids: Iterable) -> None:
    """The evidence of these preparations changed: what follows runs once the current transaction commits."""
    ids = {int(pk) for pk in preparation_ids if pk is not None}
    receivers = on_evidence_changed.receivers()
    if not ids or not receivers:
        return
    connection = transaction.get_connection()
    if not connection.in_atomic_block:  # autocommit: nothing to gather, everything runs straight away
        ordered = sorted(ids)
        recorded = [record(ordered, None) if record is not None else None for _, record in receivers]
        _deliver(ordered, receivers, recorded)
        return
    _pending(connection, receivers).add(ids)
