"""Reference lots, spikes, tracer readouts (with recovery ± uncertainty), dilution series, recovery summaries and
the method league table through the API; another lab's records stay out of sight."""

import pytest
from rest_framework.test import APIClient

from evlims.core.models import Role
from evlims.standards.models import ReferenceMaterialLot
from tests.security.world import build_lab

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_lab("STD")


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _lot(client, world, **changes):
    body = {
        "lab": world.lab.pk,
        "material": "rEV",
        "lot_number": "L1",
        "readout": "fluorescent_nta",
        "assigned_value": 1e10,
        "assigned_uncertainty": 1e9,
        "unit": "particles/mL",
    } | changes
    return client.post("/api/v1/reference-lots/", body, format="json")


def test_lot_spike_readout_and_recovery(world):
    client = _client(world.staff)
    lot = _lot(client, world)
    assert lot.status_code == 201, lot.json()
    spike = client.post(
        "/api/v1/spikes/",
        {"lot": lot.json()["id"], "run": world.run.pk, "amount": 10, "amount_unit": "µL"},
        format="json",
    )
    assert spike.status_code == 201, spike.json()
    assert spike.json()["matrix"] == "Blood plasma"
    world.preparation.final_volume_ul = 100
    world.preparation.save(update_fields=["final_volume_ul"])
    readout = client.post(
        "/api/v1/tracer-readouts/",
        {
            "spike": spike.json()["id"],
            "preparation": world.preparation.pk,
            "value": 4e8,
            "standard_uncertainty": 2e7,
            "unit": "particles/mL",
        },
        format="json",
    )
    assert readout.status_code == 201, readout.json()
    recovery = readout.json()["recovery"]
    assert recovery["recovery_pct"] == pytest.approx(40.0)
    assert recovery["uncertainty_pct"] == pytest.approx(4.47214, abs=1e-5)
    detail = client.get(f"/api/v1/tracer-readouts/{readout.json()['id']}/")
    assert detail.status_code == 200 and detail.json()["recovery"]["unit"] == "particles"
    summary = client.get("/api/v1/recoveries/?by=operator")
    assert summary.status_code == 200
    assert summary.json()[0]["runs"] == 1 and summary.json()[0]["recovery_pct"] == pytest.approx(40.0)
    league = client.get("/api/v1/method-league/")
    assert league.status_code == 200
    rows = [row for row in league.json() if row["recovery_runs"]]
    assert rows and rows[0]["recovery_pct"] == pytest.approx(40.0) and rows[0]["biofluid"] == "blood_plasma"


def test_mismatched_units_answer_400_naming_the_field(world):
    client = _client(world.staff)
    lot = _lot(client, world).json()
    spike = client.post(
        "/api/v1/spikes/",
        {"lot": lot["id"], "aliquot": world.aliquot.pk, "amount": 5, "amount_unit": "pg"},
        format="json",
    )
    assert spike.status_code == 400
    assert "particles" in str(spike.json()["amount_unit"])
    assert _lot(client, world, unit="furlongs").status_code == 400


def test_dilution_series_answers_its_linearity(world):
    client = _client(world.staff)
    points = [
        {"dilution_factor": 200, "readings": [4.9e8, 5.1e8]},
        {"dilution_factor": 400, "readings": [2.4e8, 2.6e8]},
        {"dilution_factor": 800, "readings": [1.25e8, 1.25e8]},
    ]
    answer = client.post(
        "/api/v1/dilution-series/",
        {"preparation": world.preparation.pk, "technique": "nta", "points": points},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    linearity = answer.json()["linearity"]
    assert linearity["concentration_per_ml"] == pytest.approx(1e11)
    assert linearity["dilutions_used"] == [200, 400, 800]
    assert linearity["proportionality_index"] == pytest.approx(0.0)
    bad = client.post(
        "/api/v1/dilution-series/",
        {"preparation": world.preparation.pk, "technique": "nta", "points": points[:1]},
        format="json",
    )
    assert bad.status_code == 400 and "at least 2" in str(bad.json())


def test_another_labs_records_are_not_seen(world):
    other = build_lab("OTH")
    _lot(_client(world.staff), world)
    lot = ReferenceMaterialLot.objects.get(lot_number="L1")
    outsider = _client(other.users[Role.LAB_ADMIN])
    assert outsider.get(f"/api/v1/reference-lots/{lot.pk}/").status_code == 404
    assert lot.pk not in [row["id"] for row in outsider.get("/api/v1/reference-lots/").json()["results"]]
    spike = outsider.post(
        "/api/v1/spikes/", {"lot": lot.pk, "run": other.run.pk, "amount": 1, "amount_unit": "µL"}, format="json"
    )
    assert spike.status_code == 400 and "lot" in spike.json()
