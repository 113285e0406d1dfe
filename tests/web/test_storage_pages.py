"""Box list and grid, and creating storage units."""

import pytest
from django.urls import reverse

from evlims.core.models import AuditEvent
from evlims.samples.models import StorageUnit

CREATE = reverse("evlims:storage-create")


def test_box_list_shows_occupancy(member_client, sample, box):
    response = member_client.get(reverse("evlims:box-list"))
    listed = list(response.context["page"])
    assert listed == [box]
    assert (listed[0].occupied, listed[0].capacity, listed[0].percent_full) == (2, 81, 2)
    assert "2 of 81 positions used" in response.content.decode()


def test_box_view_shows_each_position_with_text(member_client, sample, box):
    response = member_client.get(reverse("evlims:box-detail", args=[box.pk]))
    html = response.content.decode()
    first, second = sample.aliquots.order_by("id")
    rows = response.context["rows"]
    assert [row["label"] for row in rows] == list("ABCDEFGHI")
    assert rows[0]["cells"][0] == {"position": "A1", "aliquot": first}
    assert rows[0]["cells"][2] == {"position": "A3", "aliquot": None}
    assert first.barcode in html and second.barcode in html
    assert html.count(">free<") == 79  # free cells say so in words, not only by colour
    assert f'name="aliquot" value="{first.pk}"' in html  # selectable for labels


@pytest.fixture
def rack(box):
    return box.parent


class TestCreate:
    def test_create_site_freezer_rack_and_box(self, member_client, lab):
        member_client.post(CREATE, {"kind": "site", "name": "Building B", "lab": lab.pk})
        site = StorageUnit.objects.get(name="Building B")
        member_client.post(CREATE, {"kind": "freezer", "name": "-80 no. 3", "parent": site.pk, "temperature_c": "-80"})
        freezer = StorageUnit.objects.get(name="-80 no. 3")
        member_client.post(CREATE, {"kind": "rack", "name": "Rack 1", "parent": freezer.pk})
        rack = StorageUnit.objects.get(name="Rack 1")
        response = member_client.post(
            CREATE, {"kind": "box", "name": "Box 9", "parent": rack.pk, "rows": 8, "columns": 12}
        )
        box = StorageUnit.objects.get(name="Box 9")
        assert response["Location"] == reverse("evlims:box-detail", args=[box.pk])
        assert box.path == "Building B / -80 no. 3 / Rack 1 / Box 9" and box.lab == lab
        assert freezer.temperature_c == -80
        assert AuditEvent.objects.filter(action="storage.create").count() == 4

    def test_form_prefills_kind_and_parent(self, member_client, rack):
        form = member_client.get(CREATE, {"kind": "box", "parent": rack.pk}).context["form"]
        assert form["kind"].value() == "box" and str(form["parent"].value()) == str(rack.pk)

    @pytest.mark.parametrize(
        "data, field, message",
        [
            ({"kind": "box", "name": "No grid"}, "rows", "grid size"),
            ({"kind": "box", "name": "Big", "rows": 30, "columns": 5}, "rows", "less than or equal to 26"),
            ({"kind": "freezer", "name": "Orphan"}, "parent", "belongs in a site"),
            ({"kind": "cupboard", "name": "x"}, "kind", "Select a valid choice"),
            ({"kind": "box", "name": "Box 1", "rows": 9, "columns": 9}, "name", "already exists"),
        ],
    )
    def test_invalid_input_shows_errors_and_writes_nothing(self, member_client, rack, data, field, message):
        before = StorageUnit.objects.count()
        if data.get("kind") == "box":
            data = data | {"parent": rack.pk}
        response = member_client.post(CREATE, data)
        assert response.status_code == 200
        assert message in str(response.context["form"].errors[field])
        assert StorageUnit.objects.count() == before

    def test_a_site_needs_a_lab(self, member_client, staff, other_lab):
        from evlims.core.models import Membership, Role

        Membership.objects.create(user=staff, lab=other_lab, role=Role.LAB_STAFF)
        response = member_client.post(CREATE, {"kind": "site", "name": "Somewhere"})
        assert "Choose the lab" in str(response.context["form"].errors["lab"])
        assert not StorageUnit.objects.filter(name="Somewhere").exists()

    def test_another_labs_parent_is_not_a_choice(self, member_client, foreign_box):
        response = member_client.post(
            CREATE, {"kind": "box", "name": "Sneaky", "parent": foreign_box.parent_id, "rows": 2, "columns": 2}
        )
        assert "parent" in response.context["form"].errors
        assert not StorageUnit.objects.filter(name="Sneaky").exists()
