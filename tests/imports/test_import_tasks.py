"""The background steps of an import: they run the services and leave a status the page can show."""

import pytest

from evlims import tasks_imports
from evlims.samples.models import ManifestImport, Sample
from evlims.samples.services import manifests

from .conftest import manifest_bytes, problem_tuples, upload

Status = ManifestImport.Status


def test_tasks_check_then_commit(staff, project):
    manifest = upload(staff, project, manifest_bytes("good.csv"))
    assert tasks_imports.validate_manifest_import.delay(manifest.pk, staff.pk).get() == Status.VALID
    assert manifests.manifest_queue_commit(manifest, actor=staff)
    assert tasks_imports.commit_manifest_import.delay(manifest.pk, staff.pk).get() == Status.COMMITTED
    assert Sample.objects.count() == 4


def test_a_second_commit_task_is_a_no_op(staff, project):
    manifest = manifests.manifest_validate(upload(staff, project, manifest_bytes("good.csv")), actor=staff)
    tasks_imports.commit_manifest_import.delay(manifest.pk, staff.pk)
    assert tasks_imports.commit_manifest_import.delay(manifest.pk, staff.pk).get() == Status.COMMITTED
    assert Sample.objects.count() == 4


def test_a_refused_step_leaves_the_status_as_it_is(staff, project):
    manifest = manifests.manifest_validate(upload(staff, project, manifest_bytes("bad.csv")), actor=staff)
    assert tasks_imports.commit_manifest_import.delay(manifest.pk, staff.pk).get() == Status.INVALID
    manifest.refresh_from_db()
    assert manifest.status == Status.INVALID and len(manifest.errors) == 15


@pytest.mark.parametrize("task", ["validate_manifest_import", "commit_manifest_import"])
def test_an_unexpected_error_marks_the_import_failed(staff, project, monkeypatch, caplog, task):
    manifest = upload(staff, project, manifest_bytes("good.csv"))
    if task == "commit_manifest_import":
        manifest = manifests.manifest_validate(manifest, actor=staff)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(manifests, "check_manifest", broken)
    assert getattr(tasks_imports, task).delay(manifest.pk, staff.pk).get() == Status.FAILED
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
