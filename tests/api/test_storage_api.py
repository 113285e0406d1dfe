import pytest

from evlims.core.models import AuditEvent
from evlims.samples.models import StorageUnit

pytestmark = pytest.mark.django_db
UNITS = "/api/v1/storage-units/"


def create(client, **payload):
    return client.post(UNITS, payload, format="json")


def test_build_a_tree_down_to_a_box(staff_api, staff, lab):
    site = create(staff_api, lab=lab.pk, kind="site", name="Building 4")
    freezer = create(staff_api, lab=lab.pk, kind="freezer", name="F-80", parent=site.json()["id"], temperature_c="-80")
    rack = create(staff_api, lab=lab.pk, kind="rack", name="R1", parent=freezer.json()["id"])
    box = create(staff_api, lab=lab.pk, kind="box", name="B1", parent=rack.json()["id"], rows=2, columns=3)
    assert [r.status_code for r in (site, freezer, rack, box)] == [201] * 4
    assert box.json()["path"] == "Building 4 / F-80 / R1 / B1"
    assert (box.json()["rows"], box.json()["columns"]) == (2, 3)
    assert AuditEvent.objects.filter(action="storage.create", actor=staff).count() == 4


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "box", "name": "No grid", "parent": "rack"}, "rows"),
        ({"kind": "box", "name": "Zero", "parent": "rack", "rows": 0, "columns": 3}, "rows"),
        ({"kind": "rack", "name": "Rack in site", "parent": "site"}, "parent"),
        ({"kind": "site", "name": "Site in site", "parent": "site"}, "parent"),
        ({"kind": "freezer", "name": "Orphan"}, "parent"),
        ({"kind": "shelf", "name": "S"}, "kind"),
        ({"kind": "site", "name": ""}, "name"),
        ({"kind": "site", "name": "Site of Box 1"}, "name"),  # already exists at the top
        ({"kind": "site", "name": "X", "parent": 999999}, "parent"),
    ],
)
def test_bad_units_name_the_field(staff_api, lab, ours, payload, field):
    rack = ours.box.parent
    named_parents = {"rack": rack.pk, "site": rack.parent.parent_id}
    if isinstance(payload.get("parent"), str):
        payload = payload | {"parent": named_parents[payload["parent"]]}
    before = StorageUnit.objects.count()
    response = create(staff_api, lab=lab.pk, **payload)
    assert response.status_code == 400 and field in response.json(), response.json()
    assert StorageUnit.objects.count() == before


def test_foreign_parent_and_lab_are_field_errors(staff_api, lab, theirs):
    response = create(staff_api, lab=lab.pk, kind="box", name="B", parent=theirs.box.parent_id, rows=1, columns=1)
    assert response.status_code == 400 and set(response.json()) == {"parent"}
    response = create(staff_api, lab=theirs.box.lab_id, kind="site", name="S")
    assert response.status_code == 400 and set(response.json()) == {"lab"}


def test_grid_shows_every_position_and_its_aliquot(staff_api, ours):
    response = staff_api.get(f"{UNITS}{ours.box.pk}/grid/")
    assert response.status_code == 200
    grid = response.json()
    assert (grid["rows"], grid["columns"], grid["occupied"], grid["free"]) == (9, 9, 2, 79)
    assert len(grid["cells"]) == 81
    first, second, third = grid["cells"][:3]
    assert (first["label"], first["aliquot"]["barcode"]) == ("A1", ours.aliquots[0].barcode)
    assert first["aliquot"]["sample_barcode"] == ours.sample.barcode
    assert (second["label"], second["aliquot"]["id"]) == ("A2", ours.aliquots[1].pk)
    assert (third["label"], third["aliquot"]) == ("A3", None)
    assert grid["cells"][9]["label"] == "B1"


def test_grid_of_a_rack_is_not_found(staff_api, ours):
    assert staff_api.get(f"{UNITS}{ours.box.parent_id}/grid/").status_code == 404


def test_list_filters(staff_api, ours):
    def names(query):
        return [row["name"] for row in staff_api.get(UNITS + query).json()["results"]]

    assert names("?kind=box") == ["Box 1"]
    assert names(f"?parent={ours.box.parent_id}") == ["Box 1"]
    assert names("?search=R1") == ["R1", "Box 1"]
    assert names("?ordering=-path")[0] == "Box 1"
