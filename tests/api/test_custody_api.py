import pytest

from evlims.samples import services

pytestmark = pytest.mark.django_db
CUSTODY = "/api/v1/custody-events/"


def test_timeline_filters_by_aliquot_and_kind(staff_api, staff, ours):
    first, second = ours.aliquots
    services.aliquot_thaw(actor=staff, aliquot=first, reason="NTA")
    services.aliquot_move(actor=staff, aliquot=first, box=ours.box, row=3, column=3)

    def kinds(query):
        response = staff_api.get(CUSTODY + query)
        assert response.status_code == 200, response.json()
        return [(row["aliquot"], row["kind"]) for row in response.json()["results"]]

    assert kinds(f"?aliquot={first.pk}") == [(first.pk, "received"), (first.pk, "thawed"), (first.pk, "moved")]
    assert kinds("?kind=received") == [(first.pk, "received"), (second.pk, "received")]
    assert kinds(f"?aliquot={second.pk}&kind=thawed") == []
    assert kinds(f"?sample={ours.sample.pk}&kind=moved") == [(first.pk, "moved")]
    assert kinds("?ordering=-occurred_at")[0] == (first.pk, "moved")
    assert staff_api.get(CUSTODY + "?kind=teleported").status_code == 400


def test_event_shows_who_where_and_how_much(staff_api, ours):
    body = staff_api.get(f"{CUSTODY}{ours.custody_event.pk}/").json()
    assert (body["kind"], body["actor"], body["aliquot_barcode"]) == ("received", "staff", ours.aliquots[0].barcode)
    assert body["to_location"].endswith("A1") and body["volume_change_ul"] == "500.0"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_custody_is_read_only(staff_api, ours, method):
    list_answer = getattr(staff_api, method)(CUSTODY, {}, format="json")
    detail_answer = getattr(staff_api, method)(f"{CUSTODY}{ours.custody_event.pk}/", {}, format="json")
    assert list_answer.status_code == detail_answer.status_code == 405
