"""Celery tasks of evlims. Each one is a thin adapter: ids in, a service or selector call, a small result out.

Tasks are safe to run twice (``acks_late`` redelivers a task whose worker died mid-way) and retry with
exponential backoff when the database is briefly unreachable. Enqueue them after the surrounding
transaction commits (``task.delay_on_commit(...)`` or :func:`enqueue_on_commit`) so a worker never looks
for rows that are not visible yet.
"""

from celery import shared_task
from celery.utils import uuid
from django.db import InterfaceError, OperationalError, transaction

from .core.audit import verify_chain
from .core.models import AuditChainHead, AuditEvent

# Connection drops and lock timeouts pass; programming errors do not, so only these are retried.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
RETRY_POLICY = {
    "acks_late": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 6,
}

# Events are read in pages so the walk over a long trail keeps memory flat.
AUDIT_WALK_CHUNK = 2000


def audit_trail_problems() -> list[str]:
    """Every break in the audit hash chain: edited events, removed events, and a removed newest event.

    ``verify_chain`` sees edits and gaps between events; only the chain head remembers the newest hash,
    so comparing the two is what reveals a deleted tail.
    """
    events = AuditEvent.objects.order_by("id").iterator(chunk_size=AUDIT_WALK_CHUNK)
    problems = verify_chain(events)
    newest = AuditEvent.objects.order_by("-id").values_list("entry_hash", flat=True).first() or ""
    head = AuditChainHead.objects.filter(id=1).values_list("last_hash", flat=True).first() or ""
    if head != newest:
        problems.append(
            "chain head: the newest recorded hash does not match the newest event "
            "(the most recent events were removed or the head was altered)."
        )
    return problems


@shared_task(name="evlims.tasks.verify_audit_trail", **RETRY_POLICY)
def verify_audit_trail() -> int:
    """Walk the whole audit trail and return how many problems it has (0 for an intact trail)."""
    return len(audit_trail_problems())


def enqueue_on_commit(task, *, args=(), kwargs=None, **options) -> str:
    """Send ``task`` once the current transaction commits and return the id it will run under.

    Takes what ``apply_async`` takes (``queue``, ``countdown``…). Unlike ``delay_on_commit`` the caller
    gets the task id up front, to store on the row that tracks the job or to wait for the result.
    """
    task_id = uuid()
    transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs, task_id=task_id, **options))
    return task_id
