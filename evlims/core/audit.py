"""Writing the audit trail. Services call ``record_event`` inside their transaction.

Every write of the site appends to one chain, whose head is locked from an append to the end of its transaction:
the site's writes pass it one at a time. A service whose transaction has more statements after its events can
open ``appended_last()`` around them, so that its events are appended as the transaction's last statements and
the head is held for the shortest time (docs/performance.md, "Capacity past one machine").

Each event is sealed with HMAC-SHA256 under a key kept outside the database (``audit_keys``), over the seal of
the event before it and the event's own fields: someone who can write to the database but does not hold the
key can neither edit an event nor append one without the seals showing it. Events written before the trail
was keyed (``key_id`` "") carry a plain SHA-256 and still verify; a plain one after a sealed one is a forgery.
"""

import datetime as dt
import decimal
import hashlib
from collections import deque
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import audit_keys
from .actors import actor_label, person_or_none
from .canonical import canonical_json
from .context import current_request_id
from .models import AuditChainHead, AuditEvent
from .rows import row_insert


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


def _entry_hash(previous_hash: str, payload: dict, key: bytes | None = None) -> str:
    """The seal of an event: HMAC-SHA256 under ``key``, or plain SHA-256 for the events before keying."""
    return _sealed(previous_hash, canonical_json(payload), key)


def _sealed(previous_hash: str, payload_json: str, key: bytes | None) -> str:
    message = previous_hash + payload_json
    if key is None:
        return hashlib.sha256(message.encode()).hexdigest()
    return audit_keys.seal(key, message)


def hashed_payload(event: AuditEvent) -> dict:
    """The fields covered by the chain (everything but the hashes; the key id too, for sealed events)."""
    payload = {
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
    if event.key_id:
        payload["key_id"] = event.key_id
    return payload


def _locked_head() -> AuditChainHead:
    """The chain's head row, locked until the caller's transaction ends: appends are serialised on it, so two
    writers cannot both extend the same tail. One query once the row exists (it is created with the first event;
    a concurrent creator's row is taken, locked, after the conflict)."""
    head = AuditChainHead.objects.select_for_update().filter(id=1).first()
    if head is None:
        AuditChainHead.objects.get_or_create(id=1)
        head = AuditChainHead.objects.select_for_update().get(id=1)
    return head


# The head's read and write as the ORM composes them, composed once per database: building the two statements
# cost more than running them (0.27 ms of a 0.58 ms event on SQLite). No signal listens to the head row.
_head_statements: dict[tuple[str, str], tuple[str, tuple, str]] = {}


def _head_sql(connection) -> tuple[str, tuple, str]:
    """(read, its parameters, write): ``_locked_head``'s read of the last hash alone and ``save(update_fields=
    ["last_hash"])``'s UPDATE."""
    statements = _head_statements.get((connection.alias, connection.vendor))
    if statements is None:
        read = AuditChainHead.objects.using(connection.alias).select_for_update().filter(id=1).order_by("pk")[:1]
        sql, params = read.values_list("last_hash").query.get_compiler(connection=connection).as_sql()
        quote = connection.ops.quote_name
        table = quote(AuditChainHead._meta.db_table)
        write = f"UPDATE {table} SET {quote('last_hash')} = %s WHERE {table}.{quote('id')} = %s"
        statements = (sql, tuple(params), write)
        _head_statements[(connection.alias, connection.vendor)] = statements
    return statements


def _locked_last_hash(connection) -> str:
    """The last hash of the chain, read as ``_locked_head`` reads it (the row locked, created when missing)."""
    sql, params, _ = _head_sql(connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return _locked_head().last_hash if row is None else row[0]


def _move_head(connection, last_hash: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_head_sql(connection)[2], (last_hash, 1))


def record_event(*, actor, action: str, obj, lab=None, changes=None, reason: str = "") -> AuditEvent:
    """Append one audit event. Must run inside the caller's transaction (atomic block)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("Audit events are written inside the service's transaction.")
    key_id, key = audit_keys.current_key()
    event = AuditEvent(
        lab=lab if lab is not None else getattr(obj, "lab", None),
        occurred_at=timezone.now(),
        actor=person_or_none(actor),
        actor_label=actor_label(actor),
        action=action,
        object_type=obj._meta.model_name,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        changes=changes or {},
        reason=reason or "",
        request_id=current_request_id(),
        key_id=key_id,
    )
    # Everything but the link to the chain is made before the head is locked.
    sealing = (event, canonical_json(hashed_payload(event)), key)
    deferred = getattr(connection, _PENDING, None)
    # Inside a savepoint opened within the block, the event is written now: the savepoint's rollback must take it.
    if deferred is not None and _savepoints(connection) == deferred[1]:
        deferred[0].append(sealing)
    else:
        _append(connection, [sealing])
    return event


# The events of an ``appended_last`` block not yet appended, on the connection whose transaction holds them.
_PENDING = "evlims_audit_pending"


@contextmanager
def appended_last():
    """Events recorded inside the block are appended to the chain when it ends (still inside the caller's
    transaction, which must be open): the chain's head is then locked only for their append and the commit. An
    error inside the block appends nothing (the transaction it leaves rolls back). Nested blocks append with the
    outermost; an event recorded inside a savepoint opened in the block is appended at once, with the savepoint."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("Audit events are written inside the service's transaction.")
    if getattr(connection, _PENDING, None) is not None:
        yield
        return
    pending: list = []
    setattr(connection, _PENDING, (pending, _savepoints(connection)))
    try:
        yield
    finally:
        setattr(connection, _PENDING, None)
    _append(connection, pending)


def _savepoints(connection) -> int:
    """Savepoints open now (an ``atomic(savepoint=False)`` block counts as None in Django's list, and rolls back
    with its caller)."""
    return sum(1 for savepoint in connection.savepoint_ids if savepoint is not None)


def _append(connection, sealings) -> None:
    """Link each (event, its payload as canonical JSON, key) to the chain in order, the head locked by the first
    read until the transaction ends."""
    if not sealings:
        return
    last_hash = _locked_last_hash(connection)
    for event, payload_json, key in sealings:
        event.previous_hash = last_hash
        event.entry_hash = last_hash = _sealed(last_hash, payload_json, key)
        append_event(event)
    _move_head(connection, last_hash)


def append_event(event: AuditEvent) -> None:
    """Insert the new event's row: one prepared statement (``core.rows``), as on every instrument post, where
    the ORM's building of the insert cost more than running it; only ever an insert, as ``AuditEvent.save``."""
    if not event._state.adding:
        raise ValueError(f"Audit event {event.pk} is stored; the audit trail is append-only.")
    row_insert(event)


def verify_chain(events, *, anchors=(), keys=None) -> list[str]:
    """Problems found walking events in id order: edited, forged and removed events.

    ``anchors`` (``audit_anchors.read_anchors``) are states of the trail recorded outside the database, each
    with ``last_id``, ``last_hash``, ``count`` and ``label``: the event each names must still be there with
    the seal it had, with at least as many events up to it. ``keys`` defaults to the configured ones.
    """
    keys = audit_keys.verification_keys() if keys is None else keys
    # Where the site says so, unsealed events are accepted only up to this id (written before keying).
    unkeyed_until = getattr(settings, "EVLIMS_AUDIT_UNKEYED_UNTIL", None)
    pending = deque(sorted((a for a in anchors if a.last_id is not None), key=lambda a: a.last_id))
    problems = []
    previous = ""
    first_sealed = None
    position = 0
    for event in events:
        position += 1
        while pending and pending[0].last_id < event.pk:
            problems.append(_anchored_event_missing(pending.popleft(), "the event was removed"))
        if event.previous_hash != previous:
            problems.append(f"event {event.pk}: link to the previous event is broken (an event was removed).")
        problems += _seal_problems(event, keys, first_sealed, unkeyed_until)
        if event.key_id and first_sealed is None:
            first_sealed = event.pk
        while pending and pending[0].last_id == event.pk:
            problems += _anchor_mismatches(pending.popleft(), event, position)
        previous, last_id = event.entry_hash, event.pk
    if pending and position == 0:
        newest = max(pending, key=lambda a: (a.last_id, a.count))
        problems.append(
            f"the audit trail is empty, but {len(pending)} anchor(s) recorded events, the newest "
            f"({newest.label}) {newest.count} event(s) up to event {newest.last_id} (every event was deleted)."
        )
    elif pending:
        reason = f"the newest events were removed; the trail now ends at event {last_id}"
        problems.append(_anchored_event_missing(pending.popleft(), reason, later=len(pending)))
    return problems


def _seal_problems(event, keys: dict, first_sealed, unkeyed_until) -> list[str]:
    payload = hashed_payload(event)
    if not event.key_id:
        if first_sealed is not None:
            return [
                f"event {event.pk}: carries no key seal although event {first_sealed} before it does "
                "(the event was forged or rewritten without the key)."
            ]
        if unkeyed_until is not None and event.pk > unkeyed_until:
            return [
                f"event {event.pk}: carries no key seal, but only events up to {unkeyed_until} were written before "
                "the trail was keyed (EVLIMS_AUDIT_UNKEYED_UNTIL); the event was forged or rewritten without the key."
            ]
        if _entry_hash(event.previous_hash, payload) != event.entry_hash:
            return [f"event {event.pk}: content does not match its hash (the event was edited)."]
        return []
    key = keys.get(event.key_id)
    if key is None:
        return [
            f"event {event.pk}: sealed with the key '{event.key_id}', which is not configured "
            "(the event cannot be verified; configure the key, or the event was forged)."
        ]
    if not audit_keys.same(_entry_hash(event.previous_hash, payload, key), event.entry_hash):
        return [f"event {event.pk}: content does not match its hash (the event was edited)."]
    return []


def _anchored_event_missing(anchor, reason: str, *, later: int = 0) -> str:
    also = f"; {later} later anchor(s) name events that are gone too" if later else ""
    return f"{anchor.label}: event {anchor.last_id} it recorded is gone ({reason}){also}."


def _anchor_mismatches(anchor, event, position: int) -> list[str]:
    problems = []
    if not audit_keys.same(event.entry_hash, anchor.last_hash):
        problems.append(
            f"{anchor.label}: event {event.pk} no longer carries the seal it had (the event was rewritten)."
        )
    if position < anchor.count:
        problems.append(
            f"{anchor.label}: {anchor.count} event(s) up to event {event.pk} were recorded, "
            f"{position} remain (events were removed)."
        )
    return problems
