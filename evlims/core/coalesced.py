"""Tasks that bring labs or preparations up to date, sent at most once for each while one waits for a worker.

Some follow-ups of a change read the state as it is when they run: rendering a lab's dashboards, judging its
control charts, evaluating a preparation's evidence against the rule sets. One run that starts after the last
change does the work of one run per change, and at line rate (an instrument posting hundreds of results a
second, each finishing a metric job) one per change would queue work no worker can keep up with
(docs/performance.md, "Result posts over HTTP").

The sender marks each lab (or preparation) pending in the shared cache: ``cache.add`` lets only the first sender
of a burst through, and that one sends the task. The task clears its marks as it starts, before reading anything,
so a change that commits after that sends a task of its own: every change is followed by a run that starts
after it. A mark whose message never reached a worker expires after ``PENDING_SECONDS``; a send the broker
refuses clears the marks it made. When the cache cannot answer (an outage, which the production cache turns
into ``None``), the task is sent as if nothing were pending. Where the worker cannot read the sender's marks (a
host whose default cache is each process's own memory, Django's ``LocMemCache``, with tasks run by a worker), no
mark is made and every task is sent.
"""

from collections.abc import Iterable

from celery import current_app
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache

PENDING_SECONDS = 300


def _key(task, pk: int) -> str:
    return f"evlims:coalesced:{task.name}:{pk}"


def send_for_labs(task, lab_ids: Iterable[int]) -> list[int]:
    """``task.delay(labs)`` for the labs that have no run of ``task`` waiting; returns the labs sent."""
    pending = mark_waiting(task, lab_ids)
    if not pending:
        return []
    try:
        task.delay(pending)
    except BaseException:
        unmark(task, pending)
        raise
    return pending


def mark_waiting(task, ids: Iterable[int]) -> list[int]:
    """Mark a run of ``task`` waiting for each of ``ids``; returns those that had none (a run must be sent for
    them, and ``unmark`` them if it cannot be). ``ids`` are whatever the task is run for: labs, preparations."""
    if not marks_reach_the_worker():
        return list(ids)
    keys = {pk: _key(task, pk) for pk in ids}
    # add() is False when the mark is there; None when the cache could not be asked.
    return [pk for pk, key in keys.items() if cache.add(key, True, PENDING_SECONDS) is not False]


def unmark(task, ids: Iterable[int]) -> None:
    """The run sent for ``ids`` never reached the broker: the next change sends one."""
    if marks_reach_the_worker():
        cache.delete_many([_key(task, pk) for pk in ids])


def marks_reach_the_worker() -> bool:
    """A mark can only hold a message back when the process that runs the task clears it in the cache the sender
    wrote it to: a cache the processes share (Redis, Memcached, a database or files), or tasks run where they are
    sent (eager: tests, the embedded demo). With each process's own memory for a cache and a real worker, a mark
    would hold every later message back until it expired."""
    # The cache first: a shared one (production) answers without a lookup in Celery's configuration, which costs
    # tens of microseconds on every post.
    return not isinstance(caches["default"], LocMemCache) or bool(current_app.conf.task_always_eager)


def started(task, ids: Iterable[int]) -> None:
    """Called first by ``task`` with the ids it runs for: changes from now on send it again."""
    unmark(task, ids)
