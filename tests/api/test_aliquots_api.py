import pytest

from evlims.core.models import AuditEvent
from evlims.samples import services
from evlims.samples.models import Aliquot, CustodyEvent
from tests.factories import storage_box

pytestmark = pytest.mark.django_db
ALIQUOTS = "/api/v1/aliquots/"


def act(client, aliquot, action, payload):
    return client.post(f"{ALIQUOTS}{aliquot.pk}/{action}/", payload, format="json")


def audit(action, aliquot):
    return AuditEvent.objects.filter(action=action, object_id=str(aliquot.pk))


def test_split_answers_with_children_and_records_lineage(staff_api, staff, ours):
    parent = ours.aliquots[0]
    response = act(staff_api, parent, "split", {"volumes_ul": ["100.0", "150.0"], "box": ours.box.pk, "reason": "NTA"})
    assert response.status_code == 201, response.json()
    children = response.json()
    assert [c["volume_ul"] for c in children] == ["100.0", "150.0"]
    assert {c["parent_barcode"] for c in children} == {parent.barcode}
    assert [c["position_label"] for c in children] == ["A3", "A4"]
    parent.refresh_from_db()
    assert parent.volume_ul == 250 and parent.version == 2
    event = audit("aliquot.split", parent).get()
    assert event.actor == staff and event.reason == "NTA"
    assert CustodyEvent.objects.filter(kind="aliquoted").count() == 3


def test_move_to_a_free_position(staff_api, staff, ours):
    aliquot = ours.aliquots[0]
    response = act(staff_api, aliquot, "move", {"box": ours.box.pk, "row": 2, "column": 5, "reason": "tidy"})
    assert response.status_code == 200, response.json()
    assert (response.json()["position_label"], response.json()["version"]) == ("B5", 2)
    moved = aliquot.custody_events.get(kind="moved")
    assert moved.from_location.endswith("A1") and moved.to_location.endswith("B5") and moved.actor == staff
    assert audit("aliquot.move", aliquot).get().changes["location"][1].endswith("B5")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"row": 1, "column": 2}, "position"),  # A2 holds the second aliquot
        ({"row": 10, "column": 1}, "position"),  # outside the 9 × 9 grid
        ({"row": 0, "column": 1}, "row"),
        ({"row": 1}, "column"),
        ({"row": "A", "column": 1}, "row"),
        ({"row": 1, "column": 1, "box": None}, "box"),
        ({"row": 1, "column": 1, "box": 999999}, "box"),
    ],
)
def test_bad_moves_name_the_field_and_leave_the_tube(staff_api, ours, payload, field):
    aliquot = ours.aliquots[0]
    response = act(staff_api, aliquot, "move", {"box": ours.box.pk} | payload)
    assert response.status_code == 400
    assert field in response.json()
    aliquot.refresh_from_db()
    assert (aliquot.position_row, aliquot.position_column, aliquot.version) == (1, 1, 1)
    assert not CustodyEvent.objects.filter(kind="moved").exists()


def test_move_into_a_rack_or_another_labs_box_is_refused(staff_api, ours, theirs):
    rack = act(staff_api, ours.aliquots[0], "move", {"box": ours.box.parent_id, "row": 1, "column": 1})
    assert rack.status_code == 400 and "not a box" in rack.json()["box"][0]
    foreign = act(staff_api, ours.aliquots[0], "move", {"box": theirs.box.pk, "row": 5, "column": 5})
    assert foreign.status_code == 400
    assert foreign.json() == {"box": [f'Invalid pk "{theirs.box.pk}" - object does not exist.']}


def test_move_into_a_second_box(staff_api, ours, lab):
    second = storage_box(lab, name="Box 2", rows=2, columns=2)
    response = act(staff_api, ours.aliquots[0], "move", {"box": second.pk, "row": 2, "column": 2})
    assert response.status_code == 200
    assert response.json()["box"] == second.pk and response.json()["box_path"] == second.path


def test_thaw_counts_and_flags_repeated_cycles(staff_api, staff, ours):
    aliquot = ours.aliquots[0]
    first = act(staff_api, aliquot, "thaw", {"note": "NTA run"})
    assert first.status_code == 200 and first.json()["freeze_thaw_count"] == 1 and first.json()["flags"] == []
    second = act(staff_api, aliquot, "thaw", {})
    assert second.json()["freeze_thaw_count"] == 2
    assert [flag["code"] for flag in second.json()["flags"]] == ["freeze_thaw"]
    assert aliquot.custody_events.filter(kind="thawed", actor=staff).count() == 2
    assert audit("aliquot.thaw", aliquot).first().reason == "NTA run"


def test_consume_takes_volume_until_empty(staff_api, ours):
    aliquot = ours.aliquots[0]
    partial = act(staff_api, aliquot, "consume", {"volume_ul": "200.0", "note": "SEC input"})
    assert partial.status_code == 200 and partial.json()["volume_ul"] == "300.0"
    too_much = act(staff_api, aliquot, "consume", {"volume_ul": "300.1"})
    assert too_much.status_code == 400 and "holds 300.0" in too_much.json()["volume_ul"][0]
    rest = act(staff_api, aliquot, "consume", {"volume_ul": "300.0"})
    assert rest.json()["status"] == "consumed" and rest.json()["box"] is None
    after = act(staff_api, aliquot, "consume", {"volume_ul": "1.0"})
    assert after.status_code == 400 and "consumed" in after.json()["aliquot"][0]
    assert audit("aliquot.consume", aliquot).count() == 2


@pytest.mark.parametrize("volume", ["-5", "0", "abc", None])
def test_bad_consume_volumes_are_field_errors(staff_api, ours, volume):
    response = act(staff_api, ours.aliquots[0], "consume", {"volume_ul": volume})
    assert response.status_code == 400 and set(response.json()) == {"volume_ul"}
    assert not audit("aliquot.consume", ours.aliquots[0]).exists()


def test_split_beyond_volume_or_with_negative_volume_is_refused(staff_api, ours):
    aliquot = ours.aliquots[0]
    too_much = act(staff_api, aliquot, "split", {"volumes_ul": ["400.0", "400.0"]})
    assert too_much.status_code == 400 and "volumes_ul" in too_much.json()
    negative = act(staff_api, aliquot, "split", {"volumes_ul": ["-1"]})
    assert negative.status_code == 400 and "volumes_ul" in negative.json()
    empty = act(staff_api, aliquot, "split", {"volumes_ul": []})
    assert empty.status_code == 400 and "volumes_ul" in empty.json()
    assert Aliquot.objects.filter(parent=aliquot).count() == 0


def test_ship_leaves_the_box_and_records_destination(staff_api, staff, ours):
    aliquot = ours.aliquots[0]
    response = act(staff_api, aliquot, "ship", {"destination": "Proteomics core", "reason": "MTA 17"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["box"]) == ("shipped", None)
    event = aliquot.custody_events.get(kind="shipped")
    assert (event.to_location, event.note, event.actor) == ("Proteomics core", "MTA 17", staff)
    assert event.from_location.endswith("A1")
    assert audit("aliquot.shipped", aliquot).get().reason == "MTA 17"
    again = act(staff_api, aliquot, "dispose", {"reason": "x"})
    assert again.status_code == 400 and "shipped" in again.json()["aliquot"][0]


def test_dispose_needs_a_reason(staff_api, ours):
    aliquot = ours.aliquots[1]
    for payload in ({}, {"reason": "  "}):
        response = act(staff_api, aliquot, "dispose", payload)
        assert response.status_code == 400 and set(response.json()) == {"reason"}
    response = act(staff_api, aliquot, "dispose", {"reason": "Tube cracked"})
    assert response.status_code == 200 and response.json()["status"] == "disposed"
    assert audit("aliquot.disposed", aliquot).get().reason == "Tube cracked"


def test_ship_needs_destination_and_reason(staff_api, ours):
    response = act(staff_api, ours.aliquots[0], "ship", {})
    assert response.status_code == 400 and set(response.json()) == {"destination", "reason"}


def test_actions_answer_get_with_405(staff_api, ours):
    assert staff_api.get(f"{ALIQUOTS}{ours.aliquots[0].pk}/thaw/").status_code == 405


def test_list_filters(staff_api, staff, ours):
    first, second = ours.aliquots
    services.aliquot_consume(actor=staff, aliquot=second, volume_ul=500)
    (child,) = services.aliquot_split(actor=staff, aliquot=first, volumes_ul=[100])

    def ids(query):
        response = staff_api.get(ALIQUOTS + query)
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids(f"?sample={ours.sample.pk}") == {first.pk, second.pk, child.pk}
    assert ids("?status=consumed") == {second.pk}
    assert ids(f"?box={ours.box.pk}") == {first.pk}
    assert ids(f"?parent={first.pk}") == {child.pk}
    assert ids(f"?search={child.barcode}") == {child.pk}
    assert staff_api.get(ALIQUOTS + "?status=melted").status_code == 400


def test_detail(staff_api, ours):
    body = staff_api.get(f"{ALIQUOTS}{ours.aliquots[0].pk}/").json()
    assert body["sample_barcode"] == ours.sample.barcode
    assert (body["position_row"], body["position_column"], body["position_label"]) == (1, 1, "A1")
    assert body["box_path"] == ours.box.path and body["volume_ul"] == "500.0"
