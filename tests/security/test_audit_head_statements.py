"""The chain head read and moved by statements composed once (``evlims.core.audit._head_sql``): the same
statements the ORM sends, the same events and chain as the ORM's path, one read and one write an event."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evlims.core import audit
from evlims.core.audit import (
    _entry_hash,
    _locked_head,
    _locked_last_hash,
    _move_head,
    hashed_payload,
    record_event,
    verify_chain,
)
from evlims.core.models import AuditChainHead, AuditEvent

pytestmark = pytest.mark.django_db


def _record_with_orm_head(**kwargs) -> AuditEvent:
    """``record_event`` as it was, the head read and saved through the ORM (kept here as the reference)."""
    head = _locked_head()
    event = AuditEvent(previous_hash=head.last_hash, **kwargs)
    event.entry_hash = _entry_hash(event.previous_hash, hashed_payload(event), audit.audit_keys.current_key()[1])
    event.save(force_insert=True)
    head.last_hash = event.entry_hash
    head.save(update_fields=["last_hash"])
    return event


def test_the_head_write_is_the_statement_save_sends():
    with transaction.atomic():
        head = _locked_head()
        head.last_hash = "a" * 64
        with CaptureQueriesContext(connection) as orm:
            head.save(update_fields=["last_hash"])
        with CaptureQueriesContext(connection) as composed:
            _move_head(connection, "a" * 64)
    assert [q["sql"] for q in composed.captured_queries] == [q["sql"] for q in orm.captured_queries]


def test_the_head_read_locks_the_row_where_the_database_can():
    sql, params, _ = audit._head_sql(connection)
    orm_sql, _ = (
        (AuditChainHead.objects.select_for_update().filter(id=1).order_by("pk")[:1].values_list("last_hash").query)
        .get_compiler(connection=connection)
        .as_sql()
    )
    assert sql == orm_sql and ("FOR UPDATE" in sql) == connection.features.has_select_for_update


def test_the_head_is_created_when_missing_and_then_read_and_moved_in_two_queries(lab, staff):
    AuditChainHead.objects.all().delete()
    with transaction.atomic():
        assert _locked_last_hash(connection) == ""
    assert AuditChainHead.objects.get().last_hash == ""
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        event = record_event(actor=staff, action="lab.touched", obj=lab, changes={"a": [1, 2]})
    assert len(queries.captured_queries) == 3  # head read, event insert, head write
    assert AuditChainHead.objects.get().last_hash == event.entry_hash


def test_events_of_both_paths_interleaved_form_one_chain(lab, staff):
    key_id, _ = audit.audit_keys.current_key()
    for number in range(6):
        with transaction.atomic():
            if number % 2:
                record_event(actor=staff, action="lab.touched", obj=lab, changes={"n": number})
            else:
                _record_with_orm_head(
                    lab=lab,
                    occurred_at=timezone.now(),
                    actor=staff,
                    actor_label=staff.get_username(),
                    action="lab.touched",
                    object_type="lab",
                    object_id=str(lab.pk),
                    object_repr=str(lab),
                    changes={"n": number},
                    key_id=key_id,
                )
    stored = list(AuditEvent.objects.order_by("id"))
    assert len(stored) >= 6
    assert [e.previous_hash for e in stored[1:]] == [e.entry_hash for e in stored[:-1]]
    assert verify_chain(stored) == []
    assert AuditChainHead.objects.get().last_hash == stored[-1].entry_hash
