"""Bulk registration of samples from a manifest file: the reads of manifest imports and the dry run.

All or nothing: the dry run checks every row and collects every problem, and a file with any error
writes no sample. The writes (upload, check, commit) are services (``samples.services.manifests``):
commit checks the file again against the database as it is then (another import may have taken a barcode
since), and registers all rows in one transaction with bulk inserts (``samples.services.bulk``).

The dependency runs one way: the writes import the checks here, and this module imports no write.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone

from ..conf import evlims_settings
from ..core.errors import NotFound
from ..core.tenancy import visible_lab_ids
from .import_checks import ERROR, check_rows, problem, sort_problems
from .import_files import ManifestFileError, read_manifest
from .import_formulas import formula_problems
from .models import ManifestImport, Sample
from .quality import quality_flags
from .vocabulary import biofluid_choices

Status = ManifestImport.Status
PREVIEW_ROWS = 10
UNFINISHED = frozenset({Status.UPLOADED, Status.VALIDATING, Status.COMMITTING})


@dataclass
class CheckedManifest:
    rows: list = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    existing_donor_codes: frozenset[str] = frozenset()

    @property
    def errors(self) -> list[dict]:
        return [p for p in self.problems if p["severity"] == ERROR]


# Reads ---------------------------------------------------------------------------------------------------


def imports_for(user):
    return ManifestImport.objects.filter(lab_id__in=visible_lab_ids(user)).select_related(
        "lab", "project", "uploaded_by"
    )


def import_get(user, pk) -> ManifestImport:
    manifest = imports_for(user).filter(pk=pk).first()
    if manifest is None:
        raise NotFound
    return manifest


def import_row_reason(manifest_id: int, row: int) -> str:
    """Why a sample an import registered was created: the reason its first history row carries."""
    return f"Manifest import {manifest_id}, row {row}"


def import_sample_ids(manifest: ManifestImport):
    """The ids of the samples ``manifest`` registered (a subquery): those whose creation names it."""
    return Sample.history.filter(
        lab_id=manifest.lab_id,
        history_type="+",
        history_change_reason__startswith=import_row_reason(manifest.pk, 0).removesuffix("0"),
    ).values("id")


def progress_key(manifest_id: int) -> str:
    """The cache key of a commit's progress (rows written so far)."""
    return f"evlims:manifest-import:{manifest_id}:committed-rows"


def import_status(manifest: ManifestImport) -> dict:
    """What the progress bar shows. Commit progress lives in the cache: the commit's own transaction
    keeps its row updates invisible to other connections until it ends."""
    done = manifest.rows_processed
    if manifest.status == Status.COMMITTING:
        done = max(done, cache.get(progress_key(manifest.pk), 0))
    total = manifest.row_count
    return {
        "status": manifest.status,
        "status_label": manifest.get_status_display(),
        "row_count": total,
        "rows_processed": done,
        "percent": round(100 * done / total) if total else (0 if manifest.status in UNFINISHED else 100),
        "finished": manifest.status not in UNFINISHED,
        "error_count": sum(1 for p in manifest.errors if p.get("severity", ERROR) == ERROR),
        "warning_count": sum(1 for p in manifest.errors if p.get("severity") != ERROR),
        "samples_created": manifest.samples_created,
    }


def manifest_preview(manifest: ManifestImport, *, limit: int = PREVIEW_ROWS) -> dict:
    """Counts and the first rows of a validated manifest, as they will be registered."""
    checked = check_manifest(stored_bytes(manifest), lab=manifest.lab, ignore_import_id=manifest.pk)
    rows = checked.rows
    existing = checked.existing_donor_codes
    donor_codes = {row.values["donor_code"] for row in rows if row.values.get("donor_code")}
    labels = dict(biofluid_choices())
    return {
        "samples": len(rows),
        "aliquots": sum(row.values.get("aliquot_count", 0) for row in rows),
        "donors_new": len(donor_codes - existing),
        "donors_existing": len(donor_codes & existing),
        "issued_barcodes": sum(1 for row in rows if not row.values.get("barcode")),
        "by_biofluid": [
            (labels.get(code, code), n) for code, n in sorted(Counter(r.values["biofluid"] for r in rows).items())
        ],
        "first_rows": [_preview_row(row, existing, labels) for row in rows[:limit]],
        "quality": quality_preview(rows),
    }


_SAMPLE_FIELDS = frozenset(field.name for field in Sample._meta.concrete_fields)
_SEVERITY_WORDS = {"problem": "Problem", "warning": "Warning"}


def quality_preview(rows) -> list[dict]:
    """The pre-analytical quality flags each row's sample will carry once registered (as the sample page
    shows them), so they are seen before the commit."""
    flagged = []
    for row in rows:
        sample = Sample(**{name: value for name, value in row.values.items() if name in _SAMPLE_FIELDS})
        flags = quality_flags(sample)
        if flags:
            label = row.values.get("barcode") or row.values.get("external_id") or ""
            flagged.append(
                {
                    "row": row.number,
                    "label": label,
                    "flags": [
                        {"severity": flag.severity, "label": _SEVERITY_WORDS[flag.severity], "message": flag.message}
                        for flag in flags
                    ],
                }
            )
    return flagged


def _preview_row(row, existing_donor_codes, biofluid_labels) -> dict:
    values = row.values
    count = values.get("aliquot_count")
    return {
        "row": row.number,
        "barcode": values.get("barcode", ""),
        "external_id": values.get("external_id", ""),
        "donor_code": values.get("donor_code", ""),
        "donor_is_new": bool(values.get("donor_code")) and values["donor_code"] not in existing_donor_codes,
        "biofluid": biofluid_labels.get(values["biofluid"], values["biofluid"]),
        "volume_ml": values["volume_ml"],
        "collected_at": values.get("collected_at"),
        "aliquots": f"{count} × {values['aliquot_volume_ul']} µL" if count else "",
    }


# Checking ------------------------------------------------------------------------------------------------


def check_manifest(data: bytes, *, lab, progress=None, ignore_import_id=None) -> CheckedManifest:
    """Every problem of the file (errors and warnings, sorted by row) and the typed rows."""
    try:
        table = read_manifest(data, max_rows=evlims_settings.IMPORT_MAX_ROWS)
    except ManifestFileError as error:
        return CheckedManifest(problems=[problem(error.row, "", error.message)])
    rows, problems, existing_donors = check_rows(table, lab=lab, progress=progress)
    problems.extend(formula_problems(table, problems))
    problems.extend(_already_committed(data, lab, ignore_import_id))
    return CheckedManifest(rows=rows, problems=sort_problems(problems), existing_donor_codes=existing_donors)


def _already_committed(data: bytes, lab, ignore_import_id) -> list[dict]:
    """The same bytes committed before would register every sample a second time."""
    earlier = (
        ManifestImport.objects.filter(lab=lab, sha256=sha256(data), status=Status.COMMITTED)
        .exclude(pk=ignore_import_id)
        .order_by("committed_at")
        .first()
    )
    if earlier is None:
        return []
    return [
        problem(
            None,
            "",
            f"This exact file was already committed as import {earlier.pk} on "
            f"{timezone.localtime(earlier.committed_at):%Y-%m-%d %H:%M}; importing it again would register "
            "its samples twice.",
        )
    ]


def sha256(data: bytes) -> str:
    """The checksum an upload is kept with."""
    return hashlib.sha256(data).hexdigest()


class StoredFileChanged(ValidationError):
    """The stored manifest no longer has the checksum taken at upload: it must not be imported."""


def stored_bytes(manifest: ManifestImport) -> bytes:
    """The stored file, refused (StoredFileChanged) when it no longer has its checksum."""
    with manifest.file.open("rb") as stored:
        data = stored.read()
    if sha256(data) != manifest.sha256:
        raise StoredFileChanged(
            f"The stored file of import {manifest.pk} no longer matches its checksum; nothing was imported. "
            "Upload the file again."
        )
    return data
