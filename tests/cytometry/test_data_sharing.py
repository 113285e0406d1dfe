"""Where an FCS file is shared (MIFlowCyt-EV's data sharing): recorded by the service (audited, FlowRepository ids
checked and given their address) and on the file's page (the API: tests/api/test_flow_gate_import_api.py);
refusals name the field."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from evlims.core.models import AuditEvent
from evlims.cytometry import gate_services, services
from tests.cytometry.ev_files import ev_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def acquisition(staff, lab):
    return services.acquisition_upload(actor=staff, lab=lab, data=ev_file(), name="ev.fcs")


def test_a_flowrepository_id_is_recorded_with_its_address(staff, acquisition):
    shared = gate_services.acquisition_share(
        actor=staff, acquisition=acquisition, repository="FlowRepository", accession="fr-fcm-z2zy", reason="Paper"
    )
    shared.refresh_from_db()
    assert (shared.data_repository, shared.data_accession, shared.data_url) == (
        "FlowRepository",
        "FR-FCM-Z2ZY",
        "https://flowrepository.org/id/FR-FCM-Z2ZY",
    )
    event = AuditEvent.objects.get(action="flow_acquisition.share")
    assert event.changes["accession"] == "FR-FCM-Z2ZY" and event.reason == "Paper"


def test_another_repository_keeps_its_own_accession_and_address(staff, acquisition):
    shared = gate_services.acquisition_share(
        actor=staff,
        acquisition=acquisition,
        repository="Zenodo",
        accession="10.5281/zenodo.123",
        url="https://zenodo.org/records/123",
    )
    assert (shared.data_repository, shared.data_url) == ("Zenodo", "https://zenodo.org/records/123")


@pytest.mark.parametrize(
    ("repository", "accession", "url", "field"),
    [
        ("FlowRepository", "12345", "", "data_accession"),
        ("", "FR-FCM-Z2ZY", "", "data_repository"),
        ("Zenodo", "", "", "data_accession"),
        ("Zenodo", "123", "javascript:alert(1)", "data_url"),
    ],
)
def test_refusals_name_the_field_and_write_nothing(staff, acquisition, repository, accession, url, field):
    with pytest.raises(ValidationError) as refused:
        gate_services.acquisition_share(
            actor=staff, acquisition=acquisition, repository=repository, accession=accession, url=url
        )
    assert field in refused.value.message_dict
    acquisition.refresh_from_db()
    assert acquisition.data_accession == "" and not AuditEvent.objects.filter(action="flow_acquisition.share").exists()


def test_a_member_of_another_lab_may_not(outsider, acquisition):
    with pytest.raises(PermissionDenied):
        gate_services.acquisition_share(
            actor=outsider, acquisition=acquisition, repository="FlowRepository", accession="FR-FCM-Z2ZY"
        )


def test_on_the_files_page(client, staff, acquisition):
    client.force_login(staff)
    page = f"/flow/acquisitions/{acquisition.pk}/"
    assert "Not recorded as shared" in client.get(page).content.decode()
    body = {"form": "share", "data_repository": "FlowRepository", "data_accession": "FR-FCM-Z2ZY"}
    assert client.post(page, body).status_code == 302
    html = client.get(page).content.decode()
    assert "Shared in FlowRepository" in html and 'href="https://flowrepository.org/id/FR-FCM-Z2ZY"' in html
    refused = client.post(page, {"form": "share", "data_repository": "", "data_accession": "X"})
    assert refused.status_code == 400 and "Name the repository" in refused.content.decode()
