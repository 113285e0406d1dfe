"""Authentication, lab scoping and roles, checked on every endpoint."""

import base64

import pytest
from rest_framework.test import APIClient

from evlims.core.models import AuditEvent, Membership, Role
from evlims.samples.models import CustodyEvent
from tests.api.endpoints import ALL, CREATES, DETAILS, LISTS, OBJECT_WRITES
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _written():
    return AuditEvent.objects.count(), CustodyEvent.objects.count()


@pytest.mark.parametrize("endpoint", ALL, ids=str)
def test_anonymous_is_refused_everywhere(api, ours, endpoint):
    before = _written()
    response = endpoint.request(api, ours)
    assert response.status_code in (401, 403)
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert _written() == before


@pytest.mark.parametrize("endpoint", LISTS, ids=str)
def test_user_without_a_lab_is_refused(ours, endpoint):
    client = APIClient()
    client.force_login(UserFactory())
    assert endpoint.request(client, ours).status_code == 403


@pytest.mark.parametrize("endpoint", DETAILS + OBJECT_WRITES, ids=str)
def test_another_labs_object_is_not_found(staff_api, ours, theirs, endpoint):
    before = _written()
    response = endpoint.request(staff_api, theirs)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert _written() == before


@pytest.mark.parametrize("endpoint", LISTS, ids=str)
def test_lists_show_only_own_labs(staff_api, ours, theirs, endpoint):
    response = endpoint.request(staff_api, ours)
    assert response.status_code == 200
    body = response.content.decode()
    ids = {row["id"] for row in response.json()["results"]}
    assert ids, "our lab has records in every list"
    assert "FOREIGN" not in body and theirs.sample.barcode not in body
    foreign = {
        "projects/": {theirs.project.pk},
        "donors/": {theirs.donor.pk},
        "samples/": {theirs.sample.pk},
        "aliquots/": {a.pk for a in theirs.aliquots},
        "storage-units/": {theirs.box.pk},
        "custody-events/": {theirs.custody_event.pk},
    }[endpoint.path.__name__]
    assert not ids & foreign


@pytest.mark.parametrize("endpoint", DETAILS + LISTS, ids=str)
def test_read_only_roles_can_read(qa_api, ours, endpoint):
    assert endpoint.request(qa_api, ours).status_code == 200


@pytest.mark.parametrize("endpoint", DETAILS + LISTS, ids=str)
def test_instrument_accounts_cannot_read(instrument_api, ours, endpoint):
    """An account whose only role is instrument has a key's reach: it posts results, it reads no list or record
    (tests/security/test_instrument_accounts.py)."""
    assert endpoint.request(instrument_api, ours).status_code == 403


@pytest.mark.parametrize("endpoint", CREATES + OBJECT_WRITES, ids=str)
@pytest.mark.parametrize("reader", ["qa_api", "instrument_api"])
def test_read_only_roles_cannot_write(request, ours, endpoint, reader):
    before = _written()
    response = endpoint.request(request.getfixturevalue(reader), ours)
    assert response.status_code == 403
    assert "detail" in response.json()
    assert _written() == before


@pytest.mark.parametrize("endpoint", CREATES + OBJECT_WRITES, ids=str)
def test_staff_can_write_everywhere(staff_api, ours, endpoint):
    before_audit = AuditEvent.objects.count()
    response = endpoint.request(staff_api, ours)
    assert response.status_code in (200, 201), response.json()
    assert AuditEvent.objects.count() > before_audit


def test_read_only_role_in_one_lab_cannot_write_there_while_staff_elsewhere(ours, theirs, qa_manager, other_lab):
    """Writer somewhere is not writer everywhere: the object's lab decides."""
    Membership.objects.create(user=qa_manager, lab=other_lab, role=Role.LAB_STAFF)
    client = APIClient()
    client.force_login(qa_manager)
    response = client.post(f"/api/v1/aliquots/{ours.aliquots[0].pk}/thaw/", {}, format="json")
    assert response.status_code == 403
    response = client.post(
        "/api/v1/samples/", {"project": ours.project.pk, "biofluid": "serum", "volume_ml": "1"}, format="json"
    )
    assert response.status_code == 403
    assert client.post(f"/api/v1/aliquots/{theirs.aliquots[0].pk}/thaw/", {}, format="json").status_code == 200


def test_basic_authentication_is_accepted(ours, staff):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + _basic("staff", "correct horse battery"))
    assert client.get("/api/v1/samples/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Basic " + _basic("staff", "wrong"))
    response = client.get("/api/v1/samples/")
    # 401 or 403 depends on the host's first authentication class (session answers 403).
    assert response.status_code in (401, 403)
    assert response.json() == {"detail": "Invalid username/password."}


def _basic(username, password):
    return base64.b64encode(f"{username}:{password}".encode()).decode()
