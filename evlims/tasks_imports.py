"""Background work of manifest imports: checking and committing a large file takes longer than a web
request should. Without a broker (the embedded demo, the tests) these run eagerly in the request."""

import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from .samples import imports
from .samples.models import ManifestImport

logger = logging.getLogger(__name__)


def _run(step, import_id: int, actor_id: int, activity: str) -> str:
    manifest = ManifestImport.objects.get(pk=import_id)
    actor = get_user_model().objects.get(pk=actor_id)
    try:
        return step(manifest, actor=actor).status
    except ValidationError as refused:
        # The import moved on meanwhile (e.g. a second click); its status already says where it stands.
        logger.info("Manifest import %s: %s not run: %s", import_id, activity, " ".join(refused.messages))
        manifest.refresh_from_db()
        return manifest.status
    except Exception:
        logger.exception("Manifest import %s: %s failed", import_id, activity)
        return imports.manifest_mark_failed(
            manifest,
            f"{activity.capitalize()} stopped on an unexpected error; "
            "nothing was imported. Upload the file again or ask an administrator.",
        ).status


@shared_task
def validate_manifest_import(import_id: int, actor_id: int) -> str:
    return _run(imports.manifest_validate, import_id, actor_id, "checking")


@shared_task
def commit_manifest_import(import_id: int, actor_id: int) -> str:
    return _run(imports.manifest_commit, import_id, actor_id, "commit")
