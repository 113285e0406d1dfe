"""``audit.appended_last``: events recorded in the block are linked to the chain when it ends, as the
transaction's last statements, so the chain's head (which every write of the site waits for) is locked only for
their append and the commit. A result post stores its answer before its event (docs/performance.md, "Capacity
past one machine")."""

import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from evlims.core.audit import appended_last, record_event, verify_chain
from evlims.core.models import AuditChainHead, AuditEvent
from tests.api.evidence import protein

pytestmark = pytest.mark.django_db


def _chain_problems():
    return verify_chain(AuditEvent.objects.order_by("id"))


def test_events_of_the_block_are_written_when_it_ends_in_order_and_the_chain_verifies(lab, staff):
    before = AuditEvent.objects.count()
    with transaction.atomic():
        with appended_last():
            first = record_event(actor=staff, action="lab.touched", obj=lab, changes={"n": 1})
            second = record_event(actor=staff, action="lab.touched", obj=lab, changes={"n": 2})
            assert AuditEvent.objects.count() == before and first.pk is None
        assert AuditEvent.objects.count() == before + 2
    assert second.previous_hash == first.entry_hash and first.pk < second.pk
    assert AuditChainHead.objects.get().last_hash == second.entry_hash
    assert [e.changes for e in AuditEvent.objects.order_by("-id")[:2]] == [{"n": 2}, {"n": 1}]
    assert _chain_problems() == []


def test_the_heads_read_comes_after_every_other_statement_of_the_block(lab, staff):
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with appended_last():
            record_event(actor=staff, action="lab.touched", obj=lab, changes={})
            lab.refresh_from_db()  # a statement after the event's record
    statements = [q["sql"] for q in queries.captured_queries]
    assert "evlims_auditchainhead" in statements[-3] and "evlims_auditevent" in statements[-2]
    assert statements[-1].startswith('UPDATE "evlims_auditchainhead"')


def test_an_error_in_the_block_appends_nothing(lab, staff):
    before, head = AuditEvent.objects.count(), AuditChainHead.objects.first()
    with pytest.raises(ZeroDivisionError), transaction.atomic(), appended_last():
        record_event(actor=staff, action="lab.touched", obj=lab, changes={})
        1 / 0  # noqa: B018 - the service's error
    assert AuditEvent.objects.count() == before
    assert AuditChainHead.objects.first() == head
    with transaction.atomic():
        record_event(actor=staff, action="lab.touched", obj=lab, changes={})  # the next write is not held back
    assert AuditEvent.objects.count() == before + 1 and _chain_problems() == []


def test_a_nested_block_appends_with_the_outermost(lab, staff):
    before = AuditEvent.objects.count()
    with transaction.atomic(), appended_last():
        with appended_last():
            record_event(actor=staff, action="lab.touched", obj=lab, changes={})
        assert AuditEvent.objects.count() == before
    assert AuditEvent.objects.count() == before + 1 and _chain_problems() == []


def test_an_event_in_a_savepoint_inside_the_block_is_written_with_it_and_rolled_back_with_it(lab, staff):
    before = AuditEvent.objects.count()
    with transaction.atomic(), appended_last():
        with transaction.atomic():
            record_event(actor=staff, action="lab.touched", obj=lab, changes={"kept": True})
            assert AuditEvent.objects.count() == before + 1
        try:
            with transaction.atomic():
                record_event(actor=staff, action="lab.touched", obj=lab, changes={"kept": False})
                raise ValueError("the inner service failed")
        except ValueError:
            pass
    assert list(AuditEvent.objects.filter(id__gt=0).order_by("-id").values_list("changes", flat=True)[:1]) == [
        {"kept": True}
    ]
    assert AuditEvent.objects.count() == before + 1 and _chain_problems() == []


@pytest.mark.django_db(transaction=True)  # no test transaction around it: the block alone has none
def test_the_block_needs_the_services_transaction():
    with pytest.raises(RuntimeError, match="inside the service's transaction"), appended_last():
        pass


def test_a_result_post_stores_its_answer_before_its_event(write_key_api, evidence):
    with CaptureQueriesContext(connection) as queries:
        response = write_key_api.post(
            "/api/v1/results/",
            {"results": [protein(evidence.preparation.barcode)]},
            format="json",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        )
    assert response.status_code == 201, response.json()
    statements = [q["sql"] for q in queries.captured_queries]
    answer = next(i for i, sql in enumerate(statements) if sql.startswith('UPDATE "evlims_ingestion"'))
    head = next(i for i, sql in enumerate(statements) if "evlims_auditchainhead" in sql)
    assert answer < head
    assert [i for i, sql in enumerate(statements) if "evlims_audit" in sql] == [head, head + 1, head + 2]
    assert _chain_problems() == []


def test_a_file_commit_appends_its_two_events_last_in_one_move_of_the_head(write_key_api, evidence):
    from tests.api.test_files_api import upload_committed_at_once

    with CaptureQueriesContext(connection) as queries:
        response = upload_committed_at_once(write_key_api, evidence)
    assert response.status_code == 201, response.json()
    statements = [q["sql"] for q in queries.captured_queries]
    committed = max(i for i, sql in enumerate(statements) if sql.startswith('UPDATE "evlims_ingestion"'))
    heads = [i for i, sql in enumerate(statements) if "evlims_auditchainhead" in sql]
    # The upload's own event (its preview), then the commit's two after the ingestion is marked committed.
    assert len(heads) == 4 and committed < heads[2]
    assert [sql.split('"')[1] for sql in statements[heads[2] : heads[3] + 1]] == [
        "evlims_auditchainhead",
        "evlims_auditevent",
        "evlims_auditevent",
        "evlims_auditchainhead",
    ]
    actions = list(AuditEvent.objects.order_by("-id").values_list("action", flat=True)[:2])
    assert actions == ["ingestion.commit", "measurements.record"]
    assert _chain_problems() == []
