"""Instruments and their keys: lab admins register and issue; the key is shown once; revoking stops it."""

import pytest

from evlims.instruments.models import Instrument, InstrumentApiKey
from evlims.instruments.services import api_key_authenticate
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db
API = "/api/v1"


def test_admin_registers_an_instrument_with_a_key_shown_once(admin_api, staff_api, lab):
    response = admin_api.post(
        f"{API}/instruments/",
        {"lab": lab.pk, "name": "NS300", "kind": "nta", "key_scopes": ["results:write", "read"], "key_label": "PC"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    raw_key = body["issued_key"]["key"]
    assert raw_key.startswith("evl_") and body["issued_key"]["scopes"] == ["read", "results:write"]
    key = api_key_authenticate(raw_key)
    assert key is not None and key.instrument_id == body["id"] and raw_key not in key.key_hash
    assert [k["prefix"] for k in body["keys"]] == [key.prefix] and "key" not in body["keys"][0]
    # Nowhere else: not in the detail, not in the list.
    for client in (admin_api, staff_api):
        detail = client.get(f"{API}/instruments/{body['id']}/")
        assert detail.status_code == 200 and raw_key not in detail.content.decode()
        assert raw_key not in client.get(f"{API}/instruments/").content.decode()
    # The key works at once.
    assert key_client(raw_key).get(f"{API}/measurements/").status_code == 200


def test_instrument_without_a_key(admin_api, lab):
    response = admin_api.post(f"{API}/instruments/", {"lab": lab.pk, "name": "Plate reader", "kind": "plate_reader"})
    assert response.status_code == 201 and response.json()["issued_key"] is None
    assert not InstrumentApiKey.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "X", "kind": "sonar"}, "kind"),
        ({"name": "X", "kind": "nta", "key_scopes": ["admin"]}, "key_scopes"),
        ({"name": "X", "kind": "nta", "key_scopes": []}, "key_scopes"),
        ({"kind": "nta"}, "name"),
        ({"name": "X", "kind": "nta", "column_mapping": [1]}, "column_mapping"),
    ],
)
def test_bad_instrument_payloads(admin_api, lab, payload, field):
    response = admin_api.post(f"{API}/instruments/", {"lab": lab.pk, **payload}, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not Instrument.objects.exists()


def test_duplicate_name_is_refused_and_nothing_is_half_written(admin_api, lab):
    admin_api.post(f"{API}/instruments/", {"lab": lab.pk, "name": "NS300", "kind": "nta"}, format="json")
    response = admin_api.post(
        f"{API}/instruments/", {"lab": lab.pk, "name": "NS300", "kind": "nta", "key_scopes": ["read"]}, format="json"
    )
    assert response.status_code == 400 and "name" in response.json()
    assert Instrument.objects.count() == 1 and not InstrumentApiKey.objects.exists()


def test_only_lab_admins_register_and_issue(staff_api, qa_api, lab, evidence):
    for client in (staff_api, qa_api):
        response = client.post(f"{API}/instruments/", {"lab": lab.pk, "name": "X", "kind": "nta"}, format="json")
        assert response.status_code == 403
        response = client.post(f"{API}/instruments/{evidence.instrument.pk}/keys/", {"scopes": ["read"]})
        assert response.status_code == 403
    assert Instrument.objects.count() == 1


def test_admin_cannot_register_in_another_lab(admin_api, other_lab):
    response = admin_api.post(f"{API}/instruments/", {"lab": other_lab.pk, "name": "X", "kind": "nta"}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["lab"]


def test_issue_and_revoke_a_key(admin_api, evidence):
    response = admin_api.post(
        f"{API}/instruments/{evidence.instrument.pk}/keys/", {"scopes": ["read"], "label": "LIMS sync"}, format="json"
    )
    assert response.status_code == 201
    issued = response.json()
    client = key_client(issued["key"])
    assert client.get(f"{API}/measurements/").status_code == 200
    revoke = f"{API}/instruments/{evidence.instrument.pk}/keys/{issued['id']}/revoke/"
    assert admin_api.post(revoke, {}, format="json").json() == {"reason": ["This field is required."]}
    response = admin_api.post(revoke, {"reason": "PC replaced"}, format="json")
    assert response.status_code == 200
    assert response.json()["active"] is False and response.json()["revoked_at"]
    assert client.get(f"{API}/measurements/").status_code in (401, 403)
    assert admin_api.post(revoke, {"reason": "again"}, format="json").status_code == 200


def test_revoking_a_key_of_another_instrument_is_not_found(admin_api, evidence, their_evidence):
    their_key = their_evidence.instrument.api_keys.first()
    response = admin_api.post(
        f"{API}/instruments/{evidence.instrument.pk}/keys/{their_key.pk}/revoke/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 404
    assert InstrumentApiKey.objects.get(pk=their_key.pk).revoked_at is None


def test_key_reads_its_instrument(read_key_api, evidence):
    rows = read_key_api.get(f"{API}/instruments/").json()["results"]
    assert [row["name"] for row in rows] == ["NS300"]
