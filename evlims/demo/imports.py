"""Sample manifests as a collaborating clinic sends them: one committed, one refused for its errors.

They go through the import services (upload, dry run, commit), so the imports pages show a real
history: the stored file with its checksum, the per-row problem report, and the samples created.
"""

import csv
import io
import random

from django.core.files.uploadedfile import SimpleUploadedFile

from evlims.samples.services import manifests

from .people import LabPeople
from .specimens import draft_sample

COLUMNS = [
    "external_id",
    "donor_code",
    "biofluid",
    "volume_ml",
    "collected_at",
    "received_at",
    "anticoagulant",
    "processing_delay_min",
    "hemolysis_a414",
    "storage_temperature_c",
    "aliquot_count",
    "aliquot_volume_ul",
]


def _csv(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _row(rng, number: int, donor_code: str, biofluid: str) -> dict:
    draft = draft_sample(rng, biofluid)
    fields = draft.fields
    return {
        "external_id": f"CLINIC-{number:04d}",
        "donor_code": donor_code,
        "biofluid": biofluid,
        "volume_ml": draft.volume_ml,
        "collected_at": fields["collected_at"].isoformat(),
        "received_at": fields["received_at"].isoformat(),
        "anticoagulant": fields.get("anticoagulant", ""),
        "processing_delay_min": fields.get("processing_delay_min", ""),
        "hemolysis_a414": fields.get("hemolysis_a414", ""),
        "storage_temperature_c": fields["storage_temperature_c"],
        "aliquot_count": len(draft.aliquot_volumes_ul),
        "aliquot_volume_ul": draft.aliquot_volumes_ul[0],
    }


def _upload_and_check(people: LabPeople, project, name: str, data: bytes):
    manifest = manifests.manifest_upload(
        actor=people.staff, project=project, uploaded_file=SimpleUploadedFile(name, data, "text/csv")
    )
    return manifests.manifest_validate(manifest=manifest, actor=people.staff)


def import_manifests(rng: random.Random, people: LabPeople, project, biofluid: str, donors: list, count: int) -> int:
    """Commit a manifest of ``count`` samples of ``biofluid`` for ``project`` and leave one refused manifest.

    Returns the number of samples created.
    """
    rows = [_row(rng, number, rng.choice(donors).code if donors else "", biofluid) for number in range(1, count + 1)]
    if rows:
        manifest = _upload_and_check(people, project, f"{project.code.lower()}-clinic-batch-1.csv", _csv(rows))
        if manifests.manifest_queue_commit(manifest=manifest, actor=people.staff):
            manifests.manifest_commit(manifest=manifest, actor=people.staff)
    # A second batch typed by hand at the clinic: a misspelt biofluid and a zero volume. The dry run
    # reports both by row and column, and nothing of it is registered.
    refused = [_row(rng, 900 + number, "", biofluid) for number in range(1, 4)]
    refused[0]["biofluid"] = "plasma (EDTA)"
    refused[2]["volume_ml"] = "0"
    _upload_and_check(people, project, f"{project.code.lower()}-clinic-batch-2.csv", _csv(refused))
    return len(rows)
