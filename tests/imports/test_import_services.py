"""Upload, dry run and commit of sample manifests through the import services."""

import hashlib
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from evlims.core.models import AuditEvent, BarcodeSequence
from evlims.samples import import_checks, imports, services
from evlims.samples.models import Aliquot, CustodyEvent, Donor, ManifestImport, Sample
from evlims.samples.services import bulk, manifests
from tests.factories import DonorFactory, SampleFactory

from .conftest import checked_upload, csv_bytes, manifest_bytes, problem_tuples, upload, xlsx_bytes

Status = ManifestImport.Status


def test_upload_keeps_the_file_byte_for_byte_with_its_checksum(staff, project):
    data = manifest_bytes("bad.csv")
    manifest = upload(staff, project, data, name="site A.csv")
    assert manifest.status == Status.UPLOADED and manifest.original_name == "site A.csv"
    assert manifest.sha256 == hashlib.sha256(data).hexdigest()
    with manifest.file.open("rb") as stored:
        assert stored.read() == data
    assert AuditEvent.objects.get(action="manifest.upload").changes == {
        "file": "site A.csv",
        "sha256": manifest.sha256,
        "bytes": len(data),
    }


def test_good_csv_commits_samples_donors_and_aliquots(staff, project):
    DonorFactory(lab=project.lab, code="D-200")
    manifest = checked_upload(staff, project, manifest_bytes("good.csv"))
    assert (manifest.status, manifest.row_count) == (Status.VALID, 4)
    # The formula-like remark is warned about (row and column) and imported as text.
    assert [(p["row"], p["column"], p["severity"]) for p in manifest.errors] == [(3, "remarks", "warning")]
    assert not Sample.objects.exists()

    manifest = manifests.manifest_commit(manifest=manifest, actor=staff)

    assert manifest.status == Status.COMMITTED and manifest.samples_created == 4
    plasma = Sample.objects.get(barcode="PL-0001")
    assert (plasma.biofluid, plasma.volume_ml, plasma.anticoagulant) == ("blood_plasma", Decimal("4.5"), "k2_edta")
    assert (plasma.processing_delay_min, plasma.prep_spin_g, plasma.prep_spin_count) == (45, 2500, 2)
    assert plasma.external_id == "SITE-A-17" and plasma.project == project
    assert sorted(plasma.aliquots.values_list("volume_ul", flat=True)) == [Decimal(500)] * 3
    serum = Sample.objects.get(external_id="SITE-A-18")
    assert serum.barcode.startswith("EVS-")
    assert serum.remarks == '=HYPERLINK("http://example.org")'
    assert serum.donor == plasma.donor and plasma.donor.code == "D-100" and plasma.donor.project == project
    assert Sample.objects.get(barcode="UR-0002").donor == Donor.objects.get(code="D-200")
    assert Donor.objects.filter(lab=project.lab).count() == 2
    assert Sample.objects.get(barcode="CM-0003").conditioning_time_h == Decimal(48)
    assert CustodyEvent.objects.filter(kind=CustodyEvent.Kind.RECEIVED).count() == 5
    # One audit event for the import's commit (after those of its dry run); each record's own provenance is its
    # history row.
    assert list(AuditEvent.objects.exclude(action="manifest.upload").values_list("action", flat=True)) == [
        "manifest.check_started",
        "manifest.checked",
        "manifest.commit",
    ]
    summary = AuditEvent.objects.get(action="manifest.commit")
    assert summary.changes == {
        "file": "manifest.csv",
        "sha256": manifest.sha256,
        "samples": 4,
        "aliquots": 5,
        "donors_created": ["D-100"],
        "donors_linked": 1,
        "sample_barcodes_from_file": 3,
        "barcodes_issued": {"EVS": [serum.barcode, serum.barcode], "EVA": ["EVA-0000001", "EVA-0000005"]},
    }
    reason = f"Manifest import {manifest.pk}, row 2"
    assert plasma.history.get().history_change_reason == reason
    assert {a.history.get().history_change_reason for a in plasma.aliquots.all()} == {reason}
    assert plasma.donor.history.get().history_change_reason == reason
    assert plasma.history.get().history_user == staff


def test_good_excel_commits_with_native_dates_numbers_and_formula_text(staff, project):
    import datetime as dt

    rows = [
        [
            "Barcode",
            "Biofluid",
            "Volume ML",
            "Collected At",
            "Fasting",
            "Aliquot Count",
            "Aliquot Volume uL",
            "Remarks",
        ],
        ["XL-1", "Blood serum", 3.5, dt.datetime(2024, 3, 1, 8, 15), True, 2, 250, "=SUM(A1:A3)"],
        ["XL-2", "urine", 40, dt.date(2024, 3, 2), "no", None, None, None],
    ]
    manifest = checked_upload(staff, project, xlsx_bytes(rows), name="site.xlsx")
    assert manifest.status == Status.VALID, manifest.errors
    manifests.manifest_commit(manifest=manifest, actor=staff)
    serum = Sample.objects.get(barcode="XL-1")
    assert serum.collected_at == dt.datetime(2024, 3, 1, 8, 15, tzinfo=dt.UTC)
    assert (serum.volume_ml, serum.fasting, serum.remarks) == (Decimal("3.5"), True, "=SUM(A1:A3)")
    assert serum.aliquots.count() == 2
    assert Sample.objects.get(barcode="XL-2").fasting is False


def test_bad_file_lists_every_problem_and_writes_nothing(staff, project):
    manifest = checked_upload(staff, project, manifest_bytes("bad.csv"))
    assert manifest.status == Status.INVALID
    assert problem_tuples(manifest) == [
        (1, "colour", "warning", "Not a manifest column; its values are ignored."),
        (
            3,
            "biofluid",
            "error",
            "'plasma' is not an allowed value; use one of: Blood plasma, Blood serum, Whole blood, Urine, "
            "Cerebrospinal fluid, Saliva, Breast milk, Ascitic fluid, Pleural effusion, Amniotic fluid, Semen, "
            "Synovial fluid, Bile, Tear fluid, Bronchoalveolar lavage fluid, Cell-culture conditioned medium, "
            "Tissue (explant or dissociated), Other.",
        ),
        (3, "fasting", "error", "'maybe' is not yes or no."),
        (4, "barcode", "error", "BX-1 also appears in row 2."),
        (4, "volume_ml", "error", "'-1' is out of range: must be more than 0 mL."),
        (4, "collected_at", "error", "'01/03/2024' is not a date: write YYYY-MM-DD or YYYY-MM-DD HH:MM."),
        (4, "needle_gauge", "error", "'21.5' is not a whole number."),
        (4, "aliquot_volume_ul", "error", "Give aliquot_volume_ul together with aliquot_count, or leave both empty."),
        (5, "volume_ml", "error", "'0' is out of range: must be more than 0 mL."),
        (5, "received_at", "error", "2024-02-28 10:00 is before collected_at (2024-03-01 10:00)."),
        (6, "collected_at", "error", "2099-01-01 00:00 is in the future."),
        (6, "viability_pct_at_harvest", "error", "'120' is out of range: must be at most 100 %."),
        (6, "aliquot_volume_ul", "error", "1 aliquot × 2000 µL = 2000 µL, more than the 1 mL received."),
        (7, "biofluid", "error", "Required; the cell is empty."),
        (7, "volume_ml", "error", "'abc' is not a number."),
    ]
    assert (manifest.row_count, manifest.rows_processed) == (6, 6)
    with pytest.raises(ValidationError, match=r"\(this one: has errors\)"):
        manifests.manifest_commit(manifest=manifest, actor=staff)
    assert not Sample.objects.exists() and not Donor.objects.exists() and not Aliquot.objects.exists()
    assert ManifestImport.objects.get().file.size == len(manifest_bytes("bad.csv"))


def test_semicolon_cp1252_file_with_decimal_commas(staff, project):
    data = "barcode;biofluid;volume_ml;storage_temperature_c;remarks\r\nEU-1;urine;4,5;-80;Süß, trüb\r\n".encode(
        "cp1252"
    )
    manifest = manifests.manifest_commit(manifest=checked_upload(staff, project, data), actor=staff)
    assert manifest.status == Status.COMMITTED
    sample = Sample.objects.get(barcode="EU-1")
    assert (sample.volume_ml, sample.storage_temperature_c, sample.remarks) == (Decimal("4.5"), -80, "Süß, trüb")


def test_header_problems(staff, project):
    data = csv_bytes([["barcode", "Barcode", "volume_ml"], ["A-1", "A-2", "2"]])
    assert problem_tuples(checked_upload(staff, project, data)) == [
        (1, "barcode", "error", "Appears twice (columns 1 and 2)."),
        (1, "biofluid", "error", "Required column is missing from the header row."),
    ]


def test_file_level_problems(staff, project):
    assert problem_tuples(checked_upload(staff, project, csv_bytes([["biofluid", "volume_ml"]]))) == [
        (None, "", "error", "The file has a header but no data rows.")
    ]
    assert problem_tuples(checked_upload(staff, project, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00")) == [
        (None, "", "error", "This is an Excel 97-2003 (.xls) file; save it as .xlsx or CSV and upload again.")
    ]


def test_shifted_csv_row_and_headerless_values(staff, project):
    data = csv_bytes(
        [["biofluid", "volume_ml", "", "remarks"], ["urine", "4", "x", "ok"], ["urine", "4", "", "a", "b"]]
    )
    assert problem_tuples(checked_upload(staff, project, data)) == [
        (2, "column 3", "warning", "This column has values but no header; they are ignored."),
        (
            3,
            "column 5",
            "error",
            "This row has more cells than the header (4); a value probably contains the "
            "delimiter without quotes, which shifts the cells after it.",
        ),
    ]


def test_warnings_do_not_block(staff, project):
    data = csv_bytes(
        [
            ["biofluid", "volume_ml", "anticoagulant", "passage", "aliquot_count", "aliquot_volume_ul", "note"],
            ["urine", "4", "citrate", "3", "2", "0.5", "x"],
        ]
    )
    manifest = checked_upload(staff, project, data)
    assert manifest.status == Status.VALID
    assert problem_tuples(manifest) == [
        (1, "note", "warning", "Not a manifest column; its values are ignored."),
        (2, "anticoagulant", "warning", "Blood-collection values (anticoagulant) are given for a urine sample."),
        (2, "passage", "warning", "Cell-culture values (passage) are given for a urine sample."),
        (2, "aliquot_volume_ul", "warning", "0.5 µL is below 1 µL; this column is in µL, not mL."),
    ]


def test_barcodes_already_in_use_or_of_the_issued_form(staff, project):
    taken = SampleFactory(project=project, barcode="OLD-1")
    services.aliquots_create(actor=staff, sample=taken, volumes_ul=[100])
    aliquot_barcode = taken.aliquots.get().barcode
    data = csv_bytes(
        [
            ["barcode", "biofluid", "volume_ml"],
            ["OLD-1", "urine", "1"],
            [aliquot_barcode, "urine", "1"],
            ["EVS-0000042", "urine", "1"],
            ["NEW-1", "urine", "1"],
        ]
    )
    assert problem_tuples(checked_upload(staff, project, data)) == [
        (2, "barcode", "error", "Barcode OLD-1 is already in use by a sample of this lab."),
        (
            3,
            "barcode",
            "error",
            f"{aliquot_barcode} has the form of barcodes the LIMS issues itself; leave the cell empty to get one.",
        ),
        (3, "barcode", "error", f"Barcode {aliquot_barcode} is already in use by an aliquot of this lab."),
        (
            4,
            "barcode",
            "error",
            "EVS-0000042 has the form of barcodes the LIMS issues itself; leave the cell empty to get one.",
        ),
    ]


def test_commit_checks_again_and_writes_nothing_if_the_database_changed(staff, project):
    manifest = checked_upload(staff, project, manifest_bytes("good.csv"))
    SampleFactory(project=project, barcode="CM-0003")
    manifest = manifests.manifest_commit(manifest=manifest, actor=staff)
    assert manifest.status == Status.INVALID
    assert [problem for problem in problem_tuples(manifest) if problem[2] == "error"] == [
        (5, "barcode", "error", "Barcode CM-0003 is already in use by a sample of this lab.")
    ]
    assert Sample.objects.count() == 1 and not Donor.objects.exists()


def test_a_row_refused_by_the_services_rolls_back_every_row(staff, project, monkeypatch):
    real_new_sample = bulk.sample_build
    calls = []

    def refuse_third_row(**kwargs):
        calls.append(kwargs["reason"])
        if len(calls) == 3:
            raise ValidationError({"volumes_ul": "Aliquots total too much."})
        return real_new_sample(**kwargs)

    manifest = checked_upload(staff, project, manifest_bytes("good.csv"))
    events_before = AuditEvent.objects.count()
    monkeypatch.setattr(bulk, "sample_build", refuse_third_row)
    manifest = manifests.manifest_commit(manifest=manifest, actor=staff)
    assert calls[2] == f"Manifest import {manifest.pk}, row 4"
    assert manifest.status == Status.INVALID
    assert problem_tuples(manifest) == [(4, "aliquot_volume_ul", "error", "Aliquots total too much.")]
    assert not Sample.objects.exists() and not Donor.objects.exists() and not Aliquot.objects.exists()
    # The refused commit is audited; nothing of what it rolled back is.
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)[events_before:]) == [
        "manifest.commit_refused"
    ]
    assert not BarcodeSequence.objects.filter(last_value__gt=0).exists()


def test_commit_is_idempotent(staff, project):
    manifest = checked_upload(staff, project, manifest_bytes("good.csv"))
    assert manifests.manifest_queue_commit(manifest=manifest, actor=staff) is True
    assert manifests.manifest_queue_commit(manifest=manifest, actor=staff) is False
    first = manifests.manifest_commit(manifest=manifest, actor=staff)
    counts = (Sample.objects.count(), Aliquot.objects.count(), Donor.objects.count(), AuditEvent.objects.count())
    second = manifests.manifest_commit(manifest=manifest, actor=staff)
    assert second.status == Status.COMMITTED and second.committed_at == first.committed_at
    assert (
        Sample.objects.count(),
        Aliquot.objects.count(),
        Donor.objects.count(),
        AuditEvent.objects.count(),
    ) == counts
    assert manifests.manifest_queue_commit(manifest=manifest, actor=staff) is False
    with pytest.raises(ValidationError, match="committed; it is not checked again"):
        manifests.manifest_validate(manifest=manifest, actor=staff)


def test_the_same_file_cannot_be_committed_twice(staff, project):
    data = csv_bytes([["biofluid", "volume_ml"], ["urine", "4"]])
    first = manifests.manifest_commit(manifest=checked_upload(staff, project, data), actor=staff)
    again = checked_upload(staff, project, data)
    assert again.status == Status.INVALID
    assert problem_tuples(again) == [
        (
            None,
            "",
            "error",
            f"This exact file was already committed as import {first.pk} on "
            f"{first.committed_at:%Y-%m-%d %H:%M}; importing it again would register its samples twice.",
        )
    ]
    assert Sample.objects.count() == 1


def test_qa_manager_cannot_import(qa_manager, staff, project):
    with pytest.raises(PermissionDenied):
        upload(qa_manager, project, manifest_bytes("good.csv"))
    assert not ManifestImport.objects.exists()
    manifest = checked_upload(staff, project, manifest_bytes("good.csv"))
    for step in (manifests.manifest_validate, manifests.manifest_queue_commit, manifests.manifest_commit):
        with pytest.raises(PermissionDenied):
            step(manifest=manifest, actor=qa_manager)
    assert not Sample.objects.exists()


def test_another_labs_import_is_invisible(staff, outsider, project):
    manifest = upload(staff, project, manifest_bytes("good.csv"))
    assert list(imports.imports_for(outsider)) == []
    with pytest.raises(imports.NotFound):
        imports.import_get(outsider, manifest.pk)
    assert imports.import_get(staff, manifest.pk) == manifest
    with pytest.raises(PermissionDenied):
        manifests.manifest_commit(manifest=manifest, actor=outsider)


def test_size_limit_refuses_before_storing(staff, project, settings):
    settings.EVLIMS = {"IMPORT_MAX_BYTES": 100}
    with pytest.raises(ValidationError, match="The file is 614 bytes; the largest accepted is 100 bytes."):
        upload(staff, project, manifest_bytes("good.csv"))
    assert not ManifestImport.objects.exists()


def test_row_limit_is_a_clear_error_and_the_file_is_kept(staff, project, settings):
    settings.EVLIMS = {"IMPORT_MAX_ROWS": 3}
    manifest = checked_upload(staff, project, manifest_bytes("good.csv"))
    assert problem_tuples(manifest) == [
        (
            None,
            "",
            "error",
            "The file has more than 3 data rows, the most one import accepts. Split it into smaller files.",
        )
    ]
    assert manifest.status == Status.INVALID and manifest.file.size == 614


@pytest.mark.parametrize("step", ["check", "commit"])
def test_a_changed_stored_file_is_never_imported(staff, project, step):
    manifest = upload(staff, project, manifest_bytes("good.csv"))
    if step == "commit":
        manifest = manifests.manifest_validate(manifest=manifest, actor=staff)
    with open(manifest.file.path, "ab") as stored:
        stored.write(b"tampered")
    run = manifests.manifest_validate if step == "check" else manifests.manifest_commit
    manifest = run(manifest=manifest, actor=staff)
    assert manifest.status == Status.FAILED
    assert problem_tuples(manifest) == [
        (
            None,
            "",
            "error",
            f"The stored file of import {manifest.pk} no longer matches its checksum; nothing was "
            "imported. Upload the file again.",
        )
    ]
    assert not Sample.objects.exists()


def test_progress_is_reported_while_checking_and_committing(staff, project, monkeypatch):
    manifest = upload(staff, project, csv_bytes([["biofluid", "volume_ml"]] + [["urine", "1"]] * 120))
    seen_while_checking, seen_while_committing = [], []
    real_check_row, real_insert = import_checks._check_row, bulk._insert

    def check_row_and_look(number, values, problems):
        if number % 40 == 0:
            current = ManifestImport.objects.get(pk=manifest.pk)
            seen_while_checking.append((current.status, current.rows_processed, current.row_count))
        return real_check_row(number, values, problems)

    def insert_and_look(model, *args):
        if model is Sample:
            current = ManifestImport.objects.get(pk=manifest.pk)
            seen_while_committing.append(imports.import_status(current)["rows_processed"])
        return real_insert(model, *args)

    monkeypatch.setattr(import_checks, "_check_row", check_row_and_look)
    manifest = manifests.manifest_validate(manifest=manifest, actor=staff)
    assert seen_while_checking == [
        (Status.VALIDATING, 38, 120),
        (Status.VALIDATING, 78, 120),
        (Status.VALIDATING, 118, 120),
    ]

    monkeypatch.setattr(bulk, "_insert", insert_and_look)
    monkeypatch.setattr(bulk, "BATCH_ROWS", 40)
    manifests.manifest_queue_commit(manifest=manifest, actor=staff)
    assert imports.import_status(ManifestImport.objects.get(pk=manifest.pk))["percent"] == 0
    manifest = manifests.manifest_commit(manifest=manifest, actor=staff)
    assert seen_while_committing == [0, 40, 80]
    assert imports.import_status(manifest) == {
        "status": Status.COMMITTED,
        "status_label": "Committed",
        "row_count": 120,
        "rows_processed": 120,
        "percent": 100,
        "finished": True,
        "error_count": 0,
        "warning_count": 0,
        "samples_created": 120,
    }
