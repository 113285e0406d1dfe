"""Celery tasks of evlims. Each one is a thin adapter: ids in, a service or selector call, a small result out.

Tasks are safe to run twice (``acks_late`` redelivers a task whose worker died mid-way) and retry with
exponential backoff when the database is briefly unreachable. Enqueue them after the surrounding
transaction commits (``task.delay_on_commit(...)`` or :func:`enqueue_on_commit`) so a worker never looks
for rows that are not visible yet.
"""

import logging

from celery import shared_task
from celery.utils import uuid
from django.db import InterfaceError, OperationalError, transaction

from .core import audit_anchors
from .core.audit import verify_chain
from .core.integrity import history_problems
from .core.models import AuditChainHead, AuditEvent

logger = logging.getLogger(__name__)

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
    """Everything the audit verification finds, in plain words naming the event or record:

    - the chain: edited events (their seal no longer matches), events forged without the key, removed events,
      events sealed with a key that is not configured;
    - the chain head: the newest events removed (the head still names the old newest event);
    - the anchors kept outside the database (``core.audit_anchors``): forged anchor lines, anchored events
      removed or rewritten (the tail cut back with the head moved, every event deleted), and anchoring that
      stopped;
    - records whose row disagrees with their latest history entry (``core.integrity``);
    - signatures that disagree with what they signed or with their audit event, and review states that
      disagree with the audit trail (``review.integrity``).
    """
    from .review.integrity import review_state_problems, signature_problems

    anchors, problems = audit_anchors.read_anchors()
    events = AuditEvent.objects.order_by("id").iterator(chunk_size=AUDIT_WALK_CHUNK)
    problems += verify_chain(events, anchors=anchors)
    newest = AuditEvent.objects.order_by("-id").values_list("entry_hash", flat=True).first() or ""
    head = AuditChainHead.objects.filter(id=1).values_list("last_hash", flat=True).first() or ""
    if head != newest:
        problems.append(
            "chain head: the newest recorded hash does not match the newest event "
            "(the most recent events were removed or the head was altered)."
        )
    problems += audit_anchors.unanchored_problems(anchors)
    problems += history_problems()
    problems += signature_problems()
    problems += review_state_problems()
    return problems


@shared_task(name="evlims.tasks.verify_audit_trail", **RETRY_POLICY)
def verify_audit_trail() -> int:
    """Walk the whole audit trail and return how many problems it has (0 for an intact trail)."""
    problems = audit_trail_problems()
    for problem in problems:
        logger.error("Audit trail: %s", problem)
    return len(problems)


@shared_task(name="evlims.tasks.anchor_audit_trail", **RETRY_POLICY)
def anchor_audit_trail() -> int | None:
    """Append an anchor of the audit trail to the anchor folder; returns the number of events it covers
    (None, and a warning in the log, on a site without ``EVLIMS_AUDIT_ANCHOR_DIR``)."""
    if audit_anchors.anchor_dir() is None:
        logger.warning("Audit trail: EVLIMS_AUDIT_ANCHOR_DIR is not set, no anchor written.")
        return None
    anchor, _ = audit_anchors.write_anchor()
    return anchor["count"]


def enqueue_on_commit(task, *, args=(), kwargs=None, **options) -> str:
    """Send ``task`` once the current transaction commits and return the id it will run under.

    Takes what ``apply_async`` takes (``queue``, ``countdown``…). Unlike ``delay_on_commit`` the caller
    gets the task id up front, to store on the row that tracks the job or to wait for the result.
    """
    task_id = uuid()
    transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs, task_id=task_id, **options))
    return task_id
