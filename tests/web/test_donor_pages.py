"""Donor list, detail, registration and edit pages."""

import pytest
from django.db import IntegrityError
from django.urls import reverse

from evlims.core.models import AuditEvent, Membership, Role
from evlims.samples import services
from evlims.samples.models import Donor
from evlims.samples.services import donors
from tests.factories import DonorFactory, ProjectFactory, member

from .conftest import register_sample

CREATE = reverse("evlims:donor-create")
LIST = reverse("evlims:donor-list")


def create_data(lab, **extra):
    return {"lab": lab.pk, "code": "D-0042", "sex": "female", "age_band": "50-59", "consent_status": "given"} | extra


def listed(response):
    return [donor.code for donor in response.context["page"]]


@pytest.fixture
def donor(staff, lab, project):
    return services.donor_create(actor=staff, lab=lab, code="D-0001", project=project, sex="male", age_band="60-69")


@pytest.fixture
def foreign_donor(outsider, other_lab):
    return services.donor_create(actor=outsider, lab=other_lab, code="FOREIGN-D1")


class TestList:
    def test_search_by_code(self, member_client, lab):
        for code in ("PDAC-001", "PDAC-002", "CTRL-001"):
            DonorFactory(lab=lab, code=code)
        assert listed(member_client.get(LIST, {"q": "pdac"})) == ["PDAC-001", "PDAC-002"]
        assert listed(member_client.get(LIST, {"q": "  ctrl-001 "})) == ["CTRL-001"]
        assert listed(member_client.get(LIST)) == ["CTRL-001", "PDAC-001", "PDAC-002"]
        assert "No donors match." in member_client.get(LIST, {"q": "nobody"}).content.decode()

    def test_pages_keep_the_search(self, member_client, lab, settings):
        settings.EVLIMS = {"PAGE_SIZE": 2}
        for number in range(5):
            DonorFactory(lab=lab, code=f"PDAC-{number:03d}")
        DonorFactory(lab=lab, code="CTRL-001")
        first = member_client.get(LIST, {"q": "PDAC"})
        assert listed(first) == ["PDAC-000", "PDAC-001"]
        assert first.context["page"].paginator.count == 5
        assert "q=PDAC&amp;page=2" in first.content.decode()
        assert listed(member_client.get(LIST, {"q": "PDAC", "page": 3})) == ["PDAC-004"]

    def test_counts_samples_and_links_to_the_donor(self, member_client, staff, project, donor):
        register_sample(staff, project, donor=donor)
        register_sample(staff, project, donor=donor)
        response = member_client.get(LIST)
        assert [d.sample_count for d in response.context["page"]] == [2]
        assert reverse("evlims:donor-detail", args=[donor.pk]) in response.content.decode()

    def test_shows_only_the_users_labs(self, member_client, donor, foreign_donor):
        response = member_client.get(LIST, {"q": "D"})
        assert listed(response) == [donor.code]
        assert foreign_donor.code not in response.content.decode()

    def test_readers_see_the_list_without_the_register_button(self, client, lab, donor):
        client.force_login(member(lab, Role.QA_MANAGER, username="reviewer"))
        response = client.get(LIST)
        assert listed(response) == [donor.code]
        assert CREATE not in response.content.decode()


class TestDetail:
    def test_shows_the_record_and_links_its_samples(self, member_client, staff, project, donor):
        sample = register_sample(staff, project, donor=donor, aliquots=[100])
        other = register_sample(staff, project)
        response = member_client.get(reverse("evlims:donor-detail", args=[donor.pk]))
        html = response.content.decode()
        assert [s.barcode for s in response.context["samples"]] == [sample.barcode]
        assert response.context["samples"][0].aliquot_count == 1
        assert reverse("evlims:sample-detail", args=[sample.pk]) in html and other.barcode not in html
        assert "60-69" in html and reverse("evlims:donor-edit", args=[donor.pk]) in html

    def test_sample_pages_link_to_the_donor(self, member_client, staff, project, donor):
        sample = register_sample(staff, project, donor=donor)
        donor_url = reverse("evlims:donor-detail", args=[donor.pk])
        assert donor_url in member_client.get(reverse("evlims:sample-detail", args=[sample.pk])).content.decode()
        assert donor_url in member_client.get(reverse("evlims:sample-list")).content.decode()
        assert CREATE in member_client.get(reverse("evlims:sample-create")).content.decode()


class TestCreate:
    def test_registers_a_donor_with_its_audit_event(self, member_client, staff, lab, project):
        response = member_client.post(CREATE, create_data(lab, project=project.pk, diagnosis="PDAC"))
        donor = Donor.objects.get(code="D-0042")
        assert response.status_code == 302 and response["Location"] == reverse("evlims:donor-detail", args=[donor.pk])
        assert (donor.lab, donor.project, donor.sex, donor.diagnosis) == (lab, project, "female", "PDAC")
        event = AuditEvent.objects.get(action="donor.create")
        assert event.actor == staff and event.object_id == str(donor.pk)
        assert event.changes["code"] == "D-0042" and event.reason == "Registered on the donor page"

    def test_the_users_only_lab_is_preselected(self, member_client, lab):
        form = member_client.get(CREATE).context["form"]
        assert form["lab"].value() == lab.pk

    def test_a_code_used_in_the_lab_is_an_error_on_the_code(self, member_client, lab, donor):
        response = member_client.post(CREATE, create_data(lab, code=donor.code))
        assert response.status_code == 200
        assert response.context["form"].errors["code"] == ["Donor code 'D-0001' is already used in this lab."]
        assert Donor.objects.count() == 1 and AuditEvent.objects.filter(action="donor.create").count() == 1

    def test_the_same_code_in_another_lab_is_allowed(self, member_client, lab, foreign_donor):
        response = member_client.post(CREATE, create_data(lab, code=foreign_donor.code))
        assert response.status_code == 302
        assert Donor.objects.filter(code=foreign_donor.code).count() == 2

    @pytest.mark.parametrize(
        ("field", "value"),
        [("code", ""), ("sex", "robot"), ("age_band", "17-18"), ("consent_status", "maybe"), ("lab", "")],
    )
    def test_invalid_input_shows_errors_and_writes_nothing(self, member_client, lab, field, value):
        response = member_client.post(CREATE, create_data(lab) | {field: value})
        assert response.status_code == 200
        assert field in response.context["form"].errors
        assert not Donor.objects.exists() and not AuditEvent.objects.exists()

    def test_another_labs_project_and_lab_are_not_choices(self, member_client, lab, other_lab, foreign_project):
        response = member_client.post(CREATE, create_data(lab, project=foreign_project.pk))
        assert "project" in response.context["form"].errors
        response = member_client.post(CREATE, create_data(other_lab))
        assert "lab" in response.context["form"].errors
        assert not Donor.objects.exists()

    def test_a_project_of_another_of_the_users_labs_is_an_error_on_the_project(
        self, member_client, staff, lab, other_lab
    ):
        Membership.objects.create(user=staff, lab=other_lab, role=Role.LAB_STAFF)
        lab_b_project = ProjectFactory(lab=other_lab)
        response = member_client.post(CREATE, create_data(lab, project=lab_b_project.pk))
        assert response.context["form"].errors["project"] == ["Belongs to another lab."]
        assert not Donor.objects.exists()
        assert member_client.post(CREATE, create_data(other_lab, project=lab_b_project.pk)).status_code == 302

    def test_a_code_saved_by_someone_else_meanwhile_is_an_error_on_the_code(
        self, member_client, staff, lab, monkeypatch
    ):
        """The checks pass, then another user's donor takes the code before the insert: a form error."""
        build = donors.donor_build

        def validated_before_the_other_donor_is_saved(**kwargs):
            donor = build(**kwargs)
            DonorFactory(lab=lab, code=kwargs["code"])  # saved by someone else between the checks and the insert
            return donor

        monkeypatch.setattr(donors, "donor_build", validated_before_the_other_donor_is_saved)
        response = member_client.post(CREATE, create_data(lab))
        assert response.status_code == 200
        assert response.context["form"].errors["code"] == ["Donor code 'D-0042' is already used in this lab."]
        # Nothing of the refused write is kept (the stand-in for the other user's donor shared its transaction).
        assert not Donor.objects.filter(code="D-0042").exists()

    def test_an_integrity_error_that_is_not_the_code_is_not_hidden(self, member_client, lab, monkeypatch):
        def broken(self, *args, **kwargs):
            raise IntegrityError("something else")

        monkeypatch.setattr(Donor, "save", broken)
        with pytest.raises(IntegrityError):
            member_client.post(CREATE, create_data(lab))


class TestEdit:
    def edit_data(self, donor, **extra):
        return {
            "project": donor.project_id or "",
            "code": donor.code,
            "sex": donor.sex,
            "age_band": donor.age_band,
            "diagnosis": donor.diagnosis,
            "diagnosis_ontology_id": donor.diagnosis_ontology_id,
            "consent_status": donor.consent_status,
            "version": donor.version,
            "reason": "Donor letter of 2025-03-02",
        } | extra

    def test_saves_changes_with_reason_and_audit(self, member_client, staff, donor):
        url = reverse("evlims:donor-edit", args=[donor.pk])
        assert member_client.get(url).context["form"]["version"].value() == 1
        response = member_client.post(url, self.edit_data(donor, consent_status="withdrawn"))
        assert response.status_code == 302
        donor.refresh_from_db()
        assert donor.consent_status == "withdrawn" and donor.version == 2
        event = AuditEvent.objects.get(action="donor.edit")
        assert event.changes == {"consent_status": ["pending", "withdrawn"]}
        assert event.reason == "Donor letter of 2025-03-02" and event.actor == staff

    def test_reason_is_required(self, member_client, donor):
        url = reverse("evlims:donor-edit", args=[donor.pk])
        response = member_client.post(url, self.edit_data(donor, consent_status="withdrawn", reason=""))
        assert "reason" in response.context["form"].errors
        donor.refresh_from_db()
        assert donor.consent_status == "pending" and donor.version == 1

    def test_stale_version_shows_conflict_and_writes_nothing(self, member_client, staff, donor):
        url = reverse("evlims:donor-edit", args=[donor.pk])
        stale = self.edit_data(donor, diagnosis="PDAC")
        services.donor_update(
            donor=donor, actor=staff, reason="Someone else", expected_version=1, changes={"age_band": "70-79"}
        )
        response = member_client.post(url, stale)
        assert response.status_code == 200
        assert "changed by someone else" in response.content.decode()
        donor.refresh_from_db()
        assert (donor.diagnosis, donor.age_band, donor.version) == ("", "70-79", 2)
        assert AuditEvent.objects.filter(action="donor.edit").count() == 1

    def test_unchanged_form_saves_nothing(self, member_client, donor):
        response = member_client.post(reverse("evlims:donor-edit", args=[donor.pk]), self.edit_data(donor))
        assert "Nothing was changed." in response.content.decode()
        donor.refresh_from_db()
        assert donor.version == 1

    def test_a_code_used_by_another_donor_of_the_lab_is_an_error_on_the_code(self, member_client, lab, donor):
        DonorFactory(lab=lab, code="D-0002")
        response = member_client.post(
            reverse("evlims:donor-edit", args=[donor.pk]), self.edit_data(donor, code="D-0002")
        )
        assert response.context["form"].errors["code"] == ["Donor code 'D-0002' is already used in this lab."]
        donor.refresh_from_db()
        assert (donor.code, donor.version) == ("D-0001", 1)

    def test_the_project_is_one_of_the_donors_lab(self, member_client, staff, other_lab, donor):
        Membership.objects.create(user=staff, lab=other_lab, role=Role.LAB_STAFF)
        elsewhere = ProjectFactory(lab=other_lab)
        response = member_client.post(
            reverse("evlims:donor-edit", args=[donor.pk]), self.edit_data(donor, project=elsewhere.pk)
        )
        assert "project" in response.context["form"].errors
        donor.refresh_from_db()
        assert donor.version == 1


class TestAccess:
    def test_another_labs_donor_is_not_found(self, member_client, foreign_donor):
        for name in ("evlims:donor-detail", "evlims:donor-edit"):
            url = reverse(name, args=[foreign_donor.pk])
            response = member_client.get(url)
            assert response.status_code == 404, url
            assert foreign_donor.code not in response.content.decode()
        edit = reverse("evlims:donor-edit", args=[foreign_donor.pk])
        response = member_client.post(edit, {"code": "TAKEN", "reason": "x", "version": 1, "sex": "male"})
        assert response.status_code == 404
        foreign_donor.refresh_from_db()
        assert (foreign_donor.code, foreign_donor.version) == ("FOREIGN-D1", 1)

    def test_read_only_roles_are_refused(self, client, lab, donor):
        client.force_login(member(lab, Role.QA_MANAGER, username="reviewer"))
        edit = reverse("evlims:donor-edit", args=[donor.pk])
        for url in (CREATE, edit):
            response = client.get(url)
            assert response.status_code == 403, url
            assert b"Not allowed" in response.content
        assert client.post(CREATE, create_data(lab, code="D-9")).status_code == 403
        response = client.post(edit, TestEdit().edit_data(donor, consent_status="withdrawn"))
        assert response.status_code == 403
        donor.refresh_from_db()
        assert (Donor.objects.count(), donor.version, donor.consent_status) == (1, 1, "pending")
        assert client.get(reverse("evlims:donor-detail", args=[donor.pk])).status_code == 200
        assert edit not in client.get(reverse("evlims:donor-detail", args=[donor.pk])).content.decode()

    def test_a_reader_in_the_donors_lab_is_refused_even_when_writing_elsewhere(self, client, lab, other_lab, donor):
        user = member(lab, Role.QA_MANAGER, username="reviewer")
        Membership.objects.create(user=user, lab=other_lab, role=Role.LAB_STAFF)
        client.force_login(user)
        edit = reverse("evlims:donor-edit", args=[donor.pk])
        response = client.post(edit, TestEdit().edit_data(donor, consent_status="withdrawn"))
        assert response.status_code == 403
        assert "lab" in client.get(CREATE).context["form"].fields
        assert list(client.get(CREATE).context["form"].fields["lab"].queryset) == [other_lab]
        donor.refresh_from_db()
        assert donor.version == 1

    def test_anonymous_visitors_are_sent_to_sign_in(self, client, donor):
        for url in (LIST, CREATE, reverse("evlims:donor-detail", args=[donor.pk])):
            response = client.get(url)
            assert response.status_code == 302 and response["Location"].startswith(reverse("evlims:login"))


class TestRegisterASampleForTheDonor:
    INTAKE = reverse("evlims:sample-create")

    def test_the_donor_page_links_to_intake_with_the_donor_and_its_project_chosen(self, member_client, donor):
        page = member_client.get(reverse("evlims:donor-detail", args=[donor.pk])).content.decode()
        assert f'{self.INTAKE}?donor={donor.pk}"' in page
        form = member_client.get(self.INTAKE, {"donor": donor.pk}).context["form"]
        assert form.initial == {"donor": donor.pk, "project": donor.project_id}

    def test_a_donor_the_user_cannot_write_for_or_junk_opens_intake_blank(self, member_client, foreign_donor, lab):
        for value in (foreign_donor.pk, "x1", "", "999999"):
            response = member_client.get(self.INTAKE, {"donor": value})
            assert response.status_code == 200
            assert response.context["form"].initial == {}
