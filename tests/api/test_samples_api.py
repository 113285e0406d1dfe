from decimal import Decimal

import pytest

from evlims.core.models import AuditEvent, Membership, Role
from evlims.samples import services
from evlims.samples.models import Aliquot, CustodyEvent, Sample
from evlims.samples.sprec import sprec_code
from tests.factories import DonorFactory, ProjectFactory, SampleFactory

pytestmark = pytest.mark.django_db
SAMPLES = "/api/v1/samples/"


def new_sample(**extra):
    return {"biofluid": "blood_plasma", "volume_ml": "4.000"} | extra


def test_register_with_first_aliquots_in_a_box(staff_api, staff, project, box):
    donor = DonorFactory(lab=project.lab, project=project)
    payload = new_sample(
        project=project.pk,
        donor=donor.pk,
        external_id="SITE-A-1",
        anticoagulant="k2_edta",
        aliquot_volumes_ul=["500.0", "250.0"],
        box=box.pk,
        reason="Received from site A",
    )
    response = staff_api.post(SAMPLES, payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    sample = Sample.objects.get(pk=body["id"])
    assert body["barcode"] == sample.barcode and sample.barcode.startswith("EVS-")
    assert (body["donor_code"], body["project_code"], body["version"]) == (donor.code, "PLASMA1", 1)
    summary = body["aliquots"]
    assert (summary["total"], summary["available"], summary["available_volume_ul"]) == (2, 2, "750.0")
    assert [item["location"].rsplit(" ", 1)[1] for item in summary["items"]] == ["A1", "A2"]
    register = AuditEvent.objects.get(action="sample.register", object_id=str(sample.pk))
    assert register.actor == staff and register.reason == "Received from site A"
    assert AuditEvent.objects.filter(action="sample.aliquot", object_id=str(sample.pk)).exists()
    assert CustodyEvent.objects.filter(aliquot__sample=sample, kind="received").count() == 2


def test_register_issues_barcode_when_none_given_and_keeps_one_given(staff_api, project):
    given = staff_api.post(SAMPLES, new_sample(project=project.pk, barcode="TUBE-77"), format="json")
    assert given.status_code == 201 and given.json()["barcode"] == "TUBE-77"
    duplicate = staff_api.post(SAMPLES, new_sample(project=project.pk, barcode="TUBE-77"), format="json")
    assert duplicate.status_code == 400 and set(duplicate.json()) == {"barcode"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"volume_ml": "-1"}, "volume_ml"),
        ({"volume_ml": "0"}, "volume_ml"),
        ({"volume_ml": "lots"}, "volume_ml"),
        ({"biofluid": "lymph"}, "biofluid"),
        ({"biofluid": None}, "biofluid"),
        ({"anticoagulant": "honey"}, "anticoagulant"),
        ({"viability_pct_at_harvest": "120"}, "viability_pct_at_harvest"),
        ({"processing_delay_min": -5}, "processing_delay_min"),
        ({"collected_at": "yesterday"}, "collected_at"),
        ({"aliquot_volumes_ul": ["-5"]}, "aliquot_volumes_ul"),
        ({"aliquot_volumes_ul": ["3000", "3000"]}, "aliquot_volumes_ul"),
        ({"project": 999999}, "project"),
        ({"project": None}, "project"),
        ({"donor": 999999}, "donor"),
        ({"box": 999999, "aliquot_volumes_ul": ["10"]}, "box"),
    ],
)
def test_bad_registrations_name_the_field_and_write_nothing(staff_api, project, change, field):
    response = staff_api.post(SAMPLES, new_sample(project=project.pk) | change, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Sample.objects.exists() and not AuditEvent.objects.exists()


def test_box_without_aliquots_is_refused(staff_api, project, box):
    response = staff_api.post(SAMPLES, new_sample(project=project.pk, box=box.pk), format="json")
    assert response.status_code == 400 and set(response.json()) == {"box"}


def test_a_rack_is_not_a_box(staff_api, project, box):
    payload = new_sample(project=project.pk, box=box.parent_id, aliquot_volumes_ul=["10"])
    response = staff_api.post(SAMPLES, payload, format="json")
    assert response.status_code == 400 and "not a box" in response.json()["box"][0]


def test_foreign_ids_in_payload_are_field_errors_that_reveal_nothing(staff_api, project, theirs):
    payload = new_sample(project=theirs.project.pk, donor=theirs.donor.pk, box=theirs.box.pk, aliquot_volumes_ul=["10"])
    response = staff_api.post(SAMPLES, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"project", "donor", "box"}
    # The same answer as for ids that do not exist at all.
    assert body["project"] == [f'Invalid pk "{theirs.project.pk}" - object does not exist.']
    assert "FOREIGN" not in response.content.decode()


def test_donor_of_my_other_lab_is_refused_for_this_project(staff_api, staff, project, other_lab):
    Membership.objects.create(user=staff, lab=other_lab, role=Role.LAB_STAFF)
    other_donor = DonorFactory(lab=other_lab)
    response = staff_api.post(SAMPLES, new_sample(project=project.pk, donor=other_donor.pk), format="json")
    assert response.status_code == 400 and response.json() == {"donor": ["Belongs to another lab."]}


def test_detail_has_quality_flags_sprec_and_aliquot_summary(staff_api, staff, project):
    sample = services.sample_register(
        actor=staff,
        project=project,
        biofluid="blood_plasma",
        volume_ml=Decimal("4"),
        anticoagulant="k2_edta",
        processing_delay_min=600,
        prep_spin_count=1,
        storage_temperature_c=Decimal("-80"),
        aliquot_volumes_ul=[300, 300],
    )
    first = sample.aliquots.order_by("id").first()
    services.aliquot_consume(actor=staff, aliquot=first, volume_ul=300)
    body = staff_api.get(f"{SAMPLES}{sample.pk}/").json()
    assert {flag["code"] for flag in body["quality_flags"]} == {"processing_delay", "single_spin"}
    assert all(flag["citation"] and flag["severity"] in ("warning", "problem") for flag in body["quality_flags"])
    assert body["sprec_code"] == sprec_code(sample) and body["sprec_code"] is not None
    assert body["aliquots"]["by_status"] == {"consumed": 1, "available": 1}
    assert body["aliquots"]["available_volume_ul"] == "300.0"


def test_list_filters_search_and_ordering(staff_api, project, lab):
    other_project = ProjectFactory(lab=lab, code="URINE1")
    donor = DonorFactory(lab=lab)
    early = SampleFactory(project=project, barcode="S-EARLY", external_id="EXT-1", collected_at="2025-01-10T09:00:00Z")
    late = SampleFactory(
        project=project, barcode="S-LATE", donor=donor, biofluid="serum", collected_at="2025-03-10T09:00:00Z"
    )
    urine = SampleFactory(project=other_project, barcode="S-URINE", biofluid="urine", external_id="XYZ")

    def ids(query):
        response = staff_api.get(SAMPLES + query)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert set(ids("")) == {early.pk, late.pk, urine.pk}
    assert ids("?biofluid=serum") == [late.pk]
    assert ids(f"?project={other_project.pk}") == [urine.pk]
    assert ids(f"?donor={donor.pk}") == [late.pk]
    assert ids("?collected_at_after=2025-02-01T00:00:00Z") == [late.pk]
    assert ids("?collected_at_before=2025-02-01T00:00:00Z") == [early.pk]
    assert ids("?search=s-ear") == [early.pk]
    assert ids("?search=XYZ") == [urine.pk]
    assert ids("?ordering=barcode") == [early.pk, late.pk, urine.pk]
    assert ids("?ordering=-barcode") == [urine.pk, late.pk, early.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("biofluid=lymph", "biofluid"),
        ("project=abc", "project"),
        ("collected_at_after=someday", "collected_at"),
    ],
)
def test_bad_filters_are_field_errors(staff_api, ours, query, field):
    response = staff_api.get(f"{SAMPLES}?{query}")
    assert response.status_code == 400 and field in response.json()


def test_edit_bumps_version_and_audits_reason_and_change(staff_api, staff, ours):
    url = f"{SAMPLES}{ours.sample.pk}/"
    payload = {"hemolysis_a414": "0.150", "reason": "A414 measured", "version": 1}
    response = staff_api.patch(url, payload, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["version"] == 2 and response.json()["hemolysis_a414"] == "0.150"
    assert {flag["code"] for flag in response.json()["quality_flags"]} == {"hemolysis_borderline"}
    event = AuditEvent.objects.get(action="sample.edit")
    assert (event.actor, event.reason, event.changes) == (staff, "A414 measured", {"hemolysis_a414": [None, "0.150"]})


def test_stale_version_is_a_conflict_and_writes_nothing(staff_api, ours):
    url = f"{SAMPLES}{ours.sample.pk}/"
    assert staff_api.patch(url, {"remarks": "first", "reason": "r", "version": 1}, format="json").status_code == 200
    response = staff_api.patch(url, {"remarks": "second", "reason": "r", "version": 1}, format="json")
    assert response.status_code == 409
    assert response.json()["current_version"] == 2 and "changed by someone else" in response.json()["detail"]
    ours.sample.refresh_from_db()
    assert (ours.sample.remarks, ours.sample.version) == ("first", 2)
    assert AuditEvent.objects.filter(action="sample.edit").count() == 1


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"remarks": "x", "version": 1}, {"reason"}),
        ({"remarks": "x", "reason": "   ", "version": 1}, {"reason"}),
        ({"remarks": "x", "reason": "why"}, {"version"}),
        ({"remarks": "x", "reason": "why", "version": 0}, {"version"}),
        ({"reason": "why", "version": 1}, {"non_field_errors"}),
        ({"barcode": "NEW", "reason": "why", "version": 1}, {"barcode", "non_field_errors"}),
        ({"volume_ml": "-2", "reason": "why", "version": 1}, {"volume_ml"}),
        ({"biofluid": "lymph", "reason": "why", "version": 1}, {"biofluid"}),
        ({"project": 999999, "reason": "why", "version": 1}, {"project"}),
    ],
)
def test_bad_edits_name_the_field_and_write_nothing(staff_api, ours, payload, fields):
    response = staff_api.patch(f"{SAMPLES}{ours.sample.pk}/", payload, format="json")
    assert response.status_code == 400
    assert set(response.json()) == fields
    ours.sample.refresh_from_db()
    assert ours.sample.version == 1 and not AuditEvent.objects.filter(action="sample.edit").exists()


def test_edit_to_another_labs_project_is_refused(staff_api, ours, theirs):
    payload = {"project": theirs.project.pk, "reason": "move", "version": 1}
    response = staff_api.patch(f"{SAMPLES}{ours.sample.pk}/", payload, format="json")
    assert response.status_code == 400 and set(response.json()) == {"project"}


def test_more_aliquots_from_what_is_left(staff_api, staff, ours):
    url = f"{SAMPLES}{ours.sample.pk}/aliquots/"
    response = staff_api.post(url, {"volumes_ul": ["1500.0", "1500.0"]}, format="json")
    assert response.status_code == 201, response.json()
    assert [row["volume_ul"] for row in response.json()] == ["1500.0", "1500.0"]
    assert all(row["sample"] == ours.sample.pk and row["box"] is None for row in response.json())
    too_much = staff_api.post(url, {"volumes_ul": ["1.0"]}, format="json")
    assert too_much.status_code == 400 and "volumes_ul" in too_much.json()
    assert Aliquot.objects.filter(sample=ours.sample).count() == 4
    assert AuditEvent.objects.filter(action="sample.aliquot", actor=staff).count() == 2
