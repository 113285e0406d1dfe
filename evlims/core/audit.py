"""Writing the audit trail. Services call ``record_event`` inside their transaction."""

import datetime as dt
import decimal
import hashlib
import json

from django.db import transaction
from django.utils import timezone

from .context import current_request_id
from .models import AuditChainHead, AuditEvent


def _jsonable(value):
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if hasattr(value, "pk"):
        return value.pk
    return value


def diff_fields(before: dict, after: dict) -> dict:
    """Changed fields as {field: [before, after]}, JSON-ready."""
    return {
        name: [_jsonable(before.get(name)), _jsonable(after.get(name))]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def snapshot(instance, fields) -> dict:
    return {name: _jsonable(getattr(instance, name)) for name in fields}


def _entry_hash(previous_hash: str, payload: dict) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((previous_hash + canonical).encode()).hexdigest()


def hashed_payload(event: AuditEvent) -> dict:
    """The fields covered by the hash chain (everything but the hashes themselves)."""
    return {
        "lab": event.lab_id,
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "changes": event.changes,
        "reason": event.reason,
        "request_id": event.request_id,
    }


def actor_label(actor) -> str:
    """A user's username; for machine actors (instruments) their kind and name."""
    if actor is None:
        return "system"
    if hasattr(actor, "get_username"):
        return actor.get_username()
    return f"{actor._meta.model_name}:{actor}"


def record_event(*, actor, action: str, obj, lab=None, changes=None, reason: str = "") -> AuditEvent:
    """Append one audit event. Must run inside the caller's transaction (atomic block)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Audit events are written inside the service's transaction.")
    # Appends are serialised on one head row, so two writers cannot both extend the same tail.
    AuditChainHead.objects.get_or_create(id=1)
    head = AuditChainHead.objects.select_for_update().get(id=1)
    event = AuditEvent(
        lab=lab if lab is not None else getattr(obj, "lab", None),
        occurred_at=timezone.now(),
        actor=actor if hasattr(actor, "get_username") and actor.pk else None,
        actor_label=actor_label(actor),
        action=action,
        object_type=obj._meta.model_name,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        changes=changes or {},
        reason=reason or "",
        request_id=current_request_id(),
        previous_hash=head.last_hash,
    )
    event.entry_hash = _entry_hash(event.previous_hash, hashed_payload(event))
    event.save(force_insert=True)
    head.last_hash = event.entry_hash
    head.save(update_fields=["last_hash"])
    return event


def verify_chain(events) -> list[str]:
    """Problems found walking events in id order: edited rows and broken links (deleted rows)."""
    problems = []
    previous = ""
    for event in events:
        if event.previous_hash != previous:
            problems.append(f"event {event.pk}: link to the previous event is broken (an event was removed).")
        if _entry_hash(event.previous_hash, hashed_payload(event)) != event.entry_hash:
            problems.append(f"event {event.pk}: content does not match its hash (the event was edited).")
        previous = event.entry_hash
    return problems
