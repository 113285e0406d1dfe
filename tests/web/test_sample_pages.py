"""Sample list, detail, intake and edit pages."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from evlims.core.models import AuditEvent
from evlims.samples import services
from evlims.samples.models import Aliquot, Sample
from tests.factories import DonorFactory, ProjectFactory

from .conftest import register_sample

INTAKE = reverse("evlims:sample-create")


def intake_data(project, **extra):
    return {"project": project.pk, "biofluid": "blood_plasma", "volume_ml": "3"} | extra


def listed(response):
    return [sample.barcode for sample in response.context["page"]]


class TestSampleList:
    def test_search_by_each_identifier(self, member_client, staff, project, lab):
        donor = DonorFactory(lab=lab, code="DONOR-77")
        first = register_sample(staff, project, external_id="SITE-9", donor=donor, aliquots=[100])
        second = register_sample(staff, project)
        url = reverse("evlims:sample-list")
        aliquot = first.aliquots.get()
        for term in [first.barcode, "site-9", "donor-77", aliquot.barcode]:
            assert listed(member_client.get(url, {"q": term})) == [first.barcode], term
        assert set(listed(member_client.get(url))) == {first.barcode, second.barcode}

    def test_filters(self, member_client, staff, project, lab):
        other_project = ProjectFactory(lab=lab, code="URINE1")
        day = timezone.make_aware(dt.datetime(2024, 3, 10, 9, 0))
        plasma = register_sample(staff, project, collected_at=day)
        urine = register_sample(staff, other_project, biofluid="urine", collected_at=day + dt.timedelta(days=5))
        url = reverse("evlims:sample-list")
        assert listed(member_client.get(url, {"biofluid": "urine"})) == [urine.barcode]
        assert listed(member_client.get(url, {"project": project.pk})) == [plasma.barcode]
        window = {"collected_from": "2024-03-09", "collected_to": "2024-03-11"}
        assert listed(member_client.get(url, window)) == [plasma.barcode]

    def test_invalid_filters_show_errors(self, member_client, sample):
        response = member_client.get(
            reverse("evlims:sample-list"), {"collected_from": "2024-05-01", "collected_to": "2024-04-01"}
        )
        assert response.status_code == 200
        assert response.context["page"] is None
        assert "before its start" in response.content.decode()
        response = member_client.get(reverse("evlims:sample-list"), {"collected_from": "not a date"})
        assert response.context["form"].errors["collected_from"]

    @pytest.mark.parametrize("page", ["2", "abc", "-1"])
    def test_pagination_keeps_filters_and_tolerates_bad_pages(self, member_client, staff, project, settings, page):
        settings.EVLIMS = {"PAGE_SIZE": 2}
        for _ in range(3):
            register_sample(staff, project)
        response = member_client.get(reverse("evlims:sample-list"), {"biofluid": "blood_plasma", "page": page})
        assert response.status_code == 200
        assert response.context["query"] == "biofluid=blood_plasma"
        assert "biofluid=blood_plasma&amp;page=" in response.content.decode()


class TestSampleDetail:
    def test_shows_record_flags_lineage_custody_and_storage(self, member_client, staff, sample, box):
        first, second = sample.aliquots.order_by("id")
        children = services.aliquot_split(actor=staff, aliquot=first, volumes_ul=[100, 100])
        grandchildren = services.aliquot_split(actor=staff, aliquot=children[0], volumes_ul=[40])
        services.aliquot_thaw(actor=staff, aliquot=second)
        services.aliquot_thaw(actor=staff, aliquot=second)
        services.sample_update(
            sample=sample,
            actor=staff,
            reason="Lab report arrived",
            expected_version=sample.version,
            changes={"processing_delay_min": 600, "hemolysis_a414": Decimal("0.5")},
        )
        response = member_client.get(reverse("evlims:sample-detail", args=[sample.pk]))
        html = response.content.decode()
        assert response.context["sprec"] == "PL2-PED-D-X-X-X-X"
        codes = {flag.code for flag in response.context["flags"]}
        assert codes == {"processing_delay", "hemolysis"}
        assert "PMC10196222" in html  # the citation travels with the flag as its tooltip
        lineage = response.context["lineage"]
        assert [node["aliquot"] for node in lineage] == [first, second]
        assert [n["aliquot"] for n in lineage[0]["children"]] == children
        assert [n["aliquot"] for n in lineage[0]["children"][0]["children"]] == grandchildren
        assert f'id="aliquot-{grandchildren[0].pk}"' in html
        assert "Thawed 2 times." in html
        assert "Blood collection and processing" in html and "Cell culture" not in html
        kinds = [event.kind for event in response.context["timeline"]]
        assert kinds.count("thawed") == 2 and "aliquoted" in kinds
        assert f"{box.path}" in html and reverse("evlims:audit", args=["sample", sample.pk]) in html

    def test_culture_medium_shows_culture_fields(self, member_client, staff, project):
        sample = register_sample(staff, project, biofluid="cell_culture_medium", cell_line="HEK293T", passage=12)
        html = member_client.get(reverse("evlims:sample-detail", args=[sample.pk])).content.decode()
        assert "Cell culture" in html and "HEK293T" in html
        assert "Blood collection and processing" not in html

    def test_shows_where_aliquots_went(self, member_client, staff, sample, project):
        from evlims.isolation.models import EVPreparation, IsolationRun

        aliquot = sample.aliquots.order_by("id").first()
        run = IsolationRun.objects.create(
            lab=project.lab, project=project, code="RUN-1", protocol_name="SEC v1", operator=staff
        )
        EVPreparation.objects.create(
            lab=project.lab, run=run, input_aliquot=aliquot, barcode="EVP-1", input_volume_ul=100
        )
        html = member_client.get(reverse("evlims:sample-detail", args=[sample.pk])).content.decode()
        assert "EVP-1 in run RUN-1" in html


class TestIntake:
    def test_registers_sample_with_aliquots_in_a_box(self, member_client, project, box):
        data = intake_data(
            project,
            anticoagulant="k2_edta",
            prep_spin_count="2",
            collected_at="2024-06-01T08:30:00",
            aliquot_count="3",
            aliquot_volume_ul="250",
            box=box.pk,
        )
        response = member_client.post(INTAKE, data)
        sample = Sample.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("evlims:sample-detail", args=[sample.pk])
        assert sample.anticoagulant == "k2_edta" and sample.collected_at.hour == 8
        aliquots = list(sample.aliquots.order_by("id"))
        assert [a.position_label for a in aliquots] == ["A1", "A2", "A3"]
        assert all(a.volume_ul == 250 for a in aliquots)
        assert AuditEvent.objects.get(action="sample.register").actor.username == "staff"

    def test_fields_of_other_biofluids_are_not_kept(self, member_client, project):
        data = intake_data(project, biofluid="urine", urine_collection="spot", anticoagulant="citrate")
        member_client.post(INTAKE, data)
        sample = Sample.objects.get()
        assert (sample.urine_collection, sample.anticoagulant) == ("spot", "")

    @pytest.mark.parametrize(
        "extra, field",
        [
            ({"volume_ml": "-1"}, "volume_ml"),
            ({"volume_ml": "lots"}, "volume_ml"),
            ({"biofluid": "lymph"}, "biofluid"),
            ({"aliquot_count": "2"}, "aliquot_volume_ul"),
            ({"aliquot_count": "2", "aliquot_volume_ul": "0"}, "aliquot_volume_ul"),
            ({"collected_at": "yesterday"}, "collected_at"),
            ({"viability_pct_at_harvest": "150", "biofluid": "cell_culture_medium"}, "viability_pct_at_harvest"),
        ],
    )
    def test_invalid_input_shows_errors_and_writes_nothing(self, member_client, project, extra, field):
        response = member_client.post(INTAKE, intake_data(project, **extra))
        assert response.status_code == 200
        assert field in response.context["form"].errors
        assert not Sample.objects.exists() and not AuditEvent.objects.exists()

    def test_service_refusals_land_on_the_form(self, member_client, staff, project, box):
        register_sample(staff, project, barcode="TAKEN-1")
        response = member_client.post(INTAKE, intake_data(project, barcode="TAKEN-1"))
        assert "already in use" in str(response.context["form"].errors["barcode"])
        response = member_client.post(INTAKE, intake_data(project, aliquot_count="2", aliquot_volume_ul="2000"))
        assert "not yet aliquoted" in str(response.context["form"].errors["aliquot_volume_ul"])
        assert Sample.objects.count() == 1

    def test_another_labs_project_is_not_a_choice(self, member_client, foreign_project):
        response = member_client.post(INTAKE, intake_data(foreign_project))
        assert "project" in response.context["form"].errors
        assert not Sample.objects.exists()


class TestEdit:
    def edit_data(self, sample, **extra):
        return {
            "project": sample.project_id,
            "biofluid": sample.biofluid,
            "volume_ml": str(sample.volume_ml),
            "anticoagulant": sample.anticoagulant,
            "prep_spin_count": sample.prep_spin_count or "",
            "received_at": timezone.localtime(sample.received_at).strftime("%Y-%m-%dT%H:%M:%S"),
            "version": sample.version,
            "reason": "Corrected from the collection sheet",
        } | extra

    def test_saves_changes_with_reason_and_audit(self, member_client, sample):
        url = reverse("evlims:sample-edit", args=[sample.pk])
        response = member_client.post(url, self.edit_data(sample, processing_delay_min="45"))
        assert response.status_code == 302
        sample.refresh_from_db()
        assert sample.processing_delay_min == 45 and sample.version == 2
        event = AuditEvent.objects.get(action="sample.edit")
        assert event.changes == {"processing_delay_min": [None, 45]}
        assert event.reason == "Corrected from the collection sheet"

    def test_reason_is_required(self, member_client, sample):
        url = reverse("evlims:sample-edit", args=[sample.pk])
        response = member_client.post(url, self.edit_data(sample, processing_delay_min="45", reason=""))
        assert "reason" in response.context["form"].errors
        sample.refresh_from_db()
        assert sample.processing_delay_min is None and sample.version == 1

    def test_stale_version_shows_conflict_and_writes_nothing(self, member_client, staff, sample):
        url = reverse("evlims:sample-edit", args=[sample.pk])
        stale = self.edit_data(sample, processing_delay_min="45")
        services.sample_update(
            sample=sample, actor=staff, reason="Someone else", expected_version=1, changes={"tube_type": "BD 367525"}
        )
        response = member_client.post(url, stale)
        assert response.status_code == 200
        assert "changed by someone else" in response.content.decode()
        sample.refresh_from_db()
        assert sample.processing_delay_min is None and sample.tube_type == "BD 367525" and sample.version == 2
        assert AuditEvent.objects.filter(action="sample.edit").count() == 1

    def test_unchanged_form_saves_nothing(self, member_client, sample):
        response = member_client.post(reverse("evlims:sample-edit", args=[sample.pk]), self.edit_data(sample))
        assert "Nothing was changed." in response.content.decode()
        sample.refresh_from_db()
        assert sample.version == 1

    def test_switching_biofluid_clears_fields_that_no_longer_apply(self, member_client, sample):
        url = reverse("evlims:sample-edit", args=[sample.pk])
        member_client.post(url, self.edit_data(sample, biofluid="urine", urine_collection="spot"))
        sample.refresh_from_db()
        assert (sample.biofluid, sample.anticoagulant, sample.prep_spin_count) == ("urine", "", None)
        changes = AuditEvent.objects.get(action="sample.edit").changes
        assert changes["anticoagulant"] == ["k2_edta", ""] and changes["prep_spin_count"] == [2, None]

    def test_invalid_value_shows_error(self, member_client, sample):
        url = reverse("evlims:sample-edit", args=[sample.pk])
        response = member_client.post(url, self.edit_data(sample, volume_ml="0"))
        assert "more than 0 mL" in str(response.context["form"].errors["volume_ml"])
        sample.refresh_from_db()
        assert sample.volume_ml == 4 and Aliquot.objects.count() == 2
