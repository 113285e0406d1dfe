from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from evlims.characterization.models import MarkerResult, Measurement, ParticleAnalysis, SizeBin
from evlims.core.models import AuditEvent, Role
from evlims.instruments import services
from evlims.instruments.models import Ingestion, InstrumentApiKey, RawFile
from evlims.instruments.services import file_ingestion
from evlims.isolation.models import EVPreparation, IsolationRun
from evlims.samples.services import sample_register
from tests.factories import member
from tests.fixtures.instruments import NANOSIGHT_FULL, ZETAVIEW, export_path
from tests.run_states import completed_run_fields
from tests.shared_samples import REAL_NANOSIGHT_EMT1, REAL_ZETAVIEW_SAMPLE1


@pytest.fixture
def admin(lab):
    return member(lab, Role.LAB_ADMIN, username="admin")


@pytest.fixture
def instrument(admin, lab):
    return services.instrument_register(actor=admin, lab=lab, name="NS300", kind="nta")


@pytest.fixture
def preparation(staff, project):
    sample = sample_register(
        actor=staff, project=project, biofluid="blood_plasma", volume_ml=Decimal("2"), aliquot_volumes_ul=[1000]
    )
    run = IsolationRun.objects.create(
        lab=project.lab, project=project, code="RUN-T1", protocol_name="SEC", operator=staff, **completed_run_fields()
    )
    return EVPreparation.objects.create(
        lab=project.lab, run=run, input_aliquot=sample.aliquots.get(), barcode="EVP-T1", input_volume_ul=500
    )


def marker(prep="EVP-T1", **extra):
    return {
        "kind": "marker",
        "method": "western_blot",
        "preparation": prep,
        "marker": {"protein": "cd63", "detected": True, "antibody": {"clone": "H5C6", "dilution": "1:1000"}} | extra,
    }


def test_api_key_is_hashed_scoped_and_revocable(admin, instrument):
    key, raw = services.api_key_issue(actor=admin, instrument=instrument, scopes=["results:write"])
    assert raw not in key.key_hash and len(key.key_hash) == 64
    assert services.api_key_authenticate(raw) == key
    assert services.api_key_authenticate(raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None
    assert services.api_key_authenticate("garbage") is None
    services.api_key_revoke(actor=admin, key=key, reason="rotated")
    assert services.api_key_authenticate(raw) is None
    assert InstrumentApiKey.objects.get().last_used_at is not None


def test_only_lab_admin_issues_keys(staff, instrument):
    with pytest.raises(PermissionDenied):
        services.api_key_issue(actor=staff, instrument=instrument, scopes=["read"])


def test_results_are_typed_and_vocabulary_resolved(staff, lab, preparation):
    ingestion, replayed = services.results_ingest(actor=staff, lab=lab, documents=[marker()])
    assert not replayed
    result = MarkerResult.objects.get()
    assert result.protein == "CD63" and result.detection == "detected" and result.misev_category
    assert Measurement.objects.get().values == {"protein": "CD63", "detected": True}
    assert AuditEvent.objects.filter(action="measurements.record").count() == 1


def test_bulk_post_is_all_or_nothing_with_indexed_errors(staff, lab, preparation):
    documents = [marker(), marker(prep="EVP-NOPE"), {"kind": "protein", "method": "bca", "preparation": "EVP-T1"}]
    with pytest.raises(ValidationError) as caught:
        services.results_ingest(actor=staff, lab=lab, documents=documents)
    assert "results[2].protein" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.results_ingest(actor=staff, lab=lab, documents=documents[:2])
    assert set(caught.value.message_dict) == {"results[1].preparation"}
    assert not Measurement.objects.exists() and not Ingestion.objects.exists()


def test_idempotent_retry_returns_first_answer(instrument, lab, preparation):
    first, _ = services.results_ingest(
        actor=None, instrument=instrument, lab=lab, documents=[marker()], idempotency_key="abc"
    )
    again, replayed = services.results_ingest(
        actor=None, instrument=instrument, lab=lab, documents=[marker()], idempotency_key="abc"
    )
    assert replayed and again.pk == first.pk and Measurement.objects.count() == 1
    with pytest.raises(ValidationError, match="different request"):
        services.results_ingest(
            actor=None, instrument=instrument, lab=lab, documents=[marker(), marker()], idempotency_key="abc"
        )


def test_external_run_id_deduplicates(instrument, lab, preparation):
    services.results_ingest(actor=None, instrument=instrument, lab=lab, documents=[marker()], external_run_id="R1")
    _, replayed = services.results_ingest(
        actor=None, instrument=instrument, lab=lab, documents=[marker()], external_run_id="R1"
    )
    assert replayed and Measurement.objects.count() == 1


def test_cross_lab_preparation_is_unknown(outsider, other_lab, preparation):
    with pytest.raises(ValidationError, match="No preparation"):
        services.results_ingest(actor=outsider, lab=other_lab, documents=[marker()])


@pytest.mark.parametrize(("origin", "relative"), [("repo", NANOSIGHT_FULL), ("shared", REAL_NANOSIGHT_EMT1)])
def test_nta_file_preview_then_commit(staff, lab, preparation, origin, relative):
    path = export_path(origin, relative)
    ingestion, _ = file_ingestion.file_upload(actor=staff, lab=lab, data=path.read_bytes(), name=path.name)
    assert ingestion.status == Ingestion.Status.PREVIEW and RawFile.objects.get().sha256 == ingestion.raw_file.sha256
    name = ingestion.parsed["samples"][0]["name"]
    committed = file_ingestion.file_commit(
        actor=staff, ingestion=ingestion, mapping={name: "EVP-T1"}, dilutions={name: 200}
    )
    analysis = ParticleAnalysis.objects.get()
    expected = ingestion.parsed["samples"][0]["concentration_per_ml"] * 200
    assert analysis.concentration_per_ml == pytest.approx(expected)
    assert "concentration_per_ml" in analysis.computed and analysis.dilution_factor == 200
    assert SizeBin.objects.count() == len(ingestion.parsed["samples"][0]["histogram"]["bin_center_nm"])
    assert file_ingestion.file_commit(actor=staff, ingestion=committed, mapping={name: "EVP-T1"}) == committed
    assert ParticleAnalysis.objects.count() == 1


def test_unparseable_file_is_kept_and_writes_no_results(staff, lab):
    with pytest.raises(ValidationError):
        file_ingestion.file_upload(actor=staff, lab=lab, data=b"\x00\x01binary\xff" * 10, name="x.csv")
    failed = Ingestion.objects.get()
    assert failed.status == Ingestion.Status.FAILED and failed.error
    assert RawFile.objects.get().size_bytes == 90
    assert not Measurement.objects.exists()


@pytest.mark.parametrize(("origin", "relative"), [("repo", ZETAVIEW), ("shared", REAL_ZETAVIEW_SAMPLE1)])
def test_recorded_dilution_is_never_applied_twice(staff, lab, preparation, origin, relative):
    path = export_path(origin, relative)
    ingestion, _ = file_ingestion.file_upload(actor=staff, lab=lab, data=path.read_bytes(), name=path.name)
    sample = ingestion.parsed["samples"][0]
    assert sample["dilution_factor"]  # ZetaView records it and the parser already applied it
    file_ingestion.file_commit(
        actor=staff, ingestion=ingestion, mapping={sample["name"]: "EVP-T1"}, dilutions={sample["name"]: 1000}
    )
    assert ParticleAnalysis.objects.get().concentration_per_ml == pytest.approx(sample["concentration_per_ml"])


def test_reader_cannot_upload_even_for_an_instrument(lab, instrument, qa_manager):
    with pytest.raises(PermissionDenied):
        file_ingestion.file_upload(actor=qa_manager, lab=lab, data=b"x", name="x.csv", instrument=instrument)


def test_rejected_file_names_its_failed_ingestion(staff, lab):
    with pytest.raises(file_ingestion.FileRejected) as caught:
        file_ingestion.file_upload(actor=staff, lab=lab, data=b"not an instrument file\n", name="x.txt")
    assert caught.value.ingestion.status == Ingestion.Status.FAILED


def test_generic_table_commits_as_particle_results(staff, lab, preparation):
    table = b"sample,conc,mode\nA,1.5e10,88\n"
    mapping = {"fields": {"sample_name": "sample", "concentration_per_ml": "conc", "size_mode_nm": "mode"}}
    ingestion, _ = file_ingestion.file_upload(
        actor=staff, lab=lab, data=table, name="t.csv", file_format="generic", parse_options={"mapping": mapping}
    )
    file_ingestion.file_commit(actor=staff, ingestion=ingestion, mapping={"A": "EVP-T1"}, dilutions={"A": 1.0})
    analysis = ParticleAnalysis.objects.get()
    assert analysis.technique == "other" and analysis.concentration_per_ml == pytest.approx(1.5e10)


def test_empty_post_is_refused(staff, lab):
    with pytest.raises(ValidationError, match="1–500"):
        services.results_ingest(actor=staff, lab=lab, documents=[])


def test_same_key_same_file_other_options_is_another_request(staff, lab):
    data = b"sample,conc\nA,1e10\n"
    first = {"mapping": {"fields": {"sample_name": "sample", "concentration_per_ml": "conc"}}}
    file_ingestion.file_upload(
        actor=staff, lab=lab, data=data, name="t.csv", file_format="generic", parse_options=first, idempotency_key="k1"
    )
    second = {"mapping": {"fields": {"sample_name": "sample", "size_mode_nm": "conc"}}}
    with pytest.raises(ValidationError, match="different request"):
        file_ingestion.file_upload(
            actor=staff,
            lab=lab,
            data=data,
            name="t.csv",
            file_format="generic",
            parse_options=second,
            idempotency_key="k1",
        )
