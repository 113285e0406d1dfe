"""Results pages: instrument file upload and preview, mapping and commit, failed files, raw files, results
typed by hand."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from evlims.characterization.models import ImagingResult, MarkerResult, Measurement, ParticleAnalysis
from evlims.compliance.evidence import experiment_documents, preparations_with_evidence
from evlims.core.models import AuditEvent, Role
from evlims.instruments import services as instrument_services
from evlims.instruments.models import Ingestion, RawFile
from evlims.isolation.models import EVPreparation, IsolationRun
from evlims.samples.services import sample_register
from tests.factories import ProjectFactory, member
from tests.fixtures.instruments import ENSIGHT_BCA as ENSIGHT
from tests.fixtures.instruments import (
    NANOSIGHT_BEADS_COMBINED,
    NANOSIGHT_BEADS_DILUTED,
    NANOSIGHT_FULL,
    NANOSIGHT_LOW_COUNT,
    ZETAVIEW,
    export_path,
    instrument_path,
)
from tests.fixtures.instruments import SOFTMAX_BCA as SOFTMAX
from tests.run_states import completed_run_fields
from tests.shared_samples import REAL_NANOSIGHT_EMT1, REAL_NANOSIGHT_HOT1A3, REAL_ZETAVIEW_SAMPLE1

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "instrument-files"
NANOSIGHT_BEADS = NANOSIGHT_BEADS_COMBINED


def make_preparation(actor, project, barcode, *, final_volume_ul=None, biofluid="blood_plasma", run=None):
    """A preparation of one fresh sample (runs are set up directly: their wizard is tested elsewhere)."""
    sample = sample_register(
        actor=actor, project=project, biofluid=biofluid, volume_ml=Decimal("2"), aliquot_volumes_ul=[1000]
    )
    run = run or IsolationRun.objects.create(
        lab=project.lab,
        project=project,
        code=f"RUN-{barcode}",
        protocol_name="SEC",
        method="sec",
        operator=actor,
        **completed_run_fields(),
    )
    return EVPreparation.objects.create(
        lab=project.lab,
        run=run,
        input_aliquot=sample.aliquots.get(),
        barcode=barcode,
        input_volume_ul=500,
        final_volume_ul=final_volume_ul,
    )


@pytest.fixture
def member_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def outsider_client(outsider):
    other = Client()
    other.force_login(outsider)
    return other


@pytest.fixture
def reader_client(lab):
    reader = Client()
    reader.force_login(member(lab, Role.QA_MANAGER, username="reviewer"))
    return reader


@pytest.fixture
def preparation(staff, project):
    return make_preparation(staff, project, "EVP-W1", final_volume_ul=100)


def upload(client, path_or_bytes, name=None, **fields):
    data = path_or_bytes.read_bytes() if isinstance(path_or_bytes, Path) else path_or_bytes
    name = name or (path_or_bytes.name if isinstance(path_or_bytes, Path) else "upload.csv")
    page = client.get(reverse("evlims:result-upload"))
    form = page.context["form"]
    payload = {
        "lab": form["lab"].initial,
        "file_format": "auto",
        "upload_token": form["upload_token"].initial,
        "file": SimpleUploadedFile(name, data, content_type="text/csv"),
    } | fields
    return client.post(reverse("evlims:result-upload"), payload, follow=True)


# ---------------------------------------------------------------- upload and preview of every instrument export


@pytest.mark.parametrize(
    "relative, names, figures",
    [
        (NANOSIGHT_FULL, ["d200"], ["3.08 × 10⁸", "3.08 × 10⁸", "NTA 3.3"]),
        (NANOSIGHT_LOW_COUNT, ["OMV2_6h_B"], ["2.21 × 10⁶", "Unreliable (instrument)"]),
        (
            NANOSIGHT_BEADS,
            ["std_10000_yes_2", "std_10000_no_2", "std_10000_yes_1", "std_10000_no_1"],
            ["1.30 × 10⁹", "Combined experiment"],
        ),
        (
            NANOSIGHT_BEADS_DILUTED,
            ["100nmbeads"],
            ["6.09 × 10¹²", "6.09 × 10¹²", "×10000, recorded in the file and already"],
        ),
        (ZETAVIEW, ["20240611_0005"], ["3.67 × 10¹¹", "×5000, recorded in the file; applied here"]),
        # The real exports, when present.
        ("real:" + REAL_NANOSIGHT_EMT1, ["d200"], ["2.16 × 10⁸", "2.16 × 10⁸", "NTA 3.3"]),
        ("real:" + REAL_NANOSIGHT_HOT1A3, ["HOT1A3_12h_A_LS"], ["1.62 × 10⁶", "Unreliable (instrument)"]),
        (
            "real:" + REAL_ZETAVIEW_SAMPLE1,
            ["20230419_0002"],
            ["4.31 × 10¹¹", "×5000, recorded in the file; applied here"],
        ),
    ],
)
def test_particle_export_preview_shows_samples_and_figures_from_the_file(member_client, relative, names, figures):
    real = relative.removeprefix("real:")
    response = upload(member_client, export_path("shared", real) if real != relative else instrument_path(relative))
    assert response.status_code == 200
    ingestion = response.context["ingestion"]
    assert ingestion.status == Ingestion.Status.PREVIEW
    html = response.content.decode()
    for name in names:
        assert name in html
    for figure in figures:
        assert figure in html
    assert html.count('class="card mb-3 particle-sample"') == len(names)
    # A sample whose captures the instrument all rated invalid has no distribution to plot.
    plotted = [sample for sample in ingestion.parsed["samples"] if sample["histogram"]["bin_center_nm"]]
    assert html.count("data:image/svg+xml;base64,") == len(plotted)
    assert "Record the mapped samples" in html
    assert not Measurement.objects.exists()


def test_softmax_plate_with_plate_map_shows_protein_per_sample(member_client):
    plate_map = (FIXTURES / "bca-plate-map.json").read_text()
    response = upload(member_client, instrument_path(SOFTMAX), plate_map=plate_map)
    html = response.content.decode()
    assert response.context["ingestion"].status == Ingestion.Status.PREVIEW
    assert "EV isolate 1" in html and "947.3" in html
    assert "EV isolate 2" in html and "545.4" in html
    assert "out of range</strong> (below the standards)" in html
    assert "linear fit, R²" in html


def test_ensight_plate_without_plate_map_shows_the_wells_and_asks_for_a_map(member_client):
    response = upload(member_client, instrument_path(ENSIGHT))
    html = response.content.decode()
    assert response.context["ingestion"].status == Ingestion.Status.PREVIEW
    assert 'id="no-plate-map"' in html and 'id="plate-grid"' in html
    assert response.context["form"] is None


def test_upload_from_a_lab_instrument_records_it(member_client, lab, staff):
    admin = member(lab, Role.LAB_ADMIN, username="admin")
    instrument = instrument_services.instrument_register(actor=admin, lab=lab, name="NS300", kind="nta")
    response = upload(member_client, instrument_path(NANOSIGHT_BEADS_DILUTED), instrument=instrument.pk)
    ingestion = response.context["ingestion"]
    assert ingestion.instrument == instrument and ingestion.submitted_by == staff
    assert "instrument NS300" in response.content.decode()


def test_another_labs_instrument_cannot_be_chosen(member_client, other_lab, outsider):
    admin = member(other_lab, Role.LAB_ADMIN, username="other-admin")
    foreign = instrument_services.instrument_register(actor=admin, lab=other_lab, name="Foreign NTA", kind="nta")
    response = upload(member_client, instrument_path(NANOSIGHT_BEADS_DILUTED), instrument=foreign.pk)
    assert "instrument" in response.context["form"].errors
    assert not RawFile.objects.exists()


def test_sending_the_same_form_twice_gives_the_first_upload(member_client):
    page = member_client.get(reverse("evlims:result-upload"))
    token, lab = page.context["form"]["upload_token"].initial, page.context["form"]["lab"].initial
    data = instrument_path(NANOSIGHT_BEADS_DILUTED).read_bytes()
    for _ in range(2):
        response = member_client.post(
            reverse("evlims:result-upload"),
            {"lab": lab, "file_format": "auto", "upload_token": token, "file": SimpleUploadedFile("b.csv", data)},
        )
        assert response.status_code == 302
    assert Ingestion.objects.count() == 1 and RawFile.objects.count() == 1


# ---------------------------------------------------------------- files that cannot be read


@pytest.mark.parametrize(
    "name, message",
    [
        ("wrong-format.csv", "field &#x27;format&#x27;: unrecognised file"),
        ("nanosight-truncated.csv", "line 37: the file is truncated"),
        ("binary.bin", "the file is binary"),
    ],
)
def test_unreadable_file_shows_where_it_fails_and_is_kept_without_results(member_client, name, message):
    data = (FIXTURES / name).read_bytes()
    response = upload(member_client, data, name=name)
    assert response.status_code == 200 and response.redirect_chain == []
    assert message in response.content.decode()
    assert "file" in response.context["form"].errors
    assert 'id="upload-kept"' in response.content.decode()
    failed = Ingestion.objects.get()
    assert failed.status == Ingestion.Status.FAILED and failed.raw_file.original_name == name
    assert RawFile.objects.get().size_bytes == len(data)
    assert not Measurement.objects.exists()
    detail = member_client.get(reverse("evlims:ingestion-detail", args=[failed.pk])).content.decode()
    assert 'id="parse-error"' in detail and message in detail
    assert reverse("evlims:raw-file", args=[failed.raw_file_id]) in detail
    assert 'id="mapping-form"' not in detail


def test_a_corrected_file_can_be_sent_after_a_refusal(member_client):
    response = upload(member_client, (FIXTURES / "wrong-format.csv").read_bytes(), name="wrong.csv")
    form = response.context["form"]
    refused_token = response.context["form"]["upload_token"].value()
    data = instrument_path(NANOSIGHT_BEADS_DILUTED).read_bytes()
    resent = member_client.post(
        reverse("evlims:result-upload"),
        {
            "lab": form["lab"].value(),
            "file_format": "auto",
            "upload_token": refused_token,
            "file": SimpleUploadedFile("fixed.csv", data),
        },
        follow=True,
    )
    assert resent.context["ingestion"].status == Ingestion.Status.PREVIEW
    assert Ingestion.objects.count() == 2


def test_plate_map_that_is_not_json_is_refused_before_storing(member_client):
    response = upload(member_client, instrument_path(SOFTMAX), plate_map='{"wells": ')
    assert "Not valid JSON" in str(response.context["form"].errors["plate_map"])
    assert not RawFile.objects.exists() and not Ingestion.objects.exists()


def test_plate_map_is_refused_for_particle_formats(member_client):
    response = upload(
        member_client, instrument_path(NANOSIGHT_FULL), file_format="nanosight", plate_map='{"wells": {}}'
    )
    assert "plate-reader files" in str(response.context["form"].errors["plate_map"])


def test_generic_format_needs_a_column_mapping(member_client):
    data = (FIXTURES / "generic-summary-decimal-comma.csv").read_bytes()
    response = upload(member_client, data, file_format="generic")
    assert "column mapping" in str(response.context["form"].errors["column_mapping"])
    mapping = (FIXTURES / "generic-mapping.json").read_text()
    preview = upload(member_client, data, file_format="generic", column_mapping=mapping)
    html = preview.content.decode()
    assert preview.context["ingestion"].status == Ingestion.Status.PREVIEW
    assert "EV-A" in html and 'id="mapping-form"' in html  # a mapped generic table commits as particle results


# ---------------------------------------------------------------- mapping and commit


def commit(client, ingestion, data):
    return client.post(reverse("evlims:ingestion-detail", args=[ingestion.pk]), data, follow=True)


def test_commit_with_mapping_and_dilution_records_the_stock_concentration(member_client, preparation):
    ingestion = upload(member_client, instrument_path(NANOSIGHT_FULL)).context["ingestion"]
    response = commit(member_client, ingestion, {"preparation_0": "EVP-W1", "dilution_0": "200"})
    ingestion.refresh_from_db()
    assert ingestion.status == Ingestion.Status.COMMITTED
    analysis = ParticleAnalysis.objects.get()
    assert analysis.measurement.preparation == preparation
    assert analysis.concentration_per_ml == pytest.approx(308_200_000.0 * 200)
    assert analysis.dilution_factor == 200 and "concentration_per_ml" in analysis.computed
    assert analysis.measurement.raw_file == ingestion.raw_file
    assert analysis.bins.count() == len(ingestion.parsed["samples"][0]["histogram"]["bin_center_nm"])
    html = response.content.decode()
    assert "1 result recorded" in html and 'id="ingestion-results"' in html
    assert reverse("evlims:preparation-detail", args=[preparation.pk]) in html
    assert 'id="mapping-form"' not in html


def test_committed_nta_file_keeps_the_analyser_settings_it_records(member_client, preparation):
    ingestion = upload(member_client, instrument_path(NANOSIGHT_FULL)).context["ingestion"]
    commit(member_client, ingestion, {"preparation_0": "EVP-W1", "dilution_0": "200"})
    analysis = ParticleAnalysis.objects.get()
    assert analysis.settings == ingestion.parsed["samples"][0]["settings"]
    [document] = experiment_documents(preparations_with_evidence([preparation.pk])).values()
    settings = document["characterization"]["particle_analysis"][0]["settings"]
    named = ("camera_level", "detection_threshold", "shutter", "frames", "videos", "temperature_c")
    assert settings == {name: analysis.settings[name] for name in named}
    assert (settings["camera_level"], settings["videos"], settings["frames"]) == (14, 5, 1498)


def test_the_person_committing_a_particle_file_gives_the_calibration_it_does_not_record(member_client, preparation):
    ingestion = upload(member_client, instrument_path(NANOSIGHT_FULL)).context["ingestion"]
    page = member_client.get(reverse("evlims:ingestion-detail", args=[ingestion.pk]))
    assert "Calibration of the analyser" in page.content.decode()
    commit(
        member_client,
        ingestion,
        {"preparation_0": "EVP-W1", "dilution_0": "200", "calibration": "100 nm beads, checked the same day"},
    )
    [document] = experiment_documents(preparations_with_evidence([preparation.pk])).values()
    assert document["characterization"]["particle_analysis"][0]["calibration"] == "100 nm beads, checked the same day"


def test_committed_zetaview_file_gives_its_sensitivity_as_the_camera_level(member_client, preparation):
    ingestion = upload(member_client, instrument_path(ZETAVIEW)).context["ingestion"]
    commit(member_client, ingestion, {"preparation_0": "EVP-W1"})
    assert ParticleAnalysis.objects.get().settings["sensitivity"] == 78
    [document] = experiment_documents(preparations_with_evidence([preparation.pk])).values()
    settings = document["characterization"]["particle_analysis"][0]["settings"]
    assert settings == {"camera_level": 78, "shutter": 100, "temperature_c": 24.08}


def test_samples_left_unmapped_are_not_recorded(member_client, preparation):
    ingestion = upload(member_client, instrument_path(NANOSIGHT_BEADS)).context["ingestion"]
    commit(member_client, ingestion, {"preparation_1": "EVP-W1", "dilution_1": "10000"})
    assert ParticleAnalysis.objects.get().sample_name == "std_10000_no_2"


def test_a_file_that_records_its_dilution_offers_none_to_type(member_client, preparation):
    ingestion = upload(member_client, instrument_path(ZETAVIEW)).context["ingestion"]
    page = member_client.get(reverse("evlims:ingestion-detail", args=[ingestion.pk]))
    assert "dilution_0" not in page.context["form"].fields
    commit(member_client, ingestion, {"preparation_0": "EVP-W1", "dilution_0": "10"})
    analysis = ParticleAnalysis.objects.get()
    assert analysis.dilution_factor == 5000
    assert analysis.concentration_per_ml == pytest.approx(ingestion.parsed["samples"][0]["concentration_per_ml"])


def test_unknown_barcode_is_reported_on_its_sample_and_nothing_is_written(member_client, preparation):
    ingestion = upload(member_client, instrument_path(NANOSIGHT_BEADS)).context["ingestion"]
    response = commit(
        member_client,
        ingestion,
        {"preparation_0": "EVP-W1", "dilution_0": "10000", "preparation_2": "EVP-NOPE", "undiluted_2": "on"},
    )
    form = response.context["form"]
    assert form.errors == {"preparation_2": ["No preparation EVP-NOPE in Vesicle Lab."]}
    assert not Measurement.objects.exists()
    ingestion.refresh_from_db()
    assert ingestion.status == Ingestion.Status.PREVIEW


def test_every_mapping_problem_is_reported_in_one_round(member_client, preparation):
    ingestion = upload(member_client, instrument_path(NANOSIGHT_BEADS)).context["ingestion"]
    response = commit(member_client, ingestion, {"preparation_0": "EVP-W1", "dilution_0": "0.5", "preparation_1": "X"})
    # dilution_1: the file records none and none was given (nor "undiluted").
    assert set(response.context["form"].errors) == {"dilution_0", "preparation_1", "dilution_1"}


def test_a_sample_named_after_a_preparation_is_mapped_to_it_up_front(member_client, staff, project):
    make_preparation(staff, project, "100nmbeads")
    ingestion = upload(member_client, instrument_path(NANOSIGHT_BEADS_DILUTED)).context["ingestion"]
    form = member_client.get(reverse("evlims:ingestion-detail", args=[ingestion.pk])).context["form"]
    assert form["preparation_0"].value() == "100nmbeads"


def test_another_labs_preparation_cannot_receive_results(member_client, outsider, other_lab):
    foreign = make_preparation(outsider, ProjectFactory(lab=other_lab, code="F"), "EVP-FOREIGN")
    ingestion = upload(member_client, instrument_path(NANOSIGHT_BEADS_DILUTED)).context["ingestion"]
    response = commit(member_client, ingestion, {"preparation_0": foreign.barcode})
    assert "No preparation EVP-FOREIGN" in str(response.context["form"].errors["preparation_0"])
    assert not Measurement.objects.exists()


def test_mapping_errors_name_the_field(member_client, preparation):
    ingestion = upload(member_client, instrument_path(NANOSIGHT_BEADS)).context["ingestion"]
    nothing = commit(member_client, ingestion, {})
    assert "at least one sample" in str(nothing.context["form"].non_field_errors())
    stray = commit(member_client, ingestion, {"preparation_0": "EVP-W1", "dilution_1": "10"})
    assert "mapped to a preparation" in str(stray.context["form"].errors["dilution_1"])
    low = commit(member_client, ingestion, {"preparation_0": "EVP-W1", "dilution_0": "0.5"})
    assert "dilution_0" in low.context["form"].errors
    assert not Measurement.objects.exists()


def test_service_refusal_lands_on_the_sample_it_concerns(member_client, preparation, monkeypatch):
    ingestion = upload(member_client, instrument_path(NANOSIGHT_BEADS)).context["ingestion"]
    parsed = ingestion.parsed
    parsed["samples"][2]["captures"][0]["concentration_per_ml"] = -1.0  # what a broken parser could produce
    Ingestion.objects.filter(pk=ingestion.pk).update(parsed=parsed)
    response = commit(
        member_client,
        ingestion,
        {"preparation_0": "EVP-W1", "dilution_0": "10000", "preparation_2": "EVP-W1", "dilution_2": "10000"},
    )
    errors = response.context["form"].errors["preparation_2"]
    assert "particle.captures[0].concentration_per_ml" in errors[0]
    assert not Measurement.objects.exists()


def test_plate_samples_are_recorded_as_protein(member_client, preparation, staff, project):
    make_preparation(staff, project, "EVP-W2")
    plate_map = (FIXTURES / "bca-plate-map.json").read_text()
    ingestion = upload(member_client, instrument_path(SOFTMAX), plate_map=plate_map).context["ingestion"]
    commit(member_client, ingestion, {"preparation_0": "EVP-W1", "preparation_2": "EVP-W2"})
    by_barcode = {
        m.preparation.barcode: m.protein for m in Measurement.objects.select_related("protein", "preparation")
    }
    assert by_barcode["EVP-W1"].concentration_ug_per_ml == pytest.approx(947.2933, rel=1e-4)
    assert by_barcode["EVP-W2"].out_of_range and by_barcode["EVP-W2"].concentration_ug_per_ml is None


def test_committing_again_changes_nothing(member_client, preparation):
    ingestion = upload(member_client, instrument_path(NANOSIGHT_BEADS_DILUTED)).context["ingestion"]
    commit(member_client, ingestion, {"preparation_0": "EVP-W1"})
    again = commit(member_client, ingestion, {"preparation_0": "EVP-W1"})
    assert "Nothing to commit" in again.content.decode()
    assert Measurement.objects.count() == 1


def test_readers_see_the_preview_but_cannot_commit(reader_client, member_client, preparation):
    ingestion = upload(member_client, instrument_path(NANOSIGHT_BEADS_DILUTED)).context["ingestion"]
    client = reader_client
    page = client.get(reverse("evlims:ingestion-detail", args=[ingestion.pk]))
    assert page.status_code == 200 and page.context["form"] is None
    assert "100nmbeads" in page.content.decode()
    refused = client.post(reverse("evlims:ingestion-detail", args=[ingestion.pk]), {"preparation_0": "EVP-W1"})
    assert refused.status_code == 403
    assert client.get(reverse("evlims:result-upload")).status_code == 403
    assert not Measurement.objects.exists()


# ---------------------------------------------------------------- lists, raw files and other labs


def test_ingestion_list_shows_the_labs_uploads_with_status(member_client, outsider_client, preparation):
    upload(member_client, instrument_path(NANOSIGHT_BEADS_DILUTED))
    upload(member_client, (FIXTURES / "binary.bin").read_bytes(), name="broken.bin")
    upload(outsider_client, (FIXTURES / "wrong-format.csv").read_bytes(), name="foreign.csv")
    listing = member_client.get(reverse("evlims:ingestion-list")).content.decode()
    assert "beads2.csv" in listing and "broken.bin" in listing and "foreign.csv" not in listing
    assert "Parsed, awaiting confirmation" in listing and "Failed" in listing
    failed_only = member_client.get(reverse("evlims:ingestion-list"), {"status": "failed"}).content.decode()
    assert "broken.bin" in failed_only and "beads2.csv" not in failed_only


def test_raw_file_downloads_as_an_attachment_of_opaque_bytes(member_client):
    path = instrument_path(NANOSIGHT_BEADS_DILUTED)
    ingestion = upload(member_client, path).context["ingestion"]
    response = member_client.get(reverse("evlims:raw-file", args=[ingestion.raw_file_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="beads2.csv"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == path.read_bytes()


def test_another_labs_ingestion_and_raw_file_are_not_found(member_client, outsider_client):
    foreign = upload(outsider_client, instrument_path(NANOSIGHT_BEADS_DILUTED)).context["ingestion"]
    for url in (
        reverse("evlims:ingestion-detail", args=[foreign.pk]),
        reverse("evlims:raw-file", args=[foreign.raw_file_id]),
    ):
        response = member_client.get(url)
        assert response.status_code == 404, url
        assert b"100nmbeads" not in response.content
    assert member_client.post(reverse("evlims:ingestion-detail", args=[foreign.pk]), {}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == Ingestion.Status.PREVIEW


def test_pages_send_anonymous_visitors_to_sign_in(client, preparation):
    for url in (
        reverse("evlims:ingestion-list"),
        reverse("evlims:result-upload"),
        reverse("evlims:result-new", args=[preparation.pk, "marker"]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("evlims:login")), url


# ---------------------------------------------------------------- results typed by hand


def result_url(preparation, kind):
    return reverse("evlims:result-new", args=[preparation.pk, kind])


MARKER = {
    "protein": "cd63",
    "method": "western_blot",
    "detection": "detected",
    "antibody_clone": "H5C6",
    "antibody_dilution": "1:1000",
    "lysate_buffer": "RIPA",
    "protein_loaded_ug": "10",
    "compared_with_source_lysate": "yes",
}


def test_marker_form_records_the_result_with_its_misev_category(member_client, preparation):
    response = member_client.post(result_url(preparation, "marker"), MARKER, follow=True)
    result = MarkerResult.objects.select_related("measurement").get()
    assert result.protein == "CD63" and result.detection == "detected" and result.misev_category
    assert (result.antibody_clone, result.antibody_dilution, result.lysate_buffer) == ("H5C6", "1:1000", "RIPA")
    assert result.protein_loaded_ug == 10 and result.compared_with_source_lysate is True
    assert result.measurement.recorded_by.username == "staff"
    assert response.redirect_chain[-1][0].endswith(f"#measurement-{result.measurement_id}")
    assert "CD63 recorded: MISEV category" in response.content.decode()


def test_semi_quantitative_marker_is_stored_as_such(member_client, preparation):
    data = MARKER | {"detection": "semi_quantitative", "semi_quantitative_value": "0.4", "method": "mass_spectrometry"}
    member_client.post(result_url(preparation, "marker"), data)
    result = MarkerResult.objects.get()
    assert result.detection == "semi_quantitative" and result.semi_quantitative_value == 0.4


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"protein": "CD 63!"}, "protein", "HGNC symbol"),
        ({"protein": ""}, "protein", "required"),
        ({"detection": "semi_quantitative"}, "semi_quantitative_value", "semi-quantitative value"),
        ({"antibody_clone": "", "antibody_catalogue": ""}, "antibody_clone", "clone or its catalogue"),
        ({"protein_loaded_ug": "-1"}, "protein_loaded_ug", "greater than or equal to 0"),
        ({"detection": "maybe"}, "detection", "valid choice"),
    ],
)
def test_marker_form_errors_name_the_field_and_write_nothing(member_client, preparation, changes, field, message):
    response = member_client.post(result_url(preparation, "marker"), MARKER | changes)
    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    assert not Measurement.objects.exists()


def test_marker_without_antibody_is_accepted_for_mass_spectrometry(member_client, preparation):
    # MADEUP1 is outside the marker vocabulary on purpose: "Record it as typed" keeps it (with no category).
    data = MARKER | {
        "method": "mass_spectrometry",
        "antibody_clone": "",
        "protein": "MADEUP1",
        "protein_confirmed": "on",
    }
    response = member_client.post(result_url(preparation, "marker"), data, follow=True)
    assert "not in the MISEV marker vocabulary" in response.content.decode()
    assert MarkerResult.objects.get().misev_category == ""


def test_service_errors_land_on_the_field_that_supplied_the_value(member_client, preparation):
    # Neither a concentration nor "out of range": the form lets it through, the result document does not.
    response = member_client.post(result_url(preparation, "protein"), {"assay": "bca"})
    assert "out_of_range" in str(response.context["form"].errors["concentration_ug_per_ml"])
    assert not Measurement.objects.exists()


def test_protein_form_records_concentration(member_client, preparation):
    member_client.post(result_url(preparation, "protein"), {"assay": "micro_bca", "concentration_ug_per_ml": "42.5"})
    measurement = Measurement.objects.select_related("protein").get()
    assert measurement.method == "micro_bca" and measurement.protein.concentration_ug_per_ml == 42.5
    assert measurement.values == {"protein_ug_per_ml": 42.5}


def test_particle_form_applies_the_dilution_to_a_cell_concentration(member_client, preparation):
    data = {
        "technique": "nta",
        "concentration_per_ml": "3e8",
        "concentration_basis": "in_cell",
        "dilution_factor": "100",
        "size_mode_nm": "95",
    }
    member_client.post(result_url(preparation, "particle"), data)
    analysis = ParticleAnalysis.objects.get()
    assert analysis.concentration_per_ml == pytest.approx(3e10) and analysis.computed == ["concentration_per_ml"]
    assert analysis.dilution_factor == 100 and analysis.dilution_applied_in_file is False
    html = member_client.get(reverse("evlims:preparation-detail", args=[preparation.pk])).content.decode()
    assert "3 × 10¹⁰" in html and ">computed</span>" in html and "applied here to the cell concentration" in html


def test_particle_form_needs_the_dilution_for_a_cell_concentration(member_client, preparation):
    data = {"technique": "nta", "concentration_per_ml": "3e8", "concentration_basis": "in_cell"}
    response = member_client.post(result_url(preparation, "particle"), data)
    assert "dilution factor" in str(response.context["form"].errors["dilution_factor"])
    empty = member_client.post(
        result_url(preparation, "particle"), {"technique": "nta", "concentration_basis": "stock"}
    )
    assert "at least one size figure" in str(empty.context["form"].non_field_errors())
    assert not Measurement.objects.exists()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_imaging_form_keeps_images_and_links_them(member_client, preparation):
    images = [
        SimpleUploadedFile("wide.png", PNG, content_type="image/png"),
        SimpleUploadedFile("close.tif", PNG + b"tif", content_type="image/tiff"),
    ]
    data = {"technique": "tem", "wide_field": "on", "close_up": "on", "magnification": "30000x", "images": images}
    member_client.post(result_url(preparation, "imaging"), data)
    imaging = ImagingResult.objects.get()
    assert imaging.wide_field and imaging.close_up and imaging.magnification == "30000x"
    assert sorted(raw.original_name for raw in imaging.images.all()) == ["close.tif", "wide.png"]
    event = AuditEvent.objects.get(action="imaging.images_attach")
    assert sorted(event.changes["names"]) == ["close.tif", "wide.png"]
    html = member_client.get(reverse("evlims:preparation-detail", args=[preparation.pk])).content.decode()
    png = imaging.images.get(original_name="wide.png")
    assert f'<img src="{reverse("evlims:raw-file", args=[png.pk])}"' in html  # thumbnail for a browser image
    assert "close.tif" in html
    download = member_client.get(reverse("evlims:raw-file", args=[png.pk]))
    assert download["Content-Type"] == "image/png" and download["Content-Disposition"].startswith("attachment")


def test_imaging_form_refuses_other_files_and_keeps_nothing(member_client, preparation):
    data = {"technique": "tem", "images": [SimpleUploadedFile("notes.html", b"<script>", content_type="text/html")]}
    response = member_client.post(result_url(preparation, "imaging"), data)
    assert "notes.html" in str(response.context["form"].errors["images"])
    assert not RawFile.objects.exists() and not Measurement.objects.exists()


def test_lipid_and_rna_forms_record_one_figure(member_client, preparation):
    member_client.post(result_url(preparation, "lipid"), {"assay": "SPV", "value": "12.5", "unit": "nmol/mL"})
    member_client.post(result_url(preparation, "rna"), {"assay": "Qubit RNA HS", "value": "3", "unit": "ng/µL"})
    assert sorted(Measurement.objects.values_list("kind", "analyte__unit")) == [
        ("lipid", "nmol/mL"),
        ("rna", "ng/µL"),
    ]


def test_unknown_result_kind_is_not_found(member_client, preparation):
    assert member_client.get(result_url(preparation, "gossip")).status_code == 404


def test_readers_cannot_record_results(reader_client, preparation):
    assert reader_client.get(result_url(preparation, "marker")).status_code == 403
    assert reader_client.post(result_url(preparation, "marker"), MARKER).status_code == 403
    assert not Measurement.objects.exists()
