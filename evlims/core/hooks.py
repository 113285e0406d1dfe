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
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction

from .registry import receiver_key


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
    for (receiver, record), state in zip(receivers, recorded, strict=True):
        if record is None:
            receiver(ordered)
        else:
            receiver(ordered, state)


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
