"""The background steps of an import: they run the services and leave a status the page can show."""

import pytest

from evlims.samples import tasks as import_tasks
from evlims.samples.models import ManifestImport, Sample
from evlims.samples.services import manifests

from .conftest import manifest_bytes, problem_tuples, upload

Status = ManifestImport.Status


def test_tasks_check_then_commit(staff, project):
    manifest = upload(staff, project, manifest_bytes("good.csv"))
    assert import_tasks.validate_manifest_import.delay(manifest.pk, staff.pk).get() == Status.VALID
    assert manifests.manifest_queue_commit(manifest=manifest, actor=staff)
    assert import_tasks.commit_manifest_import.delay(manifest.pk, staff.pk).get() == Status.COMMITTED
    assert Sample.objects.count() == 4


def test_a_second_commit_task_is_a_no_op(staff, project):
    manifest = manifests.manifest_validate(manifest=upload(staff, project, manifest_bytes("good.csv")), actor=staff)
    import_tasks.commit_manifest_import.delay(manifest.pk, staff.pk)
    assert import_tasks.commit_manifest_import.delay(manifest.pk, staff.pk).get() == Status.COMMITTED
    assert Sample.objects.count() == 4


def test_a_refused_step_leaves_the_status_as_it_is(staff, project):
    manifest = manifests.manifest_validate(manifest=upload(staff, project, manifest_bytes("bad.csv")), actor=staff)
    assert import_tasks.commit_manifest_import.delay(manifest.pk, staff.pk).get() == Status.INVALID
    manifest.refresh_from_db()
    assert manifest.status == Status.INVALID and len(manifest.errors) == 15


@pytest.mark.parametrize("task", ["validate_manifest_import", "commit_manifest_import"])
def test_an_unexpected_error_marks_the_import_failed(staff, project, monkeypatch, caplog, task):
    manifest = upload(staff, project, manifest_bytes("good.csv"))
    if task == "commit_manifest_import":
        manifest = manifests.manifest_validate(manifest=manifest, actor=staff)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(manifests, "check_manifest", broken)
    assert getattr(import_tasks, task).delay(manifest.pk, staff.pk).get() == Status.FAILED
    manifest.refresh_from_db()
    activity = "Checking" if task == "validate_manifest_import" else "Commit"
    assert problem_tuples(manifest) == [
        (
            None,
            "",
            "error",
            f"{activity} stopped on an unexpected error; nothing was imported. Upload the file "
            "again or ask an administrator.",
        )
    ]
    assert "disk on fire" in caplog.text
    assert not Sample.objects.exists()


def test_the_tasks_keep_the_names_queued_messages_and_routes_use():
    """The module moved (evlims.tasks_imports → evlims.samples.tasks); messages in the queue, the beat schedule and
    hosts' CELERY_TASK_ROUTES still name the tasks by the old module."""
    assert {task.name for task in (import_tasks.validate_manifest_import, import_tasks.commit_manifest_import)} == {
        "evlims.tasks_imports.validate_manifest_import",
        "evlims.tasks_imports.commit_manifest_import",
    }
    assert import_tasks.sweep_stuck_imports.name == "evlims.tasks_imports.sweep_stuck_imports"
