"""Correcting and voiding spikes and tracer readouts through the API: the reason required, unknown fields
refused, the old version still readable with its status, recovery (and its budget) from the current version,
another lab's records a 404."""

import pytest
from rest_framework.test import APIClient

from evlims.standards.models import Status, TracerReadout
from tests.security.world import build_lab

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture
def world():
    w = build_lab("CRA")
    w.preparation.final_volume_ul = 100
    w.preparation.save(update_fields=["final_volume_ul"])
    return w


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_readout_corrected_then_voided_through_the_api(world):
    client = _client(world.staff)
    pk = world.tracer_readout.pk
    refused = client.post(f"{API}/tracer-readouts/{pk}/correct/", {"value": 5e8}, format="json")
    assert refused.status_code == 400 and "reason" in refused.json()
    unknown = client.post(f"{API}/tracer-readouts/{pk}/correct/", {"valeu": 5e8, "reason": "r"}, format="json")
    assert unknown.status_code == 400 and "valeu" in unknown.json()
    answer = client.post(
        f"{API}/tracer-readouts/{pk}/correct/",
        {"value": 4e7, "dilution_factor": 10, "dilution_uncertainty": 0.2, "reason": "Read at 1:10"},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["supersedes"] == pk and body["status"] == "current" and body["dilution_factor"] == 10
    assert body["recovery"]["recovery_pct"] == pytest.approx(40.0)
    sources = {line["source"]: line for line in body["recovery"]["budget"]}
    assert set(sources) == {"lot", "dilution"}  # the world's readout has no uncertainty of its own
    assert sources["dilution"]["contribution_pct"] == pytest.approx(40.0 * 0.02)
    old = client.get(f"{API}/tracer-readouts/{pk}/").json()
    assert old["status"] == "superseded" and old["status_reason"] == "Read at 1:10" and old["value"] == 4e8
    listed = client.get(f"{API}/tracer-readouts/").json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]  # lists count the current version only
    again = client.post(f"{API}/tracer-readouts/{pk}/void/", {"reason": "late"}, format="json")
    assert again.status_code == 400 and "superseded" in again.json()["status"][0]
    voided = client.post(f"{API}/tracer-readouts/{body['id']}/void/", {"reason": "Tube swapped"}, format="json")
    assert voided.status_code == 200 and voided.json()["status"] == "voided"
    assert TracerReadout.objects.count() == 0 and TracerReadout.all_versions.count() == 2


def test_a_spike_corrected_through_the_api_and_others_out_of_sight(world):
    client = _client(world.staff)
    answer = client.post(
        f"{API}/spikes/{world.spike.pk}/correct/",
        {"amount": 20, "amount_uncertainty_default": True, "reason": "20 µL, not 10"},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()["amount"] == 20 and "ISO 8655-2" in answer.json()["amount_uncertainty_basis"]
    readout = client.get(f"{API}/tracer-readouts/{world.tracer_readout.pk}/").json()
    assert readout["spike"] == answer.json()["id"] and readout["recovery"]["recovery_pct"] == pytest.approx(20.0)
    refused = client.post(f"{API}/spikes/{answer.json()['id']}/void/", {"reason": "r"}, format="json")
    assert refused.status_code == 400 and "void them first" in refused.json()["status"][0]
    other = build_lab("CRB")
    outsider = _client(other.staff)
    for path in ("correct", "void"):
        assert (
            outsider.post(f"{API}/tracer-readouts/{world.tracer_readout.pk}/{path}/", {"reason": "x"}).status_code
            == 404
        )
        assert outsider.post(f"{API}/spikes/{world.spike.pk}/{path}/", {"reason": "x"}).status_code == 404
    assert TracerReadout.objects.get(lab=world.lab).status == Status.CURRENT
