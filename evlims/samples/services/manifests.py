"""Writes of manifest imports: upload, the dry run's outcome, commit, failure.

All or nothing: a file with any error writes no sample. Commit checks the file again against the database as
it is then (another import may have taken a barcode since), and registers all rows in one transaction with
bulk inserts (``bulk``): the same donors, samples, aliquots, custody and history rows as the sample services,
each history row naming the import and row, plus one audit event summarising the import. The reads and the
dry run's checks are in ``samples.imports``.
"""

from __future__ import annotations

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from ...conf import evlims_settings
from ...core.audit import record_event
from ...core.tenancy import ensure_can_write
from ..import_checks import ERROR, problem
from ..imports import (
    CheckedManifest,
    StoredFileChanged,
    check_manifest,
    import_row_reason,
    progress_key,
    sha256,
    stored_bytes,
)
from ..models import ManifestImport
from .bulk import InsertClash, RowRefused, SampleRow, samples_register_bulk

Status = ManifestImport.Status
# Service error keys that name something other than the manifest column they came from.
_SERVICE_KEY_COLUMNS = {"volumes_ul": "aliquot_volume_ul", "code": "donor_code", "__all__": ""}


@transaction.atomic
def manifest_upload(*, actor, project, uploaded_file, reason: str = "") -> ManifestImport:
    """Keep the file byte for byte with its checksum; checking it is a separate step (see samples.tasks)."""
    ensure_can_write(actor, project.lab_id)
    limit = evlims_settings.IMPORT_MAX_BYTES
    if uploaded_file.size > limit:
        raise ValidationError(
            {"file": f"The file is {uploaded_file.size:,} bytes; the largest accepted is {limit:,} bytes."}
        )
    data = b"".join(uploaded_file.chunks())
    if not data:
        raise ValidationError({"file": "The file is empty."})
    manifest = ManifestImport(
        lab_id=project.lab_id,
        project=project,
        uploaded_by=actor,
        original_name=(uploaded_file.name or "manifest")[:255],
        sha256=sha256(data),
    )
    manifest.file.save(manifest.original_name, ContentFile(data), save=False)
    manifest.save()
    record_event(
        reason=reason,
        actor=actor,
        action="manifest.upload",
        obj=manifest,
        changes={"file": manifest.original_name, "sha256": manifest.sha256, "bytes": len(data)},
    )
    return manifest


def manifest_validate(*, manifest: ManifestImport, actor, reason: str = "") -> ManifestImport:
    """The dry run: writes nothing but the import's own status, progress and problem list.

    Audited twice, each event in the transaction of its change: ``manifest.check_started`` with the claim
    (the import shows as validating meanwhile; progress is bookkeeping, written as it goes) and
    ``manifest.checked`` with the outcome (valid or invalid, with the number of errors and warnings)."""
    ensure_can_write(actor, manifest.lab_id)
    with transaction.atomic():
        claimed = (
            ManifestImport.objects.filter(pk=manifest.pk)
            .exclude(status__in=[Status.COMMITTING, Status.COMMITTED])
            .update(status=Status.VALIDATING, rows_processed=0, errors=[], updated_at=timezone.now())
        )
        manifest.refresh_from_db()
        if claimed:
            record_event(
                reason=reason, actor=actor, action="manifest.check_started", obj=manifest, changes=_file_of(manifest)
            )
    if not claimed:
        raise ValidationError(
            f"Import {manifest.pk} is {manifest.get_status_display().lower()}; it is not checked again."
        )

    def progress(done, total):
        _report_progress(manifest.pk, done, total)

    try:
        data = stored_bytes(manifest)
    except StoredFileChanged as changed:
        return manifest_mark_failed(manifest=manifest, message=changed.message, actor=actor)
    checked = check_manifest(data, lab=manifest.lab, progress=progress, ignore_import_id=manifest.pk)
    manifest.status = Status.INVALID if checked.errors else Status.VALID
    manifest.errors = checked.problems
    manifest.row_count = manifest.rows_processed = len(checked.rows)
    with transaction.atomic():
        manifest.save(update_fields=["status", "errors", "row_count", "rows_processed", "updated_at"])
        record_event(reason=reason, actor=actor, action="manifest.checked", obj=manifest, changes=_outcome(manifest))
    return manifest


def _file_of(manifest: ManifestImport) -> dict:
    return {"file": manifest.original_name, "sha256": manifest.sha256}


def _outcome(manifest: ManifestImport) -> dict:
    """The audited summary of a check: counts only (problem messages quote the file's cells)."""
    errors = sum(1 for p in manifest.errors if p.get("severity", ERROR) == ERROR)
    return _file_of(manifest) | {
        "status": manifest.status,
        "rows": manifest.row_count,
        "errors": errors,
        "warnings": len(manifest.errors) - errors,
    }


def _report_progress(import_id: int, done: int, total: int) -> None:
    """Rows checked so far. It also touches ``updated_at``: a check that reports progress is alive, and only
    one silent for longer than the sweeper's limit is sent again (its worker died mid-check)."""
    ManifestImport.objects.filter(pk=import_id).update(rows_processed=done, row_count=total, updated_at=timezone.now())


@transaction.atomic
def manifest_queue_commit(*, manifest: ManifestImport, actor, reason: str = "") -> bool:
    """Mark a valid import as committing; False when it is already committing or committed (a second click).

    The claim is a conditional UPDATE, so of two clicks only one claims, on SQLite as on PostgreSQL. Who
    asked is audited (``manifest.commit_requested``): the sweeper commits in their name when the message
    was lost (see samples.tasks)."""
    ensure_can_write(actor, manifest.lab_id)
    claimed = ManifestImport.objects.filter(pk=manifest.pk, status=Status.VALID).update(
        status=Status.COMMITTING, rows_processed=0, updated_at=timezone.now()
    )
    manifest.refresh_from_db()
    if not claimed and manifest.status not in (Status.COMMITTING, Status.COMMITTED):
        raise _not_committable(manifest)
    if claimed:
        record_event(
            reason=reason,
            actor=actor,
            action="manifest.commit_requested",
            obj=manifest,
            changes={"sha256": manifest.sha256},
        )
    return bool(claimed)


def _not_committable(manifest: ManifestImport) -> ValidationError:
    return ValidationError(
        f"Only a checked import without errors can be committed (this one: {manifest.get_status_display().lower()})."
    )


def manifest_commit(*, manifest: ManifestImport, actor, reason: str = "") -> ManifestImport:
    """Register every row in one transaction. Committing a committed import again changes nothing."""
    ensure_can_write(actor, manifest.lab_id)
    with transaction.atomic():
        # The claim comes first: the UPDATE takes the row's lock (on SQLite the database's write lock) before
        # anything is read, so a second commit of the same import waits here and then finds it committed.
        ManifestImport.objects.filter(pk=manifest.pk, status__in=[Status.VALID, Status.COMMITTING]).update(
            updated_at=timezone.now()
        )
        locked = (
            ManifestImport.objects.select_for_update(of=("self",)).select_related("lab", "project").get(pk=manifest.pk)
        )
        if locked.status == Status.COMMITTED:
            return locked
        if locked.status not in (Status.VALID, Status.COMMITTING):
            raise _not_committable(locked)
        try:
            data = stored_bytes(locked)
        except StoredFileChanged as changed:
            return manifest_mark_failed(manifest=locked, message=changed.message, actor=actor)
        checked = check_manifest(data, lab=locked.lab, ignore_import_id=locked.pk)
        if checked.errors:
            return _mark_invalid(locked, checked.problems, actor)
        try:
            with transaction.atomic():
                summary = _register_rows(locked, checked, actor)
        except RowRefused as refused:
            return _mark_invalid(locked, [_service_problem(refused.number, refused.error)], actor)
        except InsertClash as clash:
            return _mark_invalid(locked, _clash_problems(clash), actor)
        locked.status = Status.COMMITTED
        locked.committed_at = timezone.now()
        locked.samples_created = summary["samples"]
        locked.row_count = locked.rows_processed = len(checked.rows)
        locked.save(
            update_fields=["status", "committed_at", "samples_created", "row_count", "rows_processed", "updated_at"]
        )
        record_event(reason=reason, actor=actor, action="manifest.commit", obj=locked, changes=summary)
    cache.delete(progress_key(locked.pk))
    return locked


def _mark_invalid(manifest: ManifestImport, problems: list[dict], actor) -> ManifestImport:
    """The database changed since the dry run (or a row was refused): no sample was written. Runs in the
    commit's transaction, audited as ``manifest.commit_refused``."""
    manifest.status, manifest.errors, manifest.rows_processed = Status.INVALID, problems, 0
    manifest.save(update_fields=["status", "errors", "rows_processed", "updated_at"])
    record_event(actor=actor, action="manifest.commit_refused", obj=manifest, changes=_outcome(manifest))
    cache.delete(progress_key(manifest.pk))
    return manifest


def _service_problem(row_number: int, error: ValidationError) -> dict:
    if hasattr(error, "error_dict"):
        key, messages = next(iter(error.message_dict.items()))
        return problem(row_number, _SERVICE_KEY_COLUMNS.get(key, key), " ".join(messages))
    return problem(row_number, "", " ".join(error.messages))


def _clash_problems(clash: InsertClash) -> list[dict]:
    """Which rows another registration got ahead of (the savepoint is rolled back, so the database answers)."""
    problems = [_service_problem(number, error) for number, error in clash.in_use()]
    return problems or [
        problem(
            None,
            "",
            f"The database refused the registration ({clash}); nothing was imported. Check the file again and commit.",
        )
    ]


def _sample_rows(manifest: ManifestImport, checked: CheckedManifest) -> list[SampleRow]:
    """The checked rows as registrations, each with the reason its records' history rows carry."""
    rows = []
    for row in checked.rows:
        values = dict(row.values)
        code = values.pop("donor_code", "")
        count = values.pop("aliquot_count", 0)
        volume_ul = values.pop("aliquot_volume_ul", None)
        reason = import_row_reason(manifest.pk, row.number)
        rows.append(SampleRow(row.number, reason, values, donor_code=code, aliquot_volumes_ul=[volume_ul] * count))
    return rows


def _register_rows(manifest: ManifestImport, checked: CheckedManifest, actor) -> dict:
    """Every row in bulk; the summary is the ``changes`` of the import's one audit event."""
    rows = _sample_rows(manifest, checked)
    registered = samples_register_bulk(
        actor=actor,
        project=manifest.project,
        rows=rows,
        progress=lambda done: cache.set(progress_key(manifest.pk), done, timeout=3600),
    )
    return {
        "file": manifest.original_name,
        "sha256": manifest.sha256,
        "samples": len(registered.samples),
        "aliquots": registered.aliquots,
        "donors_created": registered.donors_created,
        "donors_linked": registered.donors_linked,
        # Barcodes from the file are pinned by the checksum above; those the LIMS issued are whole ranges,
        # reserved under the sequence's lock for this import alone.
        "sample_barcodes_from_file": sum(1 for row in rows if row.fields.get("barcode")),
        "barcodes_issued": {prefix: [issued[0], issued[-1]] for prefix, issued in registered.barcodes_issued.items()},
    }


def manifest_mark_failed(*, manifest: ManifestImport, message: str, actor=None, reason: str = "") -> ManifestImport:
    """An unexpected error stopped checking or committing; the commit transaction rolled back, so nothing
    of the file was written. Audited as ``manifest.failed``, in the name of whoever ran the step (``actor``;
    the system when unknown)."""
    with transaction.atomic():
        manifest.status = Status.FAILED
        manifest.errors = [problem(None, "", message)]
        manifest.save(update_fields=["status", "errors", "updated_at"])
        record_event(
            reason=reason,
            actor=actor,
            action="manifest.failed",
            obj=manifest,
            changes=_file_of(manifest) | {"message": message},
        )
    cache.delete(progress_key(manifest.pk))
    return manifest
