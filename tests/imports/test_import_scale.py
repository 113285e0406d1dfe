"""Large files: the dry run of 10,000 rows is quick. The commit here uses fewer rows to keep the suite short;
test_bulk_register.py holds its statements to a fixed number per batch, and bench/run.py --only import times
a 10,000-row commit against bulk_create."""

import time

from evlims.samples.models import Aliquot, CustodyEvent, Donor, ManifestImport, Sample
from evlims.samples.services import manifests

from .conftest import checked_upload, csv_bytes

HEADER = [
    "barcode",
    "external_id",
    "donor_code",
    "biofluid",
    "volume_ml",
    "collected_at",
    "anticoagulant",
    "aliquot_count",
    "aliquot_volume_ul",
]


def manifest_rows(count: int, *, donors: int) -> list[list[str]]:
    return [HEADER] + [
        [
            f"BIG-{n:06d}",
            f"SITE-{n}",
            f"D-{n % donors:04d}",
            "blood_plasma",
            "4",
            "2024-03-01 08:00",
            "k2_edta",
            "2",
            "500",
        ]
        for n in range(count)
    ]


def test_ten_thousand_rows_are_checked_in_seconds(staff, project):
    started = time.perf_counter()
    manifest = checked_upload(staff, project, csv_bytes(manifest_rows(10_000, donors=2_000)))
    elapsed = time.perf_counter() - started
    assert (manifest.status, manifest.row_count, manifest.rows_processed) == (
        ManifestImport.Status.VALID,
        10_000,
        10_000,
    )
    assert elapsed < 15, f"checking 10,000 rows took {elapsed:.1f} s"


def test_a_large_error_in_the_last_row_blocks_the_whole_file(staff, project):
    rows = manifest_rows(10_000, donors=50)
    rows[-1][4] = "-4"
    manifest = checked_upload(staff, project, csv_bytes(rows))
    assert manifest.status == ManifestImport.Status.INVALID
    assert [(p["row"], p["column"]) for p in manifest.errors] == [(10_001, "volume_ml")]
    assert not Sample.objects.exists()


def test_hundreds_of_rows_commit_in_one_go(staff, project):
    manifest = checked_upload(staff, project, csv_bytes(manifest_rows(150, donors=40)))
    manifest = manifests.manifest_commit(manifest=manifest, actor=staff)
    assert manifest.samples_created == 150
    assert (Sample.objects.count(), Aliquot.objects.count(), Donor.objects.count()) == (150, 300, 40)
    assert (CustodyEvent.objects.count(), Sample.history.count(), Aliquot.history.count()) == (300, 150, 300)
