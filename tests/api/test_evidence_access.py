"""The instrument, run, preparation and result endpoints: authentication, lab scoping and roles on every one."""

from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from evlims.characterization.models import Measurement
from evlims.core.models import AuditEvent, Role
from evlims.instruments.models import Ingestion
from evlims.isolation.models import IsolationRun
from tests.api.conftest import key_client
from tests.api.evidence import NTA_FILE, STEP_1, marker
from tests.factories import member
from tests.run_states import in_state

pytestmark = pytest.mark.django_db
API = "/api/v1"


@dataclass(frozen=True)
class Endpoint:
    method: str
    name: str
    path: object  # evidence -> path
    payload: object = None  # evidence -> body
    multipart: bool = False

    def request(self, client, ev):
        path = self.path(ev)
        if self.method == "get":
            return client.get(path)
        body = self.payload(ev) if self.payload else {}
        if self.multipart:
            return client.post(path, body, format="multipart")
        return getattr(client, self.method)(path, body, format="json")

    def __str__(self):
        return f"{self.method.upper()} {self.name}"


def _upload(ev):
    return {"file": SimpleUploadedFile(NTA_FILE.name, NTA_FILE.read_bytes(), "text/csv")}


LISTS = [
    Endpoint("get", "instruments/", lambda ev: f"{API}/instruments/"),
    Endpoint("get", "ingestions/", lambda ev: f"{API}/ingestions/"),
    Endpoint("get", "measurements/", lambda ev: f"{API}/measurements/"),
    Endpoint("get", "protocols/", lambda ev: f"{API}/protocols/"),
    Endpoint("get", "protocol-versions/", lambda ev: f"{API}/protocol-versions/"),
    Endpoint("get", "runs/", lambda ev: f"{API}/runs/"),
    Endpoint("get", "preparations/", lambda ev: f"{API}/preparations/"),
    Endpoint("get", "reviews/", lambda ev: f"{API}/reviews/"),
]
DETAILS = [
    Endpoint("get", "instruments/{id}/", lambda ev: f"{API}/instruments/{ev.instrument.pk}/"),
    Endpoint("get", "ingestions/{id}/", lambda ev: f"{API}/ingestions/{ev.ingestion.pk}/"),
    Endpoint("get", "measurements/{id}/", lambda ev: f"{API}/measurements/{ev.measurement.pk}/"),
    Endpoint("get", "raw-files/{id}/download/", lambda ev: f"{API}/raw-files/{ev.raw_file.pk}/download/"),
    Endpoint("get", "protocols/{id}/", lambda ev: f"{API}/protocols/{ev.version.protocol_id}/"),
    Endpoint("get", "protocol-versions/{id}/", lambda ev: f"{API}/protocol-versions/{ev.version.pk}/"),
    Endpoint("get", "runs/{id}/", lambda ev: f"{API}/runs/{ev.run.pk}/"),
    Endpoint("get", "preparations/{id}/", lambda ev: f"{API}/preparations/{ev.preparation.pk}/"),
    Endpoint("get", "preparations/{id}/compliance/", lambda ev: f"{API}/preparations/{ev.preparation.pk}/compliance/"),
    Endpoint("get", "preparations/{id}/metrics/", lambda ev: f"{API}/preparations/{ev.preparation.pk}/metrics/"),
    Endpoint("get", "preparations/{id}/experiment/", lambda ev: f"{API}/preparations/{ev.preparation.pk}/experiment/"),
    Endpoint("get", "reviews/{id}/", lambda ev: f"{API}/reviews/{ev.review.pk}/"),
]
OBJECT_WRITES = [
    Endpoint(
        "post",
        "instruments/{id}/keys/",
        lambda ev: f"{API}/instruments/{ev.instrument.pk}/keys/",
        lambda ev: {"scopes": ["read"]},
    ),
    Endpoint(
        "post",
        "instruments/{id}/keys/{key}/revoke/",
        lambda ev: f"{API}/instruments/{ev.instrument.pk}/keys/{ev.instrument.api_keys.first().pk}/revoke/",
        lambda ev: {"reason": "rotated"},
    ),
    Endpoint(
        "post",
        "ingestions/{id}/commit/",
        lambda ev: f"{API}/ingestions/{ev.file_ingestion.pk}/commit/",
        lambda ev: {"mapping": {"d200": ev.preparation.barcode}, "dilutions": {"d200": 200}},
    ),
    Endpoint(
        "post",
        "protocol-versions/{id}/retire/",
        lambda ev: f"{API}/protocol-versions/{ev.version.pk}/retire/",
        lambda ev: {"reason": "Superseded"},
    ),
    Endpoint("post", "runs/{id}/start/", lambda ev: f"{API}/runs/{ev.run.pk}/start/", lambda ev: {}),
    Endpoint("post", "runs/{id}/abort/", lambda ev: f"{API}/runs/{ev.run.pk}/abort/", lambda ev: {"reason": "Spill"}),
]
RUN_IN_PROGRESS_WRITES = [
    Endpoint(
        "post",
        "runs/{id}/steps/",
        lambda ev: f"{API}/runs/{ev.run.pk}/steps/",
        lambda ev: {"number": 1, "observed": STEP_1},
    ),
    Endpoint("post", "runs/{id}/complete/", lambda ev: f"{API}/runs/{ev.run.pk}/complete/", lambda ev: {}),
]
KEY_ENDPOINTS_READ = [
    e
    for e in LISTS + DETAILS
    if e.name.split("/")[0] in {"instruments", "ingestions", "measurements", "raw-files", "preparations"}
]
NO_KEY_READS = [e for e in LISTS + DETAILS if e not in KEY_ENDPOINTS_READ]


def _written():
    return AuditEvent.objects.count(), Measurement.objects.count(), Ingestion.objects.count()


@pytest.mark.parametrize("endpoint", LISTS + DETAILS + OBJECT_WRITES, ids=str)
def test_anonymous_is_refused(api, evidence, endpoint):
    before = _written()
    response = endpoint.request(api, evidence)
    assert response.status_code in (401, 403)
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert _written() == before


@pytest.mark.parametrize("endpoint", DETAILS + OBJECT_WRITES, ids=str)
def test_another_labs_object_is_not_found(admin_api, evidence, their_evidence, endpoint):
    before = _written()
    response = endpoint.request(admin_api, their_evidence)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert _written() == before


@pytest.mark.parametrize("endpoint", DETAILS, ids=str)
def test_own_details_are_readable(staff_api, evidence, endpoint):
    assert endpoint.request(staff_api, evidence).status_code == 200


@pytest.mark.parametrize("endpoint", LISTS, ids=str)
def test_lists_show_only_own_labs(admin_api, evidence, their_evidence, endpoint):
    response = endpoint.request(admin_api, evidence)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert rows, "our lab has records in every list"
    body = response.content.decode()
    assert their_evidence.preparation.barcode not in body and their_evidence.run.code not in body
    assert "Foreign NTA" not in body
    if endpoint.name != "protocols/":
        assert all(row["lab"] == evidence.preparation.lab_id for row in rows if row.get("lab") is not None)
    foreign = {
        "instruments/": their_evidence.instrument.pk,
        "ingestions/": their_evidence.ingestion.pk,
        "measurements/": their_evidence.measurement.pk,
        "protocols/": their_evidence.version.protocol_id,
        "protocol-versions/": their_evidence.version.pk,
        "runs/": their_evidence.run.pk,
        "preparations/": their_evidence.preparation.pk,
        "reviews/": their_evidence.review.pk,
    }[endpoint.name]
    assert foreign not in {row["id"] for row in rows}


@pytest.mark.parametrize("endpoint", OBJECT_WRITES, ids=str)
def test_read_only_roles_cannot_write(qa_api, instrument_api, evidence, endpoint):
    before = _written()
    # QA managers may retire protocol versions; instrument accounts may commit an instrument file (an ingest
    # endpoint, tests/security/test_instrument_accounts.py); everything else is refused to them both.
    if endpoint.name.startswith("protocol-versions"):
        clients = [instrument_api]
    elif endpoint.name.startswith("ingestions/"):
        clients = [qa_api]
    else:
        clients = [qa_api, instrument_api]
    for client in clients:
        response = endpoint.request(client, evidence)
        assert response.status_code == 403, response.json()
    assert _written() == before


@pytest.mark.parametrize("endpoint", RUN_IN_PROGRESS_WRITES, ids=str)
def test_run_writes_of_another_lab_are_not_found(admin_api, evidence, their_evidence, outsider, endpoint):
    from evlims.isolation.services import run_start

    # Their run is completed (results were recorded for it): put it back to planned to start it.
    run_start(actor=outsider, run=in_state(their_evidence.run, IsolationRun.Status.PLANNED))
    assert endpoint.request(admin_api, their_evidence).status_code == 404
    assert IsolationRun.objects.get(pk=their_evidence.run.pk).steps.count() == 0


# ---------------------------------------------------------------- instrument keys


@pytest.mark.parametrize("endpoint", KEY_ENDPOINTS_READ, ids=str)
def test_read_key_reads_its_labs_results(read_key_api, evidence, endpoint):
    assert endpoint.request(read_key_api, evidence).status_code == 200


@pytest.mark.parametrize("endpoint", KEY_ENDPOINTS_READ, ids=str)
def test_write_key_without_read_scope_cannot_read(write_key_api, evidence, endpoint):
    response = endpoint.request(write_key_api, evidence)
    assert response.status_code == 403
    assert response.json() == {"detail": "This key does not have the 'read' scope."}


@pytest.mark.parametrize("endpoint", [e for e in DETAILS if e in KEY_ENDPOINTS_READ], ids=str)
def test_key_of_another_lab_does_not_find_our_records(evidence, their_evidence, endpoint):
    response = endpoint.request(key_client(their_evidence.both_key), evidence)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("endpoint", [e for e in LISTS if e in KEY_ENDPOINTS_READ], ids=str)
def test_key_lists_only_its_lab(evidence, their_evidence, endpoint):
    response = endpoint.request(key_client(their_evidence.both_key), evidence)
    assert response.status_code == 200
    assert {row["lab"] for row in response.json()["results"]} == {their_evidence.preparation.lab_id}


@pytest.mark.parametrize("endpoint", NO_KEY_READS + [e for e in OBJECT_WRITES if "commit" not in e.name], ids=str)
def test_keys_are_refused_where_people_work(evidence, endpoint):
    before = _written()
    response = endpoint.request(key_client(evidence.both_key), evidence)
    assert response.status_code == 403
    assert response.json() == {"detail": "Instrument keys cannot use this endpoint."}
    assert _written() == before


@pytest.mark.parametrize("path", ["/api/v1/samples/", "/api/v1/donors/", "/api/v1/aliquots/"])
def test_keys_do_not_open_the_sample_records(evidence, path):
    response = key_client(evidence.both_key).get(path)
    assert response.status_code == 403


def test_key_commits_only_its_own_instruments_uploads(evidence):
    """The previewed file was uploaded by a person: the instrument's key may not commit it."""
    response = OBJECT_WRITES[2].request(key_client(evidence.both_key), evidence)
    assert response.status_code == 403
    assert response.json() == {"detail": "An instrument key commits only its own instrument's uploads."}
    assert Ingestion.objects.get(pk=evidence.file_ingestion.pk).status == Ingestion.Status.PREVIEW


def test_read_only_key_cannot_post_results(read_key_api, evidence):
    response = read_key_api.post(f"{API}/results/", {"results": [marker(evidence.preparation.barcode)]}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "This key does not have the 'results:write' scope."}
    response = read_key_api.post(f"{API}/files/", _upload(evidence), format="multipart")
    assert response.status_code == 403
    assert Measurement.objects.count() == 1


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Api-Key evl_000000000000_not-a-real-key", "Invalid or revoked API key."),
        ("Api-Key garbage", "Invalid or revoked API key."),
        ("Api-Key", "Send the key as 'Authorization: Api-Key <key>'."),
        ("Api-Key two parts", "Send the key as 'Authorization: Api-Key <key>'."),
    ],
)
def test_bad_keys_are_refused(evidence, header, message):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.post(f"{API}/results/", {"results": [marker(evidence.preparation.barcode)]}, format="json")
    assert response.status_code in (401, 403)
    assert response.json() == {"detail": message}
    assert Measurement.objects.count() == 1


def test_revoked_key_stops_working(admin, evidence):
    from evlims.instruments.services import api_key_revoke

    client = key_client(evidence.both_key)
    assert client.get(f"{API}/measurements/").status_code == 200
    key = evidence.instrument.api_keys.get(scopes=["read", "results:write"])
    api_key_revoke(actor=admin, key=key, reason="Instrument PC replaced")
    response = client.get(f"{API}/measurements/")
    assert response.status_code in (401, 403)
    assert response.json() == {"detail": "Invalid or revoked API key."}


def test_keys_never_open_web_pages(evidence, client):
    response = client.get("/results/", HTTP_AUTHORIZATION=f"Api-Key {evidence.both_key}")
    assert response.status_code == 302 and "login" in response["Location"]


def test_people_keep_basic_authentication(evidence):
    import base64

    client = APIClient()
    token = base64.b64encode(b"staff:correct horse battery").decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {token}")
    assert client.get(f"{API}/measurements/").status_code == 200


def test_keys_are_throttled_per_key(evidence, settings):
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {"instrument_key": "3/min"}
    settings.REST_FRAMEWORK = rest
    first, second = key_client(evidence.read_key), key_client(evidence.both_key)
    assert [first.get(f"{API}/measurements/").status_code for _ in range(3)] == [200, 200, 200]
    refused = first.get(f"{API}/measurements/")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    # Another key has its own budget, and people are not throttled.
    assert second.get(f"{API}/measurements/").status_code == 200
    staff = APIClient()
    staff.force_login(member(evidence.preparation.lab, Role.LAB_STAFF, username="busy"))
    assert [staff.get(f"{API}/measurements/").status_code for _ in range(5)] == [200] * 5
