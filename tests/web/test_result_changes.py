"""The result page (its versions), correcting and voiding a result on the web, the history on the preparation page
and the compliance reports, the exports counting current results only, and "Did you mean CD63?" on the form."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from evlims.characterization.models import MarkerResult, Measurement
from evlims.characterization.services import record_results
from evlims.compliance import services as compliance
from evlims.compliance.markers import marker_vocabulary
from evlims.core.models import Role
from evlims.isolation.models import EVPreparation, IsolationRun
from evlims.samples.services import sample_register
from tests.approved_world import approved_world
from tests.factories import member
from tests.run_states import completed_run_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def preparation(staff, project):
    sample = sample_register(
        actor=staff, project=project, biofluid="urine", volume_ml=Decimal("10"), aliquot_volumes_ul=[4000]
    )
    run = IsolationRun.objects.create(
        lab=project.lab, project=project, code="RUN-W1", protocol_name="SEC", operator=staff, **completed_run_fields()
    )
    return EVPreparation.objects.create(
        lab=project.lab, run=run, input_aliquot=sample.aliquots.get(), barcode="EVP-W1", input_volume_ul=4000
    )


def marker(barcode, symbol="CD63"):
    return {
        "kind": "marker",
        "method": "western_blot",
        "preparation": barcode,
        "marker": {"protein": symbol, "detected": True, "antibody": {"clone": "H5C6"}},
    }


def protein(barcode, value=10.0):
    return {
        "kind": "protein",
        "method": "bca",
        "preparation": barcode,
        "protein": {"assay": "bca", "concentration_ug_per_ml": value},
    }


@pytest.fixture
def results(staff, lab, preparation):
    return record_results(actor=staff, lab=lab, documents=[protein(preparation.barcode), marker(preparation.barcode)])


def url(name, measurement):
    return reverse(f"evlims:{name}", args=[measurement.pk])


def test_the_recorder_is_offered_correct_and_void_others_are_not(member_client, lab, results, qa_manager):
    page = member_client.get(url("result-detail", results[0])).content.decode()
    assert "Correct this result" in page and "Void this result" in page
    assert "10 µg/mL protein (BCA)" in page
    for user in (member(lab, Role.LAB_STAFF, username="colleague"), qa_manager):
        other = Client()
        other.force_login(user)
        page = other.get(url("result-detail", results[0])).content.decode()
        assert "Correct this result" not in page and "Void this result" not in page
        assert other.post(url("result-void", results[0]), {"reason": "x", "confirm": "on"}).status_code == 302
    assert Measurement.objects.filter(pk=results[0].pk).exists()  # refused: nothing changed


def test_the_correction_form_starts_from_the_current_values_and_keeps_the_old_version(member_client, results):
    form = member_client.get(url("result-correct", results[0]))
    assert form.context["form"]["concentration_ug_per_ml"].value() == 10.0
    assert form.context["form"]["assay"].value() == "bca"
    refused = member_client.post(url("result-correct", results[0]), {"assay": "bca", "concentration_ug_per_ml": "12.5"})
    assert "Say why the result is corrected." in str(refused.context["reason_form"].errors["reason"])
    response = member_client.post(
        url("result-correct", results[0]),
        {"assay": "bca", "concentration_ug_per_ml": "12.5", "reason": "Dilution not applied"},
        follow=True,
    )
    page = response.content.decode()
    correction = Measurement.objects.get(supersedes=results[0])
    assert response.redirect_chain[-1][0] == url("result-detail", correction)
    assert "12.5 µg/mL protein (BCA)" in page and "<s>10 µg/mL protein (BCA)</s>" in page
    assert "Superseded by a correction on" in page and "by staff: Dilution not applied" in page


def test_a_marker_correction_to_an_unknown_name_gets_suggestions(member_client, results):
    data = {"protein": "CD-63", "method": "western_blot", "detection": "detected", "antibody_clone": "H5C6"}
    response = member_client.post(url("result-correct", results[1]), data | {"reason": "Typo"})
    errors = str(response.context["form"].errors["protein"])
    assert "CD-63 is not in the marker vocabulary. Did you mean CD63?" in errors
    assert not Measurement.objects.filter(supersedes=results[1]).exists()


def test_voiding_needs_a_reason_and_the_confirmation(member_client, results, preparation):
    response = member_client.post(url("result-void", results[1]), {"reason": ""})
    assert {"reason", "confirm"} <= set(response.context["form"].errors)
    response = member_client.post(
        url("result-void", results[1]), {"reason": "Antibody lot recalled", "confirm": "on"}, follow=True
    )
    assert Measurement.all_versions.get(pk=results[1].pk).status == Measurement.Status.VOIDED
    page = response.content.decode()
    assert 'id="results-set-aside"' in page and "<s>CD63 detected (Western blot)</s>" in page
    assert "Voided on" in page and "Antibody lot recalled" in page
    assert f'id="measurement-{results[1].pk}"' not in page  # no longer among the results that count


def _evidence_column(client, preparation) -> str:
    response = client.get(reverse("evlims:verdicts-preparation-csv", args=[preparation.pk]))
    return " ".join(row["evidence"] for row in csv.DictReader(io.StringIO(response.content.decode())))


def test_a_voided_cd63_leaves_the_exports_and_shows_in_the_report(member_client, staff, lab, results, preparation):
    compliance.evaluate_preparations([preparation.pk])
    assert "CD63" in _evidence_column(member_client, preparation)
    member_client.post(url("result-void", results[1]), {"reason": "Antibody lot recalled", "confirm": "on"})
    compliance.evaluate_preparations([preparation.pk])
    exported = member_client.get(reverse("evlims:export-preparation-json", args=[preparation.pk]))
    document = json.loads(exported.content)
    assert "markers" not in document.get("characterization", {})
    checklist = member_client.get(reverse("evlims:checklist-preparation-csv", args=[preparation.pk]))
    assert "CD63" not in checklist.content.decode()
    assert "CD63" not in _evidence_column(member_client, preparation)  # no rule is judged on it any more
    report = member_client.get(reverse("evlims:report-preparation", args=[preparation.pk])).content.decode()
    assert 'id="results-set-aside"' in report and "<s>CD63 detected (Western blot)</s>" in report
    assert "Antibody lot recalled" in report


def test_the_void_page_warns_which_approval_it_voids(lab, project, staff):
    world = approved_world(lab, project, staff)
    result = record_results(
        actor=staff, lab=lab, documents=[marker(world.preparation.barcode)], reason="Blot added after release"
    )[0]
    client = Client()
    client.force_login(staff)
    assert 'id="approval-warning"' not in client.get(url("result-void", result)).content.decode()  # voided already
    from evlims.review import services as review_services
    from tests.approved_world import PASSWORD

    review = review_services.review_submit(
        actor=staff, preparation=world.preparation, reason="Again", justification="Accepted as it is for this study."
    )
    review = review_services.review_verify(actor=world.verifier, review=review, password=PASSWORD, statement="ok")
    review_services.review_approve(actor=world.approver, review=review, password=PASSWORD, statement="Released")
    page = client.get(url("result-void", result)).content.decode()
    assert 'id="approval-warning"' in page and "approved by approver" in page
    assert 'id="approval-warning"' in client.get(url("result-correct", result)).content.decode()


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [("CD-63", "CD63"), ("cd 9", "CD9"), ("TSG-101", "TSG101"), ("Syntenin 1", "SYNTENIN-1 (another name of SDCBP)")],
)
def test_the_marker_form_suggests_the_closest_symbols(member_client, preparation, typed, suggested):
    data = {"protein": typed, "method": "western_blot", "detection": "detected", "antibody_clone": "H5C6"}
    response = member_client.post(reverse("evlims:result-new", args=[preparation.pk, "marker"]), data)
    errors = str(response.context["form"].errors["protein"])
    assert f"{typed} is not in the marker vocabulary. Did you mean {suggested}?" in errors
    assert "Record it as typed" in errors
    assert not Measurement.objects.exists()


def test_record_it_as_typed_keeps_an_unknown_name(member_client, preparation):
    data = {"protein": "CD-63", "method": "western_blot", "detection": "detected", "antibody_clone": "H5C6"}
    member_client.post(
        reverse("evlims:result-new", args=[preparation.pk, "marker"]), data | {"protein_confirmed": "on"}
    )
    assert MarkerResult.objects.get().protein == "CD-63"


def test_suggestions_normalise_case_hyphens_and_spaces():
    vocabulary = marker_vocabulary()
    assert vocabulary.suggestions("CD-63") == ["CD63"]
    assert vocabulary.suggestions("cd 9") == ["CD9"]
    assert vocabulary.suggestions("TSG-101") == ["TSG101"]
    assert vocabulary.suggestions("flotillin 1") == ["FLOTILLIN-1"]  # an alias, written otherwise
    assert vocabulary.suggestions("ALX") == ["ALIX"]  # an alias, misspelt
    assert vocabulary.is_known("Alix") and vocabulary.is_known("CHMP4B") and not vocabulary.is_known("CD-63")
    assert vocabulary.unknown_message("QWERTY") == (
        "QWERTY is not in the marker vocabulary. No symbol or alias in it is close."
    )
