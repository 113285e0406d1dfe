"""The instrument post's hand-written reads and writes mean what the ORM meant: the key read with its instrument
and lab equals ``select_related("instrument__lab")`` field by field, and is read on every request, so a revoked or
rotated key is refused on the very next one."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from evlims.instruments import services as instrument_services
from evlims.instruments.models import Instrument, InstrumentApiKey
from evlims.instruments.services.instruments import _key_read
from tests.api.conftest import key_client
from tests.api.evidence import protein

pytestmark = pytest.mark.django_db
RESULTS = "/api/v1/results/"


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_the_key_read_equals_the_orms_with_instrument_and_lab(evidence):
    instrument = evidence.instrument
    Instrument.objects.filter(pk=instrument.pk).update(column_mapping={"conc": "concentration_per_ml", "n": [1, 2.5]})
    key = InstrumentApiKey.objects.filter(instrument=instrument).order_by("pk").first()
    used, revoked = timezone.now() - timedelta(hours=3), timezone.now() - timedelta(minutes=2)
    InstrumentApiKey.objects.filter(pk=key.pk).update(last_used_at=used, revoked_at=revoked, label="Bench PC")
    for stored in InstrumentApiKey.objects.filter(instrument=instrument):
        expected = InstrumentApiKey.objects.select_related("instrument__lab").get(pk=stored.pk)
        read = _key_read(stored.prefix)
        assert _fields(read) == _fields(expected)
        assert _fields(read.instrument) == _fields(expected.instrument)
        assert _fields(read.instrument.lab) == _fields(expected.instrument.lab)
        assert read._state.adding is False and read.instrument.lab._state.db == expected._state.db
    assert _key_read(key.prefix).revoked_at == revoked and _key_read(key.prefix).scopes == key.scopes
    assert _key_read("no-such-key") is None


def _post(client, barcode):
    documents = [protein(barcode)]
    return client.post(RESULTS, {"results": documents}, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)


def test_a_revoked_or_rotated_key_is_refused_on_the_next_request(evidence, admin):
    barcode = evidence.preparation.barcode
    client = key_client(evidence.write_key)
    assert _post(client, barcode).status_code == 201
    prefix = evidence.write_key.split("_")[1]
    instrument_services.api_key_revoke(actor=admin, key=InstrumentApiKey.objects.get(prefix=prefix), reason="lost")
    refused = _post(client, barcode)
    assert refused.status_code == 403 and refused.json()["detail"] == "Invalid or revoked API key."
    # Rotated: a new key works at once, the old one stays refused.
    instrument = evidence.instrument
    _, rotated = instrument_services.api_key_issue(actor=admin, instrument=instrument, scopes=["results:write"])
    assert _post(key_client(rotated), barcode).status_code == 201
    assert _post(client, barcode).status_code == 403


def test_the_ingestion_row_and_its_answer_equal_the_orms(evidence):
    from evlims.instruments.models import Ingestion
    from evlims.instruments.services.results import _ingestion_answer_save, _ingestion_insert

    def new(key):
        return Ingestion(
            lab=evidence.instrument.lab,
            instrument=evidence.instrument,
            client=f"instrument:{evidence.instrument.pk}",
            idempotency_key=key,
            external_run_id=f"run-{key}",
            request_hash="ab" * 32,
            status=Ingestion.Status.COMMITTED,
        )

    before = timezone.now()
    fast = _ingestion_insert(new("fast"))
    orm = new("orm")
    orm.save()
    for ingestion in (fast, orm):
        ingestion.response = {"ingestion": ingestion.pk, "status": "committed", "measurements": [7, 8]}
    _ingestion_answer_save(fast)
    orm.save(update_fields=["response"])
    fast_row, orm_row = (_fields(Ingestion.objects.get(pk=ingestion.pk)) for ingestion in (fast, orm))
    assert fast.pk == fast_row["id"] and fast._state.adding is False
    assert before <= fast_row["created_at"] <= fast_row["updated_at"] <= timezone.now()
    varying = ("id", "created_at", "updated_at", "idempotency_key", "external_run_id", "response")
    assert {k: v for k, v in fast_row.items() if k not in varying} == {
        k: v for k, v in orm_row.items() if k not in varying
    }
    assert fast_row["response"] == {"ingestion": fast.pk, "status": "committed", "measurements": [7, 8]}
    assert (fast_row["idempotency_key"], fast_row["external_run_id"]) == ("fast", "run-fast")
