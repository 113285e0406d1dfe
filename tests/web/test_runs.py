"""Run list, run page and the run wizard: plan, start, record steps, complete or abort."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from evlims.characterization.models import Measurement
from evlims.core.models import Membership, Role
from evlims.isolation import services
from evlims.isolation.models import EVPreparation, IsolationRun, ProtocolVersion, RunStep
from evlims.samples.models import Aliquot
from evlims.web.forms.run_steps import StepRecordForm
from tests.factories import ProjectFactory, member

from .conftest import register_sample
from .test_protocols import LAB_PROTOCOL

NEW = reverse("evlims:run-new")

STEP_1 = {"g_force": "2,500 x g", "duration_min": "15 min", "temperature_c": "20", "fraction_kept": "supernatant"}
STEP_2 = {
    "resin": "Sepharose CL-2B",
    "bed_volume_ml": "10",
    "sample_volume_ml": "1 mL",
    "fraction_volume_ml": "0.5",
    "fractions_collected": "20",
    "fractions_pooled": "4, 5, 6",
    "buffer": "PBS",
}
# The same step as the service takes it from code: typed values, not form text.
STEP_2_TYPED = STEP_2 | {"fractions_collected": 20, "fractions_pooled": [4, 5, 6]}


@pytest.fixture
def version(lab, staff, qa_manager):
    draft = services.protocol_version_save_draft(actor=staff, lab=lab, source_text=LAB_PROTOCOL)
    return services.protocol_version_approve(actor=qa_manager, version=draft)


@pytest.fixture
def aliquots(staff, project):
    sample = register_sample(staff, project, aliquots=[1000, 1000, 1000, 400])
    return list(sample.aliquots.order_by("id"))


def plan(staff, project, version, aliquots, volume=200):
    return services.run_plan(
        actor=staff, project=project, protocol_version=version, inputs=[(a, volume) for a in aliquots]
    )


def started(staff, project, version, aliquots, volume=200):
    run = plan(staff, project, version, aliquots, volume)
    return services.run_start(actor=staff, run=run)


def plan_data(version, project, **extra):
    return {"protocol_version": version.pk, "project": project.pk} | extra


@pytest.fixture
def foreign_run(other_lab, outsider):
    text = LAB_PROTOCOL.replace("slug: lab-sec", "slug: secret-sec")
    draft = services.protocol_version_save_draft(actor=outsider, lab=other_lab, source_text=text)
    reviewer = member(other_lab, Role.QA_MANAGER, username="foreign-qa")
    foreign_version = services.protocol_version_approve(actor=reviewer, version=draft)
    foreign_project = ProjectFactory(lab=other_lab, code="FOREIGN")
    sample = register_sample(outsider, foreign_project, aliquots=[300])
    return started(outsider, foreign_project, foreign_version, list(sample.aliquots.all()))


def run_urls(run):
    return [
        reverse("evlims:run-detail", args=[run.pk]),
        reverse("evlims:run-step", args=[run.pk, 1]),
        reverse("evlims:run-complete", args=[run.pk]),
        reverse("evlims:run-abort", args=[run.pk]),
    ]


class TestAccess:
    def test_pages_render_for_a_member(self, member_client, staff, project, version, aliquots):
        run = started(staff, project, version, aliquots[:1])
        for url in [reverse("evlims:run-list"), NEW, *run_urls(run)]:
            response = member_client.get(url)
            assert response.status_code == 200, url
            assert b"Vesicle Lab" in response.content, url
        picker = member_client.get(reverse("evlims:run-aliquot-picker"))
        assert aliquots[1].barcode.encode() in picker.content

    def test_anonymous_visitors_are_sent_to_sign_in(self, client, staff, project, version, aliquots):
        run = plan(staff, project, version, aliquots[:1])
        for url in [reverse("evlims:run-list"), NEW, *run_urls(run)]:
            response = client.get(url)
            assert response.status_code == 302 and "/login/" in response["Location"], url

    def test_another_labs_runs_are_not_found(self, member_client, foreign_run):
        for url in run_urls(foreign_run):
            response = member_client.get(url)
            assert response.status_code == 404, url
            assert foreign_run.code.encode() not in response.content
        posts = run_urls(foreign_run)[1:] + [reverse("evlims:run-start", args=[foreign_run.pk])]
        for url in posts:
            assert member_client.post(url, {"reason": "not mine"}).status_code == 404, url
        foreign_run.refresh_from_db()
        assert foreign_run.status == IsolationRun.Status.IN_PROGRESS
        listed = member_client.get(reverse("evlims:run-list")).content.decode()
        assert foreign_run.code not in listed

    def test_another_labs_versions_and_aliquots_cannot_be_planned(self, member_client, project, foreign_run):
        foreign_version = foreign_run.protocol_version
        response = member_client.post(NEW, plan_data(foreign_version, project, barcodes="X"))
        assert "protocol_version" in response.context["form"].errors
        picker = member_client.get(reverse("evlims:run-aliquot-picker")).content.decode()
        assert foreign_run.preparations.get().input_aliquot.barcode not in picker

    def test_readers_get_the_403_page_on_wizard_pages(self, client, lab, staff, project, version, aliquots):
        run = started(staff, project, version, aliquots[:1])
        client.force_login(member(lab, Role.QA_MANAGER, username="reviewer"))
        assert client.get(reverse("evlims:run-detail", args=[run.pk])).status_code == 200
        for url in [NEW, *run_urls(run)[1:]]:
            assert client.get(url).status_code == 403, url


class TestPlanning:
    def test_scanned_lines_and_ticked_aliquots_plan_one_preparation_each(
        self, member_client, project, version, aliquots
    ):
        first, second, third, small = aliquots
        data = plan_data(
            version,
            project,
            barcodes=f"{first.barcode} 500\n\n{second.barcode.lower()}  0.25 mL\n{small.barcode}",
            default_volume="",
            equipment="CL-2B lot 42",
            aliquot=[str(third.pk)],
            **{f"volume_{third.pk}": ""},
        )
        response = member_client.post(NEW, data | {"default_volume": "300"})
        run = IsolationRun.objects.get()
        assert response["Location"] == reverse("evlims:run-detail", args=[run.pk])
        volumes = {p.input_aliquot_id: p.input_volume_ul for p in run.preparations.all()}
        assert volumes == {first.pk: 500, second.pk: 250, small.pk: 300, third.pk: 300}
        assert run.status == IsolationRun.Status.PLANNED and run.equipment == "CL-2B lot 42"
        assert Aliquot.objects.get(pk=first.pk).volume_ul == 1000  # nothing is taken before the start

    def test_without_a_volume_the_whole_aliquot_is_used(self, member_client, project, version, aliquots):
        member_client.post(NEW, plan_data(version, project, barcodes=aliquots[3].barcode))
        assert EVPreparation.objects.get().input_volume_ul == 400

    @pytest.mark.parametrize(
        ("lines", "message"),
        [
            ("EVA-999999", "Line 1 (EVA-999999): no aliquot with this barcode in your labs."),
            ("{0} 5000", "Line 1 ({0}): holds 1000.0 µL; 5000.0 µL requested."),
            ("{0} 100\n{0} 100", "Line 2 ({0}): listed twice."),
            ("{0} lots", "Line 1 ({0}): &#x27;lots&#x27; is not a volume"),
            ("{0} 0", "a volume must be more than 0 µL"),
            ("", "Scan or tick at least one aliquot."),
        ],
    )
    def test_bad_inputs_are_form_errors_and_write_nothing(
        self, member_client, project, version, aliquots, lines, message
    ):
        barcodes = lines.format(aliquots[0].barcode)
        response = member_client.post(NEW, plan_data(version, project, barcodes=barcodes))
        assert response.status_code == 200
        assert message.format(aliquots[0].barcode) in response.content.decode()
        assert response.context["form"].errors["barcodes"]
        assert not IsolationRun.objects.exists() and not EVPreparation.objects.exists()

    def test_ticked_aliquot_beyond_its_volume_is_refused(self, member_client, project, version, aliquots):
        small = aliquots[3]
        data = plan_data(version, project, aliquot=[str(small.pk)], **{f"volume_{small.pk}": "1 mL"})
        response = member_client.post(NEW, data)
        assert f"{small.barcode}: holds 400.0 µL; 1000.0 µL requested." in response.content.decode()
        assert not IsolationRun.objects.exists()
        # The ticked row comes back ticked with what was typed.
        [row] = [a for a in response.context["aliquots"] if a.pk == small.pk]
        assert row.ticked and row.ticked_volume == "1 mL"

    def test_consumed_aliquot_is_refused(self, member_client, staff, project, version, aliquots):
        started(staff, project, version, [aliquots[3]], volume=400)
        response = member_client.post(NEW, plan_data(version, project, barcodes=f"{aliquots[3].barcode} 10"))
        assert "is consumed, not available." in response.content.decode()
        assert IsolationRun.objects.count() == 1

    def test_aliquot_of_another_lab_than_the_project_is_refused(self, member_client, staff, aliquots):
        services.library_load()
        shipped = ProtocolVersion.objects.get(protocol__slug="sec-qev-70nm", protocol__lab=None)
        second_lab_project = ProjectFactory(code="ELSEWHERE")
        Membership.objects.create(user=staff, lab=second_lab_project.lab, role=Role.LAB_STAFF)
        response = member_client.post(NEW, plan_data(shipped, second_lab_project, barcodes=f"{aliquots[0].barcode} 10"))
        assert response.status_code == 200
        assert f"{aliquots[0].barcode} belongs to another lab." in response.context["form"].non_field_errors()
        assert not IsolationRun.objects.exists()

    def test_another_labs_version_is_refused_by_the_service(self, member_client, staff, version, aliquots):
        second_lab_project = ProjectFactory(code="ELSEWHERE")
        Membership.objects.create(user=staff, lab=second_lab_project.lab, role=Role.LAB_STAFF)
        response = member_client.post(NEW, plan_data(version, second_lab_project, barcodes=aliquots[0].barcode))
        assert response.context["form"].errors["protocol_version"] == ["Belongs to another lab."]
        assert not IsolationRun.objects.exists()

    def test_picker_filters_available_aliquots(self, member_client, staff, project, aliquots):
        other = register_sample(staff, ProjectFactory(lab=project.lab, code="URINE"), aliquots=[50])
        url = reverse("evlims:run-aliquot-picker")
        listed = {a.pk for a in member_client.get(url, {"find-project": project.pk}).context["aliquots"]}
        assert listed == {a.pk for a in aliquots}
        found = member_client.get(url, {"find-q": other.barcode}).context["aliquots"]
        assert [a.sample_id for a in found] == [other.pk]

    def test_protocol_version_is_preselected_from_the_version_page(self, member_client, version):
        response = member_client.get(NEW, {"version": version.pk})
        assert response.context["form"].initial["protocol_version"] == str(version.pk)


class TestWizard:
    def test_start_record_steps_and_complete(self, member_client, staff, project, version, aliquots):
        run = plan(staff, project, version, aliquots[:2])
        response = member_client.post(reverse("evlims:run-start", args=[run.pk]))
        assert response["Location"] == reverse("evlims:run-step", args=[run.pk, 1])
        assert Aliquot.objects.get(pk=aliquots[0].pk).volume_ul == 800

        step_url = reverse("evlims:run-step", args=[run.pk, 1])
        form = member_client.get(step_url).context["form"]
        assert form.initial["g_force"] == "2,500 x g" and form.initial["temperature_c"] == "20"
        assert "rotor" in [f.name for f in form.other_fields()]

        response = member_client.post(step_url, STEP_1 | {"g_force": "3,000 x g", "notes": "Rotor swapped"})
        assert response["Location"] == reverse("evlims:run-step", args=[run.pk, 2])
        step = RunStep.objects.get(run=run, number=1)
        assert [d["field"] for d in step.deviations] == ["g_force"]
        assert step.observed_original["g_force"] == "3,000 x g" and step.notes == "Rotor swapped"

        response = member_client.post(reverse("evlims:run-step", args=[run.pk, 2]), STEP_2, follow=True)
        assert response.redirect_chain[-1][0] == reverse("evlims:run-complete", args=[run.pk])
        assert "Step 2 recorded: no deviation from the protocol." in response.content.decode()
        assert RunStep.objects.get(run=run, number=2).observed["fractions_pooled"] == [4, 5, 6]

        complete_url = reverse("evlims:run-complete", args=[run.pk])
        forms = response.context["forms"]
        assert forms[0][1].initial == {"buffer": "PBS", "final_volume": "1500"}
        first, second = (prep for prep, _ in forms)
        data = {
            f"prep-{first.pk}-final_volume": "1.2 mL",
            f"prep-{first.pk}-buffer": "PBS",
            f"prep-{first.pk}-storage": "F1 box 3 A1",
            f"prep-{second.pk}-final_volume": "",
            f"prep-{second.pk}-buffer": "PBS",
            f"prep-{second.pk}-storage": "",
        }
        response = member_client.post(complete_url, data)
        assert response["Location"] == reverse("evlims:run-detail", args=[run.pk])
        run.refresh_from_db()
        first.refresh_from_db()
        assert run.status == IsolationRun.Status.COMPLETED
        assert (first.final_volume_ul, first.storage) == (Decimal("1200.0"), "F1 box 3 A1")

    def test_unreadable_step_values_name_the_step_and_field(self, member_client, staff, project, version, aliquots):
        run = started(staff, project, version, aliquots[:1])
        url = reverse("evlims:run-step", args=[run.pk, 1])
        response = member_client.post(url, STEP_1 | {"g_force": "fast", "duration_min": "15 rpm"})
        assert response.status_code == 200
        errors = response.context["form"].errors
        assert "step 1 (differential_centrifugation), field &#x27;g_force&#x27;" in response.content.decode()
        assert "g_force" in errors and "duration_min" in errors
        response = member_client.post(
            reverse("evlims:run-step", args=[run.pk, 2]), STEP_2 | {"fractions_pooled": "4, x"}
        )
        assert "whole numbers" in response.context["form"].errors["fractions_pooled"][0]
        response = member_client.post(reverse("evlims:run-step", args=[run.pk, 2]), STEP_2 | {"bed_volume_ml": "-1"})
        assert "greater than 0" in response.context["form"].errors["bed_volume_ml"][0]
        assert not RunStep.objects.exists()

    def test_steps_are_refused_before_the_start(self, member_client, staff, project, version, aliquots):
        run = plan(staff, project, version, aliquots[:1])
        response = member_client.post(reverse("evlims:run-step", args=[run.pk, 1]), STEP_1)
        assert "recorded while the run is in progress" in response.content.decode()
        assert not RunStep.objects.exists()

    def test_completing_with_steps_missing_is_refused(self, member_client, staff, project, version, aliquots):
        run = started(staff, project, version, aliquots[:1])
        response = member_client.post(reverse("evlims:run-complete", args=[run.pk]), {})
        assert "Record step(s) 1, 2 before completing." in response.content.decode()
        run.refresh_from_db()
        assert run.status == IsolationRun.Status.IN_PROGRESS

    def test_bad_final_volume_is_a_field_error(self, member_client, staff, project, version, aliquots):
        run = started(staff, project, version, aliquots[:1])
        services.run_record_step(actor=staff, run=run, number=1, observed=STEP_1)
        services.run_record_step(actor=staff, run=run, number=2, observed=STEP_2_TYPED)
        prep = run.preparations.get()
        response = member_client.post(
            reverse("evlims:run-complete", args=[run.pk]), {f"prep-{prep.pk}-final_volume": "-5"}
        )
        assert "more than 0 µL" in response.content.decode()
        run.refresh_from_db()
        assert run.status == IsolationRun.Status.IN_PROGRESS

    def test_starting_beyond_what_is_left_shows_the_reason(self, member_client, staff, project, version, aliquots):
        first = plan(staff, project, version, [aliquots[3]], volume=300)
        second = plan(staff, project, version, [aliquots[3]], volume=300)
        services.run_start(actor=staff, run=first)
        response = member_client.post(reverse("evlims:run-start", args=[second.pk]), follow=True)
        assert "was not started" in response.content.decode() and "holds 100" in response.content.decode()
        second.refresh_from_db()
        assert second.status == IsolationRun.Status.PLANNED

    def test_abort_needs_a_reason(self, member_client, staff, project, version, aliquots):
        run = started(staff, project, version, aliquots[:1])
        url = reverse("evlims:run-abort", args=[run.pk])
        response = member_client.post(url, {"reason": "   "})
        assert response.context["form"].errors["reason"]
        response = member_client.post(url, {"reason": "Column cracked"}, follow=True)
        run.refresh_from_db()
        assert run.status == IsolationRun.Status.ABORTED
        assert "Column cracked" in response.content.decode()


class TestRunPage:
    def test_steps_side_by_side_with_deviations_in_words(self, member_client, staff, project, version, aliquots):
        run = started(staff, project, version, aliquots[:1])
        observed = STEP_1 | {"g_force": "3,000 x g", "brake": False}
        services.run_record_step(actor=staff, run=run, number=1, observed=observed)
        response = member_client.get(reverse("evlims:run-detail", args=[run.pk]))
        html = response.content.decode()
        [first, second] = response.context["steps"]
        g_force = next(row for row in first["params"] if row["name"] == "g_force")
        assert (g_force["protocol"], g_force["recorded"]) == ("2,500 x g", "3,000 x g")
        assert g_force["deviation"]["kind"] == "out_of_tolerance"
        assert '<span class="deviation-label">Deviation</span> ' + g_force["deviation"]["message"] in html
        assert "as per protocol" in html and "not recorded yet" in html
        brake = next(row for row in first["params"] if row["name"] == "brake")
        assert (brake["protocol"], brake["recorded"], brake["extra"]) == ("", "no", True)
        assert html.count("the protocol does not set it") == 1
        assert second["record"] is None and response.context["next_step"] == 2
        assert "1 deviation" in html
        assert reverse("evlims:audit", args=["isolationrun", run.pk]) in html

    def test_preparations_with_inputs_samples_and_measurements(self, member_client, staff, project, version, aliquots):
        run = started(staff, project, version, aliquots[:2])
        prep = run.preparations.order_by("id").first()
        Measurement.objects.create(
            lab=project.lab, preparation=prep, kind="particle", method="nta", measured_at="2026-01-05T10:00:00Z"
        )
        html = member_client.get(reverse("evlims:run-detail", args=[run.pk])).content.decode()
        for prep_ in run.preparations.all():
            assert prep_.barcode in html and prep_.input_aliquot.barcode in html
        assert aliquots[0].sample.barcode in html
        assert "Particle analysis (Nanoparticle tracking (NanoSight)), 2026-01-05" in html
        assert "none yet" in html

    def test_query_count_does_not_grow_with_preparations_and_steps(
        self, member_client, staff, project, version, aliquots
    ):
        small = started(staff, project, version, aliquots[:1])
        services.run_record_step(actor=staff, run=small, number=1, observed=STEP_1)
        large = started(staff, project, version, aliquots[1:])
        services.run_record_step(actor=staff, run=large, number=1, observed=STEP_1)
        services.run_record_step(actor=staff, run=large, number=2, observed=STEP_2_TYPED | {"fractions_pooled": [4]})
        for prep in large.preparations.all():
            Measurement.objects.create(
                lab=project.lab, preparation=prep, kind="protein", method="bca", measured_at="2026-01-05T10:00:00Z"
            )
        counts = []
        for run in (small, large):
            with CaptureQueriesContext(connection) as queries:
                assert member_client.get(reverse("evlims:run-detail", args=[run.pk])).status_code == 200
            counts.append(len(queries))
        assert counts[0] == counts[1]


class TestRunList:
    def test_filters_by_status_protocol_and_operator(self, member_client, lab, staff, project, version, aliquots):
        colleague = member(lab, Role.LAB_STAFF, username="colleague")
        planned = plan(staff, project, version, aliquots[:1])
        running = started(colleague, project, version, aliquots[1:2])
        url = reverse("evlims:run-list")

        def codes(**filters):
            return [run.code for run in member_client.get(url, filters).context["page"]]

        assert set(codes()) == {planned.code, running.code}
        assert codes(status="planned") == [planned.code]
        assert codes(operator=colleague.pk) == [running.code]
        assert set(codes(protocol=version.protocol_id)) == {planned.code, running.code}
        response = member_client.get(url, {"status": "exploded"})
        assert response.context["page"] is None and response.context["form"].errors["status"]

    def test_query_count_is_flat(self, member_client, staff, project, version, aliquots):
        counts = []
        for batch in ([aliquots[0]], aliquots[1:]):
            for aliquot in batch:
                started(staff, project, version, [aliquot])
            with CaptureQueriesContext(connection) as queries:
                response = member_client.get(reverse("evlims:run-list"))
            assert response.status_code == 200
            counts.append(len(queries))
        assert IsolationRun.objects.count() == 4
        assert counts[0] == counts[1]


class TestStepForm:
    """The step form types each value the way the method's schema declares it."""

    DENSITY_STEP = {
        "method": "density_gradient",
        "params": {"medium": "iodixanol", "loading": "bottom_up", "g_force": 100000.0, "duration_min": 1080.0},
        "originals": {"g_force": "100,000 x g", "duration_min": "18 h"},
    }

    def test_values_are_typed_from_the_schema(self):
        data = {
            "medium": "iodixanol",
            "loading": "bottom_up",
            "g_force": "100,000 x g",
            "duration_min": "18 h",
            "fractions_collected": "12",
            "ev_fractions": "6; 7",
            "steps_percent": "40, 20, 10, 5",
            "fraction_density_g_ml": "1.10, 1.19",
            "k_factor": "158,5",
        }
        form = StepRecordForm(data, definition=self.DENSITY_STEP)
        assert form.is_valid(), form.errors
        assert form.initial["g_force"] == "100,000 x g" and form.initial["duration_min"] == "18 h"
        assert form.cleaned_data["observed"] == {
            "medium": "iodixanol",
            "loading": "bottom_up",
            "g_force": "100,000 x g",
            "duration_min": "18 h",
            "fractions_collected": 12,
            "ev_fractions": [6, 7],
            "steps_percent": ["40", "20", "10", "5"],
            "fraction_density_g_ml": ["1.10", "1.19"],
            "k_factor": 158.5,
        }

    def test_single_density_and_booleans_and_antibody_lists(self):
        for text in ("1.15 g/mL", "1,15"):
            form = StepRecordForm({"fraction_density_g_ml": text}, definition=self.DENSITY_STEP)
            assert form.is_valid() and form.cleaned_data["observed"] == {"fraction_density_g_ml": text}
        spin = {"method": "ultracentrifugation", "params": {"brake": True}}
        form = StepRecordForm({"brake": "no"}, definition=spin)
        assert form.initial["brake"] == "yes" and form.is_valid()
        assert form.cleaned_data["observed"] == {"brake": False}
        params = {"target_antigens": ["CD9"], "antibodies": [{"target": "CD9"}]}
        capture = {"method": "immunoaffinity", "params": params}
        form = StepRecordForm(
            {"target_antigens": "CD9, CD63", "antibodies": "[{target: CD9, clone: HI9a}]"}, definition=capture
        )
        assert form.initial["antibodies"] == '[{"target": "CD9"}]'
        assert form.is_valid()
        assert form.cleaned_data["observed"] == {
            "target_antigens": ["CD9", "CD63"],
            "antibodies": [{"target": "CD9", "clone": "HI9a"}],
        }

    @pytest.mark.parametrize(
        ("field", "text", "message"),
        [
            ("fractions_collected", "twelve", "whole number"),
            ("k_factor", "high", "not a number"),
            ("ev_fractions", "6, seven", "whole numbers"),
        ],
    )
    def test_unreadable_values_are_field_errors(self, field, text, message):
        form = StepRecordForm({field: text}, definition=self.DENSITY_STEP)
        assert not form.is_valid()
        assert message in form.errors[field][0]

    def test_antibodies_must_be_a_list(self):
        capture = {"method": "immunoaffinity", "params": {"target_antigens": ["CD9"]}}
        form = StepRecordForm({"antibodies": "target: CD9"}, definition=capture)
        assert not form.is_valid() and "list of mappings" in form.errors["antibodies"][0]
