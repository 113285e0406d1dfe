"""Protocols, isolation runs and preparations through the API: lifecycle, illegal moves, deviations."""

import pytest

from evlims.core.models import AuditEvent
from evlims.isolation.models import IsolationRun, ProtocolVersion
from evlims.samples.models import Aliquot
from tests.api.evidence import LAB_PROTOCOL, STEP_1, STEP_2
from tests.run_states import in_state

pytestmark = pytest.mark.django_db
API = "/api/v1"


def test_run_lifecycle_with_deviations(staff_api, evidence, ours):
    plan = {
        "project": ours.project.pk,
        "protocol_version": evidence.version.pk,
        "inputs": [
            {"aliquot": ours.aliquots[0].barcode, "volume_ul": "200.0"},
            {"aliquot": ours.aliquots[1].pk, "volume_ul": "100.0"},
        ],
        "equipment": "CL-2B column 3",
    }
    response = staff_api.post(f"{API}/runs/", plan, format="json")
    assert response.status_code == 201, response.json()
    run = response.json()
    assert run["status"] == "planned" and len(run["preparations"]) == 2
    assert [step["record"] for step in run["steps"]] == [None, None]
    path = f"{API}/runs/{run['id']}"

    complete_early = staff_api.post(f"{path}/complete/", {}, format="json")
    assert complete_early.status_code == 400
    assert complete_early.json() == {"status": ["A planned run cannot become completed."]}
    step_early = staff_api.post(f"{path}/steps/", {"number": 1, "observed": STEP_1}, format="json")
    assert step_early.status_code == 400 and "status" in step_early.json()

    started = staff_api.post(f"{path}/start/", {}, format="json")
    assert started.status_code == 200 and started.json()["status"] == "in_progress"
    assert Aliquot.objects.get(pk=ours.aliquots[0].pk).volume_ul == 300

    again = staff_api.post(f"{path}/start/", {}, format="json")
    assert again.status_code == 400 and again.json() == {"status": ["A in progress run cannot become in progress."]}

    step = staff_api.post(f"{path}/steps/", {"number": 1, "observed": STEP_1, "notes": "TX-400"}, format="json")
    assert step.status_code == 200
    body = step.json()
    record = body["steps"][0]["record"]
    assert [d["field"] for d in record["deviations"]] == ["g_force"]
    assert record["observed_original"]["g_force"] == "3000 x g" and record["notes"] == "TX-400"
    assert [(d["step"], d["field"]) for d in body["deviations"]] == [(1, "g_force")]

    missing = staff_api.post(f"{path}/complete/", {}, format="json")
    assert missing.status_code == 400 and missing.json() == {"steps": ["Record step(s) 2 before completing."]}
    out_of_range = staff_api.post(f"{path}/steps/", {"number": 3, "observed": STEP_2}, format="json")
    assert out_of_range.status_code == 400 and "number" in out_of_range.json()
    bad_unit = staff_api.post(
        f"{path}/steps/", {"number": 2, "observed": {**STEP_2, "bed_volume_ml": "ten"}}, format="json"
    )
    assert bad_unit.status_code == 400 and any(key.startswith("steps[2]") for key in bad_unit.json())
    assert staff_api.post(f"{path}/steps/", {"number": 2, "observed": STEP_2}, format="json").status_code == 200

    first_prep = run["preparations"][0]["id"]
    foreign = staff_api.post(f"{path}/complete/", {"outputs": [{"preparation": 999999}]}, format="json")
    assert foreign.status_code == 400 and "outputs" in foreign.json()
    twice = [{"preparation": first_prep}, {"preparation": first_prep}]
    assert staff_api.post(f"{path}/complete/", {"outputs": twice}, format="json").status_code == 400
    done = staff_api.post(
        f"{path}/complete/",
        {"outputs": [{"preparation": first_prep, "final_volume_ul": "1500.0", "buffer": "PBS"}]},
        format="json",
    )
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "completed"
    assert done.json()["preparations"][0]["final_volume_ul"] == "1500.0"

    abort = staff_api.post(f"{path}/abort/", {"reason": "late"}, format="json")
    assert abort.status_code == 400 and abort.json() == {"status": ["A completed run cannot become aborted."]}
    assert AuditEvent.objects.filter(action__startswith="run.", object_id=str(run["id"])).count() == 5


def test_abort_needs_a_reason(staff_api, evidence):
    in_state(evidence.run, IsolationRun.Status.PLANNED)
    path = f"{API}/runs/{evidence.run.pk}/abort/"
    assert staff_api.post(path, {}, format="json").json() == {"reason": ["This field is required."]}
    blank = staff_api.post(path, {"reason": "  "}, format="json")
    assert blank.status_code == 400 and "reason" in blank.json()
    response = staff_api.post(path, {"reason": "Column cracked"}, format="json")
    assert response.status_code == 200 and response.json()["abort_reason"] == "Column cracked"
    assert staff_api.post(f"{API}/runs/{evidence.run.pk}/start/", {}, format="json").status_code == 400


def test_plan_refusals_name_the_input(staff_api, evidence, ours, their_evidence, theirs):
    base = {"project": ours.project.pk, "protocol_version": evidence.version.pk}
    cases = [
        ({"inputs": [{"aliquot": "EVA-NOPE", "volume_ul": "10.0"}]}, "inputs"),
        ({"inputs": [{"aliquot": theirs.aliquots[0].barcode, "volume_ul": "10.0"}]}, "inputs"),
        ({"inputs": [{"aliquot": ours.aliquots[0].pk, "volume_ul": "0"}]}, "inputs"),
        ({"inputs": [{"aliquot": ours.aliquots[0].pk, "volume_ul": "9000.0"}]}, "inputs"),
        ({"inputs": []}, "inputs"),
        ({"inputs": [{"aliquot": ours.aliquots[0].pk, "volume_ul": "10.0"}], "project": theirs.project.pk}, "project"),
        (
            {
                "inputs": [{"aliquot": ours.aliquots[0].pk, "volume_ul": "10.0"}],
                "protocol_version": their_evidence.version.pk,
            },
            "protocol_version",
        ),
    ]
    before = IsolationRun.objects.count()
    for change, field in cases:
        response = staff_api.post(f"{API}/runs/", base | change, format="json")
        assert response.status_code == 400, (change, response.json())
        assert field in response.json(), (change, response.json())
    unknown = staff_api.post(
        f"{API}/runs/", base | {"inputs": [{"aliquot": "EVA-NOPE", "volume_ul": "10.0"}]}, format="json"
    )
    assert unknown.json() == {"inputs": {"0": {"aliquot": ["No aliquot EVA-NOPE in your labs."]}}}
    assert IsolationRun.objects.count() == before


def test_draft_versions_cannot_run(staff_api, staff, lab, ours):
    from evlims.isolation.services import protocol_version_save_draft

    draft = protocol_version_save_draft(actor=staff, lab=lab, source_text=LAB_PROTOCOL)
    response = staff_api.post(
        f"{API}/runs/",
        {
            "project": ours.project.pk,
            "protocol_version": draft.pk,
            "inputs": [{"aliquot": ours.aliquots[0].pk, "volume_ul": "10.0"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"protocol_version": ["Runs follow approved protocol versions only."]}


def test_protocol_versions_draft_approve_retire(staff_api, qa_api, lab, evidence):
    text = LAB_PROTOCOL.replace("version: 1.0.0", "version: 1.1.0")
    response = staff_api.post(f"{API}/protocol-versions/", {"lab": lab.pk, "source_text": text}, format="json")
    assert response.status_code == 201, response.json()
    version = response.json()
    assert version["status"] == "draft" and version["version"] == "1.1.0" and "lab-sec" in version["source_text"]
    assert version["definition"]["steps"][0]["method"] == "differential_centrifugation"
    path = f"{API}/protocol-versions/{version['id']}"
    assert staff_api.post(f"{path}/approve/", {}, format="json").status_code == 403
    assert qa_api.post(f"{path}/retire/", {"reason": "x"}, format="json").json() == {
        "status": ["Only approved versions can be retired."]
    }
    approved = qa_api.post(f"{path}/approve/", {"reason": "Checked"}, format="json")
    assert approved.status_code == 200 and approved.json()["approved_by"] == "qa"
    frozen = staff_api.post(f"{API}/protocol-versions/", {"lab": lab.pk, "source_text": text}, format="json")
    assert frozen.status_code == 400 and "version" in frozen.json()
    assert qa_api.post(f"{path}/retire/", {}, format="json").json() == {"reason": ["This field is required."]}
    retired = qa_api.post(f"{path}/retire/", {"reason": "Superseded"}, format="json")
    assert retired.status_code == 200 and retired.json()["status"] == "retired"


def test_nobody_approves_their_own_version(admin_api, lab, evidence):
    text = LAB_PROTOCOL.replace("version: 1.0.0", "version: 2.0.0")
    version = admin_api.post(f"{API}/protocol-versions/", {"lab": lab.pk, "source_text": text}, format="json").json()
    response = admin_api.post(f"{API}/protocol-versions/{version['id']}/approve/", {}, format="json")
    assert response.status_code == 400 and "approved_by" in response.json()
    assert ProtocolVersion.objects.get(pk=version["id"]).status == "draft"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("slug: x\n  bad: [", "source_text"),
        ("- just a list", "source_text"),
        (LAB_PROTOCOL.replace("duration_min: 15", "duration_min: -15"), "steps[1].duration_min"),
    ],
)
def test_invalid_protocol_text_names_the_place(staff_api, lab, text, field):
    response = staff_api.post(f"{API}/protocol-versions/", {"lab": lab.pk, "source_text": text}, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not ProtocolVersion.objects.exists()


def test_protocol_version_for_another_lab_is_refused(staff_api, other_lab):
    response = staff_api.post(
        f"{API}/protocol-versions/", {"lab": other_lab.pk, "source_text": LAB_PROTOCOL}, format="json"
    )
    assert response.status_code == 400 and list(response.json()) == ["lab"]


def test_library_protocols_are_shared_and_frozen(qa_api, staff_api, evidence):
    from evlims.isolation.services import library_load

    library_load()
    rows = staff_api.get(f"{API}/protocols/?library=true&page_size=100").json()["results"]
    assert rows and all(row["library"] and row["lab"] is None for row in rows)
    version = ProtocolVersion.objects.filter(from_library=True, status="approved").first()
    assert staff_api.get(f"{API}/protocol-versions/{version.pk}/").status_code == 200
    response = qa_api.post(f"{API}/protocol-versions/{version.pk}/retire/", {"reason": "no"}, format="json")
    assert response.status_code == 400 and "status" in response.json()
