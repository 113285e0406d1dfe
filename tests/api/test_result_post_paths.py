"""What the lean single-result post reads in one query or leaves to the database must still mean what the longer
path meant: the lock of an approved preparation (directly or through its run), a retry found by the unique key
rather than by a read before writing, and the audit chain's head read once, locked."""

import uuid

import pytest
from django.db import transaction

from evlims.characterization import services as characterization
from evlims.characterization.models import Measurement
from evlims.characterization.subjects import subjects_read
from evlims.core.audit import _locked_head, verify_chain
from evlims.core.locks import preparations_locked
from evlims.core.models import AuditChainHead, AuditEvent
from evlims.instruments.models import Ingestion
from evlims.review import services as review_services
from tests.api.evidence import protein
from tests.approved_world import PASSWORD, approved_world

pytestmark = pytest.mark.django_db
RESULTS = "/api/v1/results/"


def _post(client, documents, key):
    return client.post(RESULTS, {"results": documents}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _locked_as_read_with_the_subjects(world) -> set[int]:
    preparations = list(world.run.preparations.all())
    preps, _ = subjects_read(world.lab.pk, [{"preparation": p.barcode} for p in preparations])
    return {p.pk for p in preps.values() if p.locked}


def test_the_preparations_read_carries_the_lock_as_the_review_defines_it(lab, project, staff):
    world = approved_world(lab, project, staff)
    ids = list(world.run.preparations.values_list("pk", flat=True))
    assert len(ids) == 2
    # One preparation approved directly, its sibling not.
    assert _locked_as_read_with_the_subjects(world) == preparations_locked(ids) == {world.preparation.pk}
    # The run approved: both preparations locked through it.
    review = review_services.review_submit(
        actor=staff, run=world.run, reason="Run ready", justification="Accepted as it is for this study."
    )
    review = review_services.review_verify(actor=world.verifier, review=review, password=PASSWORD, statement="ok")
    review_services.review_approve(actor=world.approver, review=review, password=PASSWORD, statement="Released")
    assert _locked_as_read_with_the_subjects(world) == preparations_locked(ids) == set(ids)


def test_a_result_for_a_locked_preparation_needs_a_reason_naming_it(lab, project, staff):
    world = approved_world(lab, project, staff)
    document = protein(world.preparation.barcode)
    with pytest.raises(Exception) as refused:
        characterization.record_results(actor=staff, lab=lab, documents=[document])
    assert world.preparation.barcode in str(refused.value) and "reason" in str(refused.value)
    recorded = characterization.record_results(actor=staff, lab=lab, documents=[document], reason="Repeat BCA")
    assert len(recorded) == 1
    world.review.refresh_from_db()
    assert world.review.state != world.review.State.APPROVED


def test_a_retry_is_answered_from_the_first_post_and_writes_nothing(write_key_api, evidence):
    key = uuid.uuid4().hex
    documents = [protein(evidence.preparation.barcode)]
    first = _post(write_key_api, documents, key)
    assert first.status_code == 201, first.json()
    counts = (Ingestion.objects.count(), Measurement.objects.count(), AuditEvent.objects.count())
    again = _post(write_key_api, documents, key)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert (Ingestion.objects.count(), Measurement.objects.count(), AuditEvent.objects.count()) == counts
    assert verify_chain(AuditEvent.objects.order_by("id")) == []


def test_a_key_reused_with_another_body_is_a_422_even_when_that_body_is_refused(write_key_api, evidence):
    key = uuid.uuid4().hex
    assert _post(write_key_api, [protein(evidence.preparation.barcode)], key).status_code == 201
    other = _post(write_key_api, [protein(evidence.preparation.barcode, value=12.0)], key)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()
    refused = _post(write_key_api, [{"kind": "protein", "preparation": evidence.preparation.barcode}], key)
    assert refused.status_code == 422 and "Idempotency-Key" in refused.json()


def test_a_refused_post_writes_no_ingestion(write_key_api, evidence):
    before = Ingestion.objects.count(), AuditEvent.objects.count()
    response = _post(write_key_api, [protein("EVP-9999999")], uuid.uuid4().hex)
    assert response.status_code == 400 and "results[0].preparation" in response.json()
    assert (Ingestion.objects.count(), AuditEvent.objects.count()) == before


def test_the_chain_head_is_created_when_missing_and_read_once_after(django_assert_num_queries):
    AuditChainHead.objects.all().delete()
    with transaction.atomic():
        head = _locked_head()
    assert head.pk == 1 and head.last_hash == ""
    with transaction.atomic(), django_assert_num_queries(1):
        assert _locked_head().pk == 1


def test_the_preparations_read_are_the_orms_instances_field_by_field(lab, project, staff):
    world = approved_world(lab, project, staff)
    preparations = list(world.run.preparations.order_by("pk"))
    preps, _ = subjects_read(world.lab.pk, [{"preparation": p.barcode} for p in preparations])
    assert sorted(preps) == sorted(p.barcode for p in preparations)
    for orm in preparations:
        read = preps[orm.barcode]
        assert type(read) is type(orm) and read._state.db == orm._state.db and not read._state.adding
        for field in orm._meta.concrete_fields:
            assert getattr(read, field.attname) == getattr(orm, field.attname), field.name
            assert type(getattr(read, field.attname)) is type(getattr(orm, field.attname)), field.name
        assert (read.run_status, read.run_code) == (world.run.status, world.run.code)
