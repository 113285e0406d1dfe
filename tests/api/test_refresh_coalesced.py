"""A result post while the message of an earlier change still waits for a worker sends no second compliance
refresh of the same preparation and no second metric job message: the waiting compliance refresh evaluates the
evidence as it is when it starts, and the waiting metric job takes the jobs pending behind it, this post's
included. A post after they started sends again (evlims.core.coalesced, evlims.metrics.services._companions;
docs/performance.md, "Compliance refreshes and metric messages that wait are shared")."""

import uuid

import pytest
from django.db import connection

from evlims.compliance import services as compliance_services
from evlims.compliance import tasks as compliance_tasks
from evlims.compliance.tasks import COALESCED_UP_TO, queue_refresh, refresh_compliance
from evlims.core import coalesced, hooks
from evlims.metrics.models import MetricJob
from evlims.metrics.tasks import run_metric_job
from tests.api.evidence import protein

pytestmark = pytest.mark.django_db
RESULTS = "/api/v1/results/"


MARKS_REACH_THE_WORKER = coalesced.marks_reach_the_worker


@pytest.fixture(autouse=True)
def shared_cache(monkeypatch):
    """The test process plays the worker, so it reads the marks it wrote, as processes sharing a cache do."""
    monkeypatch.setattr(coalesced, "marks_reach_the_worker", lambda: True)


def _post(client, barcode, capture):
    """One post, committed: its hooks run, and the next post's transaction starts afresh."""
    with capture(execute=True):
        response = client.post(
            RESULTS, {"results": [protein(barcode)]}, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
        )
    connection.run_on_commit = []  # the test's own transaction never commits; its hooks ran above
    assert response.status_code == 201, response.json()
    return MetricJob.objects.latest("pk")


def test_a_second_post_sends_nothing_and_the_waiting_message_takes_both_changes(
    write_key_api,
    evidence,
    sends,
    not_eager,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    pk, barcode = evidence.preparation.pk, evidence.preparation.barcode
    first_job = _post(write_key_api, barcode, django_capture_on_commit_callbacks)
    second_job = _post(write_key_api, barcode, django_capture_on_commit_callbacks)
    first_calls = [[refresh_compliance.name, [[pk]]], [run_metric_job.name, [first_job.pk]]]
    assert sends == [(hooks.run_together.name, [first_calls])]
    assert second_job.pk != first_job.pk and second_job.status == MetricJob.Status.PENDING

    monkeypatch.setitem(not_eager, "task_always_eager", True)
    assert hooks.run_together.apply(args=(first_calls,)).successful()
    # What is stored was evaluated from the evidence with both results: nothing is left to re-evaluate.
    assert compliance_services.evaluate_preparations([pk]) == 0
    statuses = MetricJob.objects.filter(pk__in=[first_job.pk, second_job.pk]).values_list("status", flat=True)
    assert set(statuses) == {MetricJob.Status.DONE}

    monkeypatch.setitem(not_eager, "task_always_eager", False)
    third_job = _post(write_key_api, barcode, django_capture_on_commit_callbacks)
    assert sends[1] == (
        hooks.run_together.name,
        [[[refresh_compliance.name, [[pk]]], [run_metric_job.name, [third_job.pk]]]],
    )


def test_a_refused_send_leaves_no_mark_so_the_next_post_sends_the_refresh(
    write_key_api,
    evidence,
    not_eager,
    monkeypatch,
    django_capture_on_commit_callbacks,
    caplog,
):
    def broker_down(*args):
        raise ConnectionError("redis down")

    monkeypatch.setattr(hooks.run_together, "delay", broker_down)
    _post(write_key_api, evidence.preparation.barcode, django_capture_on_commit_callbacks)
    assert "Compliance refresh of 1 preparations not queued (broker unreachable)." in caplog.text
    sent = []
    monkeypatch.setattr(hooks.run_together, "delay", lambda calls: sent.append(calls))
    job = _post(write_key_api, evidence.preparation.barcode, django_capture_on_commit_callbacks)
    assert sent == [[[refresh_compliance.name, [[evidence.preparation.pk]]], [run_metric_job.name, [job.pk]]]]


@pytest.fixture
def refreshes(not_eager, monkeypatch):
    """The preparations of each refresh sent outside a commit's hooks (each goes by itself)."""
    sent = []
    monkeypatch.setattr(refresh_compliance, "delay", lambda ids: sent.append(list(ids)))
    return sent


def test_only_the_preparations_without_a_waiting_refresh_are_sent(refreshes):
    queue_refresh([3, 1])
    queue_refresh([1, 2, 3])
    queue_refresh([2])
    assert refreshes == [[1, 3], [2]]


def test_a_change_of_many_preparations_is_sent_whole_and_marks_nothing(refreshes):
    many = list(range(1, COALESCED_UP_TO + 2))
    queue_refresh(many)
    queue_refresh(many)
    queue_refresh([1])
    assert refreshes == [many, many, [1]]


def test_the_refresh_clears_its_marks_before_it_reads(refreshes, monkeypatch):
    read = []

    def evaluate(ids):
        queue_refresh(ids)  # a change that commits while the refresh reads: sent again
        read.append(ids)
        return 0

    monkeypatch.setattr(compliance_tasks.services, "evaluate_preparations", evaluate)
    queue_refresh([5])
    refresh_compliance.run([5])
    assert refreshes == [[5], [5]] and read == [[5]]


def test_a_cache_that_cannot_answer_sends_every_time(refreshes, monkeypatch):
    monkeypatch.setattr(compliance_tasks.coalesced.cache, "add", lambda *args, **kwargs: None)
    queue_refresh([6])
    queue_refresh([6])
    assert refreshes == [[6], [6]]


def test_with_each_process_s_own_cache_and_a_real_worker_every_post_sends_both(
    write_key_api, evidence, sends, not_eager, monkeypatch, django_capture_on_commit_callbacks
):
    # The test settings' cache is each process's own memory (LocMemCache): a worker could not clear its marks.
    monkeypatch.setattr(coalesced, "marks_reach_the_worker", MARKS_REACH_THE_WORKER)
    assert not coalesced.marks_reach_the_worker()
    pk, barcode = evidence.preparation.pk, evidence.preparation.barcode
    jobs = [_post(write_key_api, barcode, django_capture_on_commit_callbacks) for _ in range(2)]
    assert sends == [
        (hooks.run_together.name, [[[refresh_compliance.name, [[pk]]], [run_metric_job.name, [job.pk]]]])
        for job in jobs
    ]
