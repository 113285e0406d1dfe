"""A result post sends its compliance refresh and its metric job to the workers in one message when they share a
queue (``core.hooks.run_together``), and the worker runs each as if it had come alone: both refreshes done, a
retry sent for that task by itself, a failure of one not stopping the other. With task routes (separate queues)
or eager tasks each is sent by itself, as before."""

import uuid

import pytest
from django.db import DatabaseError

from evlims.compliance import services as compliance_services
from evlims.compliance.models import ComplianceEvaluation
from evlims.compliance.tasks import refresh_compliance
from evlims.core import hooks
from evlims.metrics.models import MetricJob
from evlims.metrics.tasks import run_metric_job
from tests.api.conftest import key_client
from tests.api.evidence import protein

pytestmark = pytest.mark.django_db
RESULTS = "/api/v1/results/"


def _post(client, barcode, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            RESULTS, {"results": [protein(barcode)]}, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
        )
    assert response.status_code == 201, response.json()


def test_a_post_sends_its_two_refreshes_in_one_message(
    write_key_api, evidence, sends, not_eager, django_capture_on_commit_callbacks
):
    _post(write_key_api, evidence.preparation.barcode, django_capture_on_commit_callbacks)
    job = MetricJob.objects.latest("pk")
    calls = [[refresh_compliance.name, [[evidence.preparation.pk]]], [run_metric_job.name, [job.pk]]]
    assert sends == [(hooks.run_together.name, [calls])]
    assert job.queued_at is not None


def test_with_task_routes_each_refresh_goes_by_itself(
    write_key_api, evidence, sends, not_eager, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setitem(not_eager, "task_routes", {"evlims.metrics.tasks.*": {"queue": "metrics"}})
    _post(write_key_api, evidence.preparation.barcode, django_capture_on_commit_callbacks)
    job = MetricJob.objects.latest("pk")
    assert sends == [(refresh_compliance.name, [[evidence.preparation.pk]]), (run_metric_job.name, [job.pk])]


def test_an_unreachable_broker_leaves_both_for_the_sweepers(
    write_key_api, evidence, not_eager, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broker_down(*args):
        raise ConnectionError("redis down")

    monkeypatch.setattr(hooks.run_together, "delay", broker_down)
    _post(write_key_api, evidence.preparation.barcode, django_capture_on_commit_callbacks)
    job = MetricJob.objects.latest("pk")
    assert job.status == MetricJob.Status.PENDING and job.queued_at is None
    assert "Compliance refresh of 1 preparations not queued (broker unreachable)." in caplog.text


def _together(evidence, django_capture_on_commit_callbacks, sends):
    """The calls of the one message a post sent, and the metric job they name."""
    _post(key_client(evidence.write_key), evidence.preparation.barcode, django_capture_on_commit_callbacks)
    ((_, [calls]),) = sends
    return calls, MetricJob.objects.get(pk=calls[1][1][0])


def test_the_worker_runs_both_as_if_each_had_come_alone(
    evidence, sends, not_eager, monkeypatch, django_capture_on_commit_callbacks
):
    calls, job = _together(evidence, django_capture_on_commit_callbacks, sends)
    ComplianceEvaluation.objects.filter(preparation=evidence.preparation).delete()
    monkeypatch.setitem(not_eager, "task_always_eager", True)
    result = hooks.run_together.apply(args=(calls,))
    assert result.successful(), result.traceback
    job.refresh_from_db()
    assert job.status == MetricJob.Status.DONE
    assert ComplianceEvaluation.objects.filter(preparation=evidence.preparation).exists()


def test_a_transient_error_retries_that_task_alone_and_a_failure_stops_nothing_else(
    evidence, sends, not_eager, monkeypatch, django_capture_on_commit_callbacks
):
    calls, job = _together(evidence, django_capture_on_commit_callbacks, sends)
    monkeypatch.setitem(not_eager, "task_always_eager", True)  # the retry runs where it is sent
    evaluate, attempts = compliance_services.evaluate_preparations, []

    def flaky(ids):
        attempts.append(ids)
        if len(attempts) == 1:
            raise DatabaseError("connection lost")
        return evaluate(ids)

    monkeypatch.setattr(compliance_services, "evaluate_preparations", flaky)
    assert hooks.run_together.apply(args=(calls,)).successful()
    assert attempts == [[evidence.preparation.pk]] * 2
    job.refresh_from_db()
    assert job.status == MetricJob.Status.DONE

    def broken(ids):
        raise KeyError("a bug, not an outage")

    monkeypatch.setattr(compliance_services, "evaluate_preparations", broken)
    MetricJob.objects.filter(pk=job.pk).update(status=MetricJob.Status.PENDING)
    result = hooks.run_together.apply(args=(calls,), throw=False)
    assert result.failed() and isinstance(result.result, KeyError)
    job.refresh_from_db()
    assert job.status == MetricJob.Status.DONE
