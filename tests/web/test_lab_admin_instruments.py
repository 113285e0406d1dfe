"""The instruments page of lab administration: only the lab's admins (403 page for its other members, 404 for
other labs); registering an instrument, issuing a key with the scopes ticked, and revoking one with a reason and a
confirmation, each one audit event; the key is in the answer that issued it and never again (not on the next
GET, not in the session, not in the audit trail); a revoked key no longer opens the API."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from evlims.core.models import AuditEvent, Role
from evlims.instruments import services
from evlims.instruments.models import Instrument, InstrumentApiKey
from tests.factories import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(lab):
    return member(lab, Role.LAB_ADMIN, username="boss")


@pytest.fixture
def admin_client(client, boss):
    client.force_login(boss)
    return client


@pytest.fixture
def nta(boss, lab):
    return services.instrument_register(actor=boss, lab=lab, name="NS300 room 2.14", kind="nta")


@pytest.fixture
def nta_key(boss, nta):
    return services.api_key_issue(actor=boss, instrument=nta, scopes=["read"], label="acquisition PC")


def key_api(raw_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def instrument_pages(lab, instrument, key):
    return [
        ("get", reverse("evlims:lab-admin-instruments", args=[lab.pk])),
        ("post", reverse("evlims:lab-admin-instruments", args=[lab.pk])),
        ("get", reverse("evlims:lab-admin-instrument", args=[instrument.pk])),
        ("post", reverse("evlims:lab-admin-instrument", args=[instrument.pk])),
        ("get", reverse("evlims:lab-admin-key-revoke", args=[key.pk])),
        ("post", reverse("evlims:lab-admin-key-revoke", args=[key.pk])),
    ]


POSTED = {"name": "Intruder", "kind": "nta", "scopes": ["read"], "reason": "x", "confirm": "on"}


@pytest.mark.parametrize("role", [Role.LAB_STAFF, Role.QA_MANAGER])
def test_other_members_of_the_lab_get_the_403_page(client, lab, nta, nta_key, role):
    client.force_login(member(lab, role, username="someone"))
    for method, url in instrument_pages(lab, nta, nta_key[0]):
        response = getattr(client, method)(url, POSTED)
        assert response.status_code == 403, url
        assert b'id="error-page"' in response.content
    assert not Instrument.objects.filter(name="Intruder").exists()
    assert InstrumentApiKey.objects.count() == 1 and InstrumentApiKey.objects.get().revoked_at is None


def test_an_admin_of_another_lab_gets_a_404(client, lab, other_lab, nta, nta_key):
    client.force_login(member(other_lab, Role.LAB_ADMIN, username="stranger"))
    for method, url in instrument_pages(lab, nta, nta_key[0]):
        assert getattr(client, method)(url, POSTED).status_code == 404, url
    assert InstrumentApiKey.objects.get().revoked_at is None


def test_the_list_shows_kind_keys_and_last_use_in_the_labs_words(admin_client, lab, boss, nta, nta_key):
    services.instrument_register(actor=boss, lab=lab, name="Plate reader 1", kind="plate_reader")
    revoked, _ = services.api_key_issue(actor=boss, instrument=nta, scopes=["results:write"])
    services.api_key_revoke(actor=boss, key=revoked, reason="Replaced")
    services.api_key_authenticate(nta_key[1])

    page = admin_client.get(reverse("evlims:lab-admin-instruments", args=[lab.pk])).content.decode()
    row = page[page.index(f'id="instrument-{nta.pk}"') :][:900]
    assert "Nanoparticle tracking (NanoSight)" in row
    assert "<td>1 <span" in row
    assert "(1 revoked)" in row
    assert InstrumentApiKey.objects.get(pk=nta_key[0].pk).last_used_at.strftime("%Y-%m-%d") in row
    plate = page[page.index("Plate reader 1") :][:600]
    assert "Plate reader" in plate and "never" in plate
    table = page[page.index('id="instrument-table"') : page.index("</table>")]
    assert "nta" not in table.replace("NanoSight", "") and "plate_reader" not in table


def test_registering_an_instrument(admin_client, lab):
    url = reverse("evlims:lab-admin-instruments", args=[lab.pk])
    data = {"name": "ZetaView 2", "kind": "zetaview", "model_name": "PMX-120", "serial_number": "ZV-9", "reason": ""}
    response = admin_client.post(url, data)
    instrument = Instrument.objects.get(name="ZetaView 2")
    assert response.status_code == 302 and response.url == reverse("evlims:lab-admin-instrument", args=[instrument.pk])
    assert (instrument.lab, instrument.kind, instrument.model_name, instrument.serial_number) == (
        lab,
        "zetaview",
        "PMX-120",
        "ZV-9",
    )
    event = AuditEvent.objects.get(action="instrument.register")
    assert (event.actor_label, event.changes) == ("boss", {"name": "ZetaView 2", "kind": "zetaview"})

    duplicate = admin_client.post(url, data)
    assert duplicate.status_code == 400
    assert "An instrument named &#x27;ZetaView 2&#x27; exists in this lab." in duplicate.content.decode()
    missing = admin_client.post(url, {"name": " ", "kind": ""})
    assert missing.status_code == 400
    assert "Give the instrument a name." in missing.content.decode()
    assert "Choose the kind of instrument." in missing.content.decode()
    assert Instrument.objects.count() == 1 and AuditEvent.objects.filter(action="instrument.register").count() == 1


def test_a_key_is_shown_once_and_then_never_again(admin_client, nta):
    url = reverse("evlims:lab-admin-instrument", args=[nta.pk])
    page = admin_client.get(url).content.decode()
    assert "Post results" in page and "Read" in page  # the scopes in the lab's words
    assert 'value="results:write"' in page  # the checkbox's value, never its label

    response = admin_client.post(url, {"scopes": ["results:write", "read"], "label": "acquisition PC", "reason": ""})
    assert response.status_code == 200
    body = response.content.decode()
    key = InstrumentApiKey.objects.get(instrument=nta)
    raw = response.context["issued"]["raw"]
    assert raw.startswith(f"evl_{key.prefix}_") and raw in body
    assert "This is the only time the key is shown." in body and 'id="copy-key"' in body
    assert "no-store" in response["Cache-Control"]
    assert (key.label, key.scopes, key.created_by.username) == ("acquisition PC", ["read", "results:write"], "boss")
    event = AuditEvent.objects.get(action="api_key.issue")
    assert event.changes == {"prefix": key.prefix, "scopes": ["read", "results:write"]}
    assert raw not in str(event.changes) and raw[-20:] not in (event.reason or "")

    again = admin_client.get(url).content.decode()
    assert raw not in again and raw.split("_", 2)[2] not in again
    assert f"{key.prefix}…" in again and "acquisition PC" in again
    session = admin_client.session
    assert not any(raw in str(value) for value in session.values())


def test_a_key_needs_a_scope(admin_client, nta):
    response = admin_client.post(reverse("evlims:lab-admin-instrument", args=[nta.pk]), {"label": "x"})
    assert response.status_code == 400
    assert "Tick at least one thing the key may do." in response.content.decode()
    bad = admin_client.post(reverse("evlims:lab-admin-instrument", args=[nta.pk]), {"scopes": ["admin"]})
    assert bad.status_code == 400
    assert not InstrumentApiKey.objects.exists() and not AuditEvent.objects.filter(action="api_key.issue").exists()


def test_the_issued_key_opens_the_api_until_it_is_revoked(admin_client, nta):
    issue = admin_client.post(reverse("evlims:lab-admin-instrument", args=[nta.pk]), {"scopes": ["read"]})
    raw = issue.context["issued"]["raw"]
    key = InstrumentApiKey.objects.get(instrument=nta)
    api_url = reverse("evlims:api:instrument-detail", args=[nta.pk])
    assert key_api(raw).get(api_url).status_code == 200

    revoke_url = reverse("evlims:lab-admin-key-revoke", args=[key.pk])
    confirm = admin_client.get(revoke_url).content.decode()
    assert f"Revoke key {key.prefix}…" in confirm and "Read" in confirm
    refused = admin_client.post(revoke_url, {"reason": "PC replaced"})
    assert refused.status_code == 400 and "Tick the box to confirm the revocation." in refused.content.decode()
    refused = admin_client.post(revoke_url, {"confirm": "on"})
    assert refused.status_code == 400 and "Say why the key is revoked." in refused.content.decode()
    assert key_api(raw).get(api_url).status_code == 200

    response = admin_client.post(revoke_url, {"reason": "PC replaced", "confirm": "on"})
    assert response.status_code == 302 and response.url == reverse("evlims:lab-admin-instrument", args=[nta.pk])
    key.refresh_from_db()
    assert key.revoked_at is not None
    event = AuditEvent.objects.get(action="api_key.revoke")
    assert (event.reason, event.changes, event.actor_label) == ("PC replaced", {"prefix": key.prefix}, "boss")

    refused_api = key_api(raw).get(api_url)
    assert refused_api.status_code in (401, 403) and "Invalid or revoked API key." in refused_api.content.decode()
    page = admin_client.get(response.url).content.decode()
    assert f"Key {key.prefix}… revoked: it no longer works." in page and "Revoked" in page
    twice = admin_client.post(revoke_url, {"reason": "again", "confirm": "on"})
    assert twice.status_code == 400 and "This key is already revoked." in twice.content.decode()
    assert AuditEvent.objects.filter(action="api_key.revoke").count() == 1


def test_the_same_operations_stay_in_the_api(nta, boss, lab):
    api = APIClient()
    api.force_authenticate(boss)
    issued = api.post(reverse("evlims:api:instrument-key-issue", args=[nta.pk]), {"scopes": ["read"]}, format="json")
    assert issued.status_code == 201
    key_id = issued.json()["id"]
    revoked = api.post(
        reverse("evlims:api:instrument-key-revoke", args=[nta.pk, key_id]), {"reason": "test"}, format="json"
    )
    assert revoked.status_code == 200 and revoked.json()["active"] is False


def test_issuing_refuses_a_post_without_the_csrf_token(boss, nta):
    client = Client(enforce_csrf_checks=True)
    client.force_login(boss)
    response = client.post(reverse("evlims:lab-admin-instrument", args=[nta.pk]), {"scopes": ["read"]})
    assert response.status_code == 403 and not InstrumentApiKey.objects.exists()
