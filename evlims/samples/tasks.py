"""Background work of manifest imports: checking and committing a large file takes longer than a web
request should. Without a broker (the embedded demo, the tests) these run eagerly in the request.

The tasks keep the names they were registered under when this module was ``evlims.tasks_imports``: messages
already queued, the beat schedule and hosts' task routes name them so.

A broker outage loses no import. The import row is written before anything is sent; a message that cannot
be sent is logged and the row keeps its status (``uploaded``, or ``committing`` once a commit was asked
for). ``sweep_stuck_imports``, run by beat, sends again every import left in one of those states for longer
than ``STALE_AFTER``, and every check left ``validating`` without progress for as long (its worker died; a
live check's progress reports keep ``updated_at`` fresh). Running a step twice is harmless: a check
re-checks, and a commit of a committed import changes nothing.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from ..core.broker import BROKER_ERRORS
from ..core.models import AuditEvent
from .models import ManifestImport
from .services import manifests

logger = logging.getLogger(__name__)
Status = ManifestImport.Status

# An import waiting this long for its check or commit lost its message (broker down, or restarted with the
# message inside). Beat runs the sweep every five minutes, so a lost step resumes within about ten.
STALE_AFTER = timedelta(minutes=5)


def _run(step, import_id: int, actor_id: int, activity: str) -> str:
    manifest = ManifestImport.objects.get(pk=import_id)
    actor = get_user_model().objects.get(pk=actor_id)
    try:
        return step(manifest=manifest, actor=actor).status
    except ValidationError as refused:
        # The import moved on meanwhile (e.g. a second click); its status already says where it stands.
        logger.info("Manifest import %s: %s not run: %s", import_id, activity, " ".join(refused.messages))
        manifest.refresh_from_db()
        return manifest.status
    except Exception:
        logger.exception("Manifest import %s: %s failed", import_id, activity)
        manifest.refresh_from_db()
        if manifest.status == Status.COMMITTED:
            # A second delivery that failed (e.g. waiting for the first one's lock) leaves the commit standing.
            return manifest.status
        return manifests.manifest_mark_failed(
            manifest=manifest,
            message=f"{activity.capitalize()} stopped on an unexpected error; "
            "nothing was imported. Upload the file again or ask an administrator.",
            actor=actor,
        ).status


@shared_task(name="evlims.tasks_imports.validate_manifest_import")
def validate_manifest_import(import_id: int, actor_id: int) -> str:
    return _run(manifests.manifest_validate, import_id, actor_id, "checking")


@shared_task(name="evlims.tasks_imports.commit_manifest_import")
def commit_manifest_import(import_id: int, actor_id: int) -> str:
    return _run(manifests.manifest_commit, import_id, actor_id, "commit")


def _send(task, import_id: int, actor_id: int, activity: str) -> bool:
    """Send one step; False, logged, when the broker cannot be reached (the sweeper sends it later)."""
    try:
        task.delay(import_id, actor_id)
    except BROKER_ERRORS:
        logger.warning(
            "Manifest import %s: %s not queued (broker unreachable); the sweeper sends it again.", import_id, activity
        )
        return False
    return True


def queue_check(manifest: ManifestImport) -> bool:
    """Send the check of an uploaded import, after ``manifest_upload`` committed (views run outside a
    transaction). False when the broker is unreachable: the import stays ``uploaded`` until the sweep."""
    return _send(validate_manifest_import, manifest.pk, manifest.uploaded_by_id, "checking")


def queue_commit(manifest: ManifestImport, actor) -> bool:
    """Send the commit of an import ``manifest_queue_commit`` claimed. False when the broker is unreachable:
    the import stays ``committing`` until the sweep."""
    return _send(commit_manifest_import, manifest.pk, actor.pk, "commit")


def _commit_requester(manifest: ManifestImport) -> int:
    """Who asked for the commit (its audit event); the uploader for an import claimed before it was audited."""
    asked = (
        AuditEvent.objects.filter(
            action="manifest.commit_requested", object_type="manifestimport", object_id=str(manifest.pk)
        )
        .order_by("-id")
        .values_list("actor_id", flat=True)
        .first()
    )
    return asked or manifest.uploaded_by_id


@shared_task(name="evlims.tasks_imports.sweep_stuck_imports", acks_late=True)
def sweep_stuck_imports() -> int:
    """Send again the check or commit of every import waiting longer than ``STALE_AFTER``; returns how many.

    Each import is claimed with a conditional UPDATE of its ``updated_at``, so of two sweeps running at once
    only one sends it; a late original message meeting a resent one is harmless (see the module docstring).
    """
    cutoff = timezone.now() - STALE_AFTER
    stuck = ManifestImport.objects.filter(
        status__in=[Status.UPLOADED, Status.VALIDATING, Status.COMMITTING], updated_at__lt=cutoff
    )
    sent = 0
    for manifest in stuck.order_by("pk"):
        claimed = ManifestImport.objects.filter(
            pk=manifest.pk, status=manifest.status, updated_at=manifest.updated_at
        ).update(updated_at=timezone.now())
        if not claimed:
            continue
        if manifest.status in (Status.UPLOADED, Status.VALIDATING):
            sent += _send(validate_manifest_import, manifest.pk, manifest.uploaded_by_id, "checking")
        else:
            sent += _send(commit_manifest_import, manifest.pk, _commit_requester(manifest), "commit")
    if sent:
        logger.info("Manifest imports: %d stuck import(s) sent again.", sent)
    return sent
