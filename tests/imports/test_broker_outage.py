"""Manifest imports survive a broker outage: the row is kept, the page answers without a server error, and the
sweeper resumes the check or commit once the broker is back. A commit runs once, however often it is asked for."""

from datetime import timedelta

import pytest
from celery import Celery
from celery.app.task import Task
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from evlims.core.broker import BROKER_ERRORS
from evlims.core.models import AuditEvent
from evlims.samples import tasks as import_tasks
from evlims.samples.models import ManifestImport, Sample
from evlims.samples.services import manifests
from tests.factories import member

from .conftest import manifest_bytes, upload

Status = ManifestImport.Status
pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"evlims:{name}", args=args)


def broker_down(monkeypatch):
    """Every task send fails as it does when Redis refuses the connection (see the first test)."""

    def refused(self, *args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(Task, "apply_async", refused)


def age(manifest, minutes=10):
    """The import has waited this long (past the sweeper's STALE_AFTER)."""
    ManifestImport.objects.filter(pk=manifest.pk).update(updated_at=timezone.now() - timedelta(minutes=minutes))


def notes(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def test_a_refused_broker_connection_raises_an_error_the_senders_catch():
    app = Celery("outage", broker="redis://127.0.0.1:1/0", set_as_current=False)
    app.conf.task_publish_retry = False
    app.conf.broker_connection_timeout = 1

    @app.task(shared=False)
    def ping():
        return "pong"

    with pytest.raises(BROKER_ERRORS) as raised:
        ping.delay()
    assert isinstance(raised.value, OperationalError)


def test_upload_with_the_broker_down_keeps_the_import_and_the_sweeper_checks_it(staff_client, project, monkeypatch):
    with monkeypatch.context() as outage:
        broker_down(outage)
        response = staff_client.post(
            url("import-upload"),
            {"project": project.pk, "file": SimpleUploadedFile("m.csv", manifest_bytes("good.csv"))},
        )
        manifest = ManifestImport.objects.get()
        assert response.status_code == 302 and response["Location"] == url("import-detail", manifest.pk)
        assert any("check will run shortly" in note for note in notes(response))
        assert manifest.status == Status.UPLOADED
        assert staff_client.get(url("import-detail", manifest.pk)).status_code == 200

        assert import_tasks.sweep_stuck_imports() == 0  # not waiting long enough yet
        age(manifest)
        assert import_tasks.sweep_stuck_imports() == 0  # still down: nothing sent, nothing lost
        manifest.refresh_from_db()
        assert manifest.status == Status.UPLOADED

    assert import_tasks.sweep_stuck_imports() == 0  # the failed attempt counts as a try; the next sweep sends
    age(manifest)
    assert import_tasks.sweep_stuck_imports() == 1
    manifest.refresh_from_db()
    assert manifest.status == Status.VALID and manifest.row_count == 4
    assert import_tasks.sweep_stuck_imports() == 0


def test_commit_with_the_broker_down_is_resumed_in_the_name_of_who_asked(client, staff, lab, project, monkeypatch):
    manifest = manifests.manifest_validate(manifest=upload(staff, project, manifest_bytes("good.csv")), actor=staff)
    committer = member(lab, username="committer")
    client.force_login(committer)
    with monkeypatch.context() as outage:
        broker_down(outage)
        response = client.post(url("import-commit", manifest.pk))
        assert response.status_code == 302 and response["Location"] == url("import-detail", manifest.pk)
        assert any("commit will run shortly" in note for note in notes(response))
        manifest.refresh_from_db()
        assert manifest.status == Status.COMMITTING and not Sample.objects.exists()
        assert client.get(url("import-detail", manifest.pk)).status_code == 200

    age(manifest)
    assert import_tasks.sweep_stuck_imports() == 1
    manifest.refresh_from_db()
    assert manifest.status == Status.COMMITTED and Sample.objects.count() == 4
    assert AuditEvent.objects.get(action="manifest.commit").actor == committer


def test_a_double_click_commits_once(staff_client, staff, project):
    manifest = manifests.manifest_validate(manifest=upload(staff, project, manifest_bytes("good.csv")), actor=staff)
    first = staff_client.post(url("import-commit", manifest.pk))
    second = staff_client.post(url("import-commit", manifest.pk))
    assert first.status_code == second.status_code == 302
    assert Sample.objects.count() == 4
    assert AuditEvent.objects.filter(action="manifest.commit_requested").count() == 1
    assert AuditEvent.objects.filter(action="manifest.commit").count() == 1


def test_two_claims_of_the_same_import_one_wins(staff, project):
    manifest = manifests.manifest_validate(manifest=upload(staff, project, manifest_bytes("good.csv")), actor=staff)
    stale_copy = ManifestImport.objects.get(pk=manifest.pk)
    assert manifests.manifest_queue_commit(manifest=manifest, actor=staff) is True
    assert manifests.manifest_queue_commit(manifest=stale_copy, actor=staff) is False


def test_a_late_original_message_after_the_sweep_commits_nothing_more(staff, project, monkeypatch):
    manifest = manifests.manifest_validate(manifest=upload(staff, project, manifest_bytes("good.csv")), actor=staff)
    with monkeypatch.context() as outage:
        broker_down(outage)
        assert manifests.manifest_queue_commit(manifest=manifest, actor=staff)
        assert import_tasks.queue_commit(manifest, staff) is False
    age(manifest)
    assert import_tasks.sweep_stuck_imports() == 1
    assert import_tasks.commit_manifest_import.delay(manifest.pk, staff.pk).get() == Status.COMMITTED
    assert Sample.objects.count() == 4
    assert AuditEvent.objects.filter(action="manifest.commit").count() == 1


def test_two_sweeps_send_a_stuck_import_once(staff, project, monkeypatch):
    manifest = upload(staff, project, manifest_bytes("good.csv"))
    age(manifest)
    sent = []
    monkeypatch.setattr(import_tasks, "_send", lambda task, pk, actor_id, activity: sent.append(pk) or True)
    assert import_tasks.sweep_stuck_imports() == 1
    assert import_tasks.sweep_stuck_imports() == 0
    assert sent == [manifest.pk]


def test_the_sweeper_leaves_finished_and_recent_imports_alone(staff, project, monkeypatch):
    committed = manifests.manifest_validate(manifest=upload(staff, project, manifest_bytes("good.csv")), actor=staff)
    manifests.manifest_queue_commit(manifest=committed, actor=staff)
    manifests.manifest_commit(manifest=committed, actor=staff)
    invalid = manifests.manifest_validate(manifest=upload(staff, project, manifest_bytes("bad.csv")), actor=staff)
    age(committed)
    age(invalid)
    recent = upload(staff, project, manifest_bytes("good.csv"), name="again.csv")
    sent = []
    monkeypatch.setattr(import_tasks, "_send", lambda task, pk, actor_id, activity: sent.append(pk) or True)
    assert import_tasks.sweep_stuck_imports() == 0 and sent == []
    age(recent)
    assert import_tasks.sweep_stuck_imports() == 1 and sent == [recent.pk]


def test_an_error_in_a_second_delivery_leaves_a_committed_import_committed(staff, project, monkeypatch):
    manifest = manifests.manifest_validate(manifest=upload(staff, project, manifest_bytes("good.csv")), actor=staff)
    assert import_tasks.commit_manifest_import.delay(manifest.pk, staff.pk).get() == Status.COMMITTED

    def locked(*args, **kwargs):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(manifests, "manifest_commit", locked)
    assert import_tasks.commit_manifest_import.delay(manifest.pk, staff.pk).get() == Status.COMMITTED
    manifest.refresh_from_db()
    assert manifest.status == Status.COMMITTED and Sample.objects.count() == 4


def test_a_check_whose_worker_died_is_sent_again(staff, project, monkeypatch):
    """A worker killed mid-check leaves the import ``validating``: once it has been silent past STALE_AFTER the
    sweeper sends the check again, and the re-run check finishes it."""
    manifest = upload(staff, project, manifest_bytes("good.csv"))
    ManifestImport.objects.filter(pk=manifest.pk).update(status=Status.VALIDATING, rows_processed=2)
    age(manifest)
    assert import_tasks.sweep_stuck_imports() == 1
    assert ManifestImport.objects.get(pk=manifest.pk).status == Status.VALID


def test_a_check_still_reporting_progress_is_not_sent_again(staff, project, monkeypatch):
    """Progress is a heartbeat: a long check that reports rows keeps its import out of the sweep."""
    manifest = upload(staff, project, manifest_bytes("good.csv"))
    age(manifest)
    beats = []

    def sweep_during_check(*args, **kwargs):
        beats.append(ManifestImport.objects.get(pk=manifest.pk).updated_at)
        return import_tasks.sweep_stuck_imports()

    sent = []
    real_progress = manifests._report_progress
    monkeypatch.setattr(
        manifests,
        "_report_progress",
        lambda pk, done, total: (real_progress(pk, done, total), sent.append(sweep_during_check())),
    )
    manifests.manifest_validate(manifest=manifest, actor=staff)
    assert sent and set(sent) == {0}
    assert all(beat > timezone.now() - timedelta(minutes=1) for beat in beats)
