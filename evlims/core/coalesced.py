"""Tasks that bring labs up to date, sent at most once per lab while one is waiting for a worker.

Some follow-ups of a change read the lab's state as it is when they run: rendering its dashboards, judging its
control charts. One run that starts after the last change does the work of one run per change, and at line rate
(an instrument posting hundreds of results a second, each finishing a metric job) one per change would queue
work no worker can keep up with (docs/performance.md, "Result posts over HTTP").

The sender marks each lab pending in the shared cache: ``cache.add`` lets only the first sender of a burst
through, and that one sends the task. The task clears its labs' marks as it starts, before reading anything,
so a change that commits after that sends a task of its own: every change is followed by a run that starts
after it. A mark whose message never reached a worker expires after ``PENDING_SECONDS``; a send the broker
refuses clears the marks it made. When the cache cannot answer (an outage, which the production cache turns
into ``None``), the task is sent as if nothing were pending.
"""

from collections.abc import Iterable

from django.core.cache import cache

PENDING_SECONDS = 300


def _key(task, lab_id: int) -> str:
    return f"evlims:coalesced:{task.name}:{lab_id}"


def send_for_labs(task, lab_ids: Iterable[int]) -> list[int]:
    """``task.delay(labs)`` for the labs that have no run of ``task`` waiting; returns the labs sent."""
    keys = {lab_id: _key(task, lab_id) for lab_id in lab_ids}
    # add() is False when the mark is there; None when the cache could not be asked.
    pending = [lab_id for lab_id, key in keys.items() if cache.add(key, True, PENDING_SECONDS) is not False]
    if not pending:
        return []
    try:
        task.delay(pending)
    except BaseException:
        cache.delete_many([keys[lab_id] for lab_id in pending])
        raise
    return pending


def started(task, lab_ids: Iterable[int]) -> None:
    """Called first by ``task``: changes from now on send it again."""
    cache.delete_many([_key(task, lab_id) for lab_id in lab_ids])
