"""Plate layouts in the API: created, read, changed (reason and version, 409 when stale) and retired; a refused
layout answers 400 naming the well; another lab's layout is a 404; files/ reads a plate with a layout's id as it
reads it with the equivalent plate map."""

import pytest

from evlims.core.models import AuditEvent
from evlims.instruments import services
from evlims.instruments.models import Ingestion, PlateLayout
from tests.fixtures.instruments import SOFTMAX_BCA, instrument_path
from tests.plate_layout_world import PLATE_MAP, fixture_wells, small_wells

pytestmark = pytest.mark.django_db
API = "/api/v1"


def _create(client, lab, **fields):
    body = {"lab": lab.pk, "name": "BCA duplicates", "wells": small_wells()} | fields
    return client.post(f"{API}/plate-layouts/", body, format="json")


def test_create_read_change_and_retire(staff_api, lab):
    created = _create(staff_api, lab)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["version"], body["plate_format"], body["fit"], body["retired"]) == (1, 96, "linear", False)
    assert body["wells"]["A1"] == {"role": "standard", "ug_per_ml": 1000.0}
    url = f"{API}/plate-layouts/{body['id']}/"
    assert staff_api.get(url).json()["name"] == "BCA duplicates"
    assert [item["id"] for item in staff_api.get(f"{API}/plate-layouts/").json()["results"]] == [body["id"]]
    changed = staff_api.patch(url, {"fit": "quadratic", "reason": "Curved", "version": 1}, format="json")
    assert changed.status_code == 200 and changed.json()["version"] == 2
    stale = staff_api.patch(url, {"name": "Other", "reason": "Rename", "version": 1}, format="json")
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    no_reason = staff_api.patch(url, {"name": "Other", "version": 2}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    retired = staff_api.post(f"{url}retire/", {"reason": "New kit lot"}, format="json")
    assert retired.status_code == 200 and retired.json()["retired"] is True
    assert staff_api.get(f"{API}/plate-layouts/?retired=false").json()["results"] == []
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="plate_layout").order_by("id")] == [
        "plate_layout.create",
        "plate_layout.update",
        "plate_layout.retire",
    ]


@pytest.mark.parametrize(
    "wells, key, message",
    [
        (small_wells() | {"A3": {"role": "sample"}}, "wells.A3", "Well A3: a sample needs a label"),
        (small_wells() | {"B1": {"role": "standard", "ug_per_ml": None}}, "wells.B1", "its concentration in µg/mL"),
        (small_wells() | {"M1": {"role": "blank"}}, "wells.M1", "Well M1 is not on a 96-well plate"),
        (small_wells() | {"A2": {"role": "blank", "colour": "red"}}, "wells.A2", "colour is not part of a well"),
        ({"A1": {"role": "blank"}, "A3": {"role": "sample", "name": "EV"}}, "wells", "3 concentrations"),
        ([1, 2], "wells", "Give the wells as an object"),
    ],
)
def test_a_refused_layout_answers_400_naming_the_well(staff_api, lab, wells, key, message):
    response = _create(staff_api, lab, wells=wells)
    assert response.status_code == 400
    assert message in " ".join(response.json()[key])
    assert not PlateLayout.objects.exists()


def test_another_labs_layout_is_a_404(staff_api, outsider, other_lab, lab):
    theirs = services.plate_layout_create(actor=outsider, lab=other_lab, name="Theirs", wells=small_wells())
    url = f"{API}/plate-layouts/{theirs.pk}/"
    assert staff_api.get(url).status_code == 404
    assert staff_api.patch(url, {"name": "Mine", "reason": "x", "version": 1}, format="json").status_code == 404
    assert staff_api.post(f"{url}retire/", {"reason": "x"}, format="json").status_code == 404
    assert staff_api.get(f"{API}/plate-layouts/").json()["results"] == []
    assert _create(staff_api, other_lab).status_code == 400  # a lab the user is not in is not a choice
    theirs.refresh_from_db()
    assert (theirs.name, theirs.retired_at) == ("Theirs", None)


def _upload(client, **fields):
    with instrument_path(SOFTMAX_BCA).open("rb") as handle:
        return client.post(f"{API}/files/", {"file": handle, **fields}, format="multipart")


def test_files_reads_a_plate_with_a_layout_id_as_with_the_plate_map(staff_api, staff, lab, outsider, other_lab):
    layout = services.plate_layout_create(actor=staff, lab=lab, name="BCA fixture", wells=fixture_wells())
    by_layout = _upload(staff_api, plate_layout=layout.pk)
    assert by_layout.status_code == 201, by_layout.json()
    by_map = _upload(staff_api, plate_map=PLATE_MAP.read_text())
    assert by_map.status_code == 201, by_map.json()
    first, second = (Ingestion.objects.get(pk=r.json()["id"]) for r in (by_layout, by_map))
    assert first.parsed == second.parsed and first.parsed["standard_curve"]["model"] == "linear"
    quadratic = _upload(staff_api, plate_layout=layout.pk, fit="quadratic")
    assert quadratic.status_code == 201
    assert Ingestion.objects.get(pk=quadratic.json()["id"]).parsed["standard_curve"]["model"] == "quadratic"
    both = _upload(staff_api, plate_layout=layout.pk, plate_map=PLATE_MAP.read_text())
    assert both.status_code == 400 and "not both" in both.json()["plate_layout"][0]
    theirs = services.plate_layout_create(actor=outsider, lab=other_lab, name="Theirs", wells=fixture_wells())
    assert _upload(staff_api, plate_layout=theirs.pk).status_code == 400
    services.plate_layout_retire(actor=staff, layout=layout, reason="old")
    assert "plate_layout" in _upload(staff_api, plate_layout=layout.pk).json()
