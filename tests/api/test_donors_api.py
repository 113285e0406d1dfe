import pytest

from evlims.core.models import AuditEvent
from evlims.samples.models import Donor
from tests.factories import DonorFactory, ProjectFactory

pytestmark = pytest.mark.django_db
DONORS = "/api/v1/donors/"


def test_register_a_donor(staff_api, staff, lab, project):
    payload = {"lab": lab.pk, "project": project.pk, "code": "D-42", "sex": "male", "age_band": "60-69"}
    response = staff_api.post(DONORS, payload | {"reason": "Enrolled"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["code"], body["project_code"], body["consent_status"], body["version"]) == (
        "D-42",
        "PLASMA1",
        "pending",
        1,
    )
    event = AuditEvent.objects.get(action="donor.create")
    assert (event.actor, event.reason, event.object_id) == (staff, "Enrolled", str(body["id"]))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "D-1"}, "code"),  # already used in this lab
        ({"code": ""}, "code"),
        ({"sex": "robot"}, "sex"),
        ({"age_band": "17-19"}, "age_band"),
        ({"lab": 999999}, "lab"),
        ({"project": 999999}, "project"),
    ],
)
def test_bad_donors_name_the_field(staff_api, lab, change, field):
    DonorFactory(lab=lab, code="D-1")
    response = staff_api.post(DONORS, {"lab": lab.pk, "code": "D-2"} | change, format="json")
    assert response.status_code == 400 and field in response.json()
    assert Donor.objects.count() == 1


def test_foreign_lab_and_project_are_field_errors(staff_api, lab, theirs):
    response = staff_api.post(DONORS, {"lab": theirs.project.lab_id, "code": "X"}, format="json")
    assert response.status_code == 400 and set(response.json()) == {"lab"}
    response = staff_api.post(DONORS, {"lab": lab.pk, "project": theirs.project.pk, "code": "X"}, format="json")
    assert response.status_code == 400 and set(response.json()) == {"project"}


def test_edit_with_reason_and_version(staff_api, ours):
    url = f"{DONORS}{ours.donor.pk}/"
    payload = {"consent_status": "withdrawn", "reason": "Letter of 2 March", "version": 1}
    response = staff_api.patch(url, payload, format="json")
    assert response.status_code == 200 and response.json()["version"] == 2
    event = AuditEvent.objects.get(action="donor.edit")
    assert event.changes == {"consent_status": ["pending", "withdrawn"]} and event.reason == "Letter of 2 March"
    stale = staff_api.patch(url, {"diagnosis": "x", "reason": "r", "version": 1}, format="json")
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    ours.donor.refresh_from_db()
    assert ours.donor.diagnosis == "" and AuditEvent.objects.filter(action="donor.edit").count() == 1


def test_edit_without_reason_or_to_a_taken_code_is_refused(staff_api, ours, lab):
    DonorFactory(lab=lab, code="TAKEN")
    url = f"{DONORS}{ours.donor.pk}/"
    missing = staff_api.patch(url, {"diagnosis": "x", "version": 1}, format="json")
    assert missing.status_code == 400 and set(missing.json()) == {"reason"}
    taken = staff_api.patch(url, {"code": "TAKEN", "reason": "r", "version": 1}, format="json")
    assert taken.status_code == 400
    ours.donor.refresh_from_db()
    assert ours.donor.version == 1 and not AuditEvent.objects.filter(action="donor.edit").exists()


def test_list_filters_and_search(staff_api, lab, project):
    other = ProjectFactory(lab=lab)
    first = DonorFactory(lab=lab, project=project, code="A-1", diagnosis="Glioblastoma")
    second = DonorFactory(lab=lab, project=other, code="B-2", consent_status="given", sex="male")

    def codes(query):
        return [row["code"] for row in staff_api.get(DONORS + query).json()["results"]]

    assert codes("") == [first.code, second.code]
    assert codes(f"?project={other.pk}") == ["B-2"]
    assert codes("?consent_status=given") == ["B-2"]
    assert codes("?sex=female") == ["A-1"]
    assert codes("?search=glio") == ["A-1"]
    assert codes("?ordering=-code") == ["B-2", "A-1"]
