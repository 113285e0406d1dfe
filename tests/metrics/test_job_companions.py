"""A change's metric job takes the change jobs waiting behind it (evlims/metrics/services/_companions.py): one pass
over their preparations, each job run once, the same figures as one job per change, and nothing lost when the
pass fails (SQLite; Celery runs eagerly)."""

import pytest
from django.db import OperationalError

from evlims.metrics import refresh, services
from evlims.metrics.models import MetricJob, PreparationMetrics
from evlims.metrics.services import _companions
from tests.metrics import test_metric_jobs as jobs
from tests.metrics.test_metric_jobs import figures, incremental

# The metric jobs' world and recorder, shared with their own tests.
generated, lab_ids, computed = jobs.generated, jobs.lab_ids, jobs.computed

pytestmark = pytest.mark.django_db
Status = MetricJob.Status


def statuses(*jobs) -> list[str]:
    return [MetricJob.objects.get(pk=job.pk).status for job in jobs]


def test_a_change_job_computes_the_changes_waiting_behind_it_once(lab_ids, computed):
    first, second, third = incremental(lab_ids[:3]), incremental(lab_ids[3:5]), incremental(lab_ids[4:8])
    services.job_run(first.pk)
    assert [ids for ids, _ in computed] == [lab_ids[:3], lab_ids[3:8]]  # its own, then the others' once each
    assert statuses(first, second, third) == [Status.DONE] * 3
    assert [MetricJob.objects.get(pk=job.pk).processed for job in (second, third)] == [2, 4]
    assert set(figures(lab_ids[:8])) == set(lab_ids[:8])
    # Their own messages arrive later and find them done.
    assert services.job_run(second.pk).status == Status.DONE
    assert services.job_run(third.pk).status == Status.DONE
    assert len(computed) == 2


def test_the_figures_are_those_of_one_job_per_change(lab_ids, monkeypatch):
    changes = [lab_ids[:3], lab_ids[3:5], lab_ids[4:8], lab_ids[10:12]]
    jobs = [incremental(ids) for ids in changes]
    services.job_run(jobs[0].pk)
    together = figures(lab_ids)
    PreparationMetrics.objects.all().delete()
    monkeypatch.setattr(_companions, "MAX_COMPANIONS", 0)
    for ids in changes:
        services.job_run(incremental(ids).pk)
    assert together == figures(lab_ids) and len(together) == 10


def test_running_full_and_chunk_jobs_are_left_alone(generated, lab_ids, computed):
    full = MetricJob.objects.create(kind=MetricJob.Kind.FULL, lab=generated)
    chunk = incremental(lab_ids[20:22], parent=full)
    running = incremental(lab_ids[30:32], status=Status.RUNNING)
    services.job_run(incremental(lab_ids[:2]).pk)
    assert [ids for ids, _ in computed] == [lab_ids[:2]]
    assert statuses(full, chunk, running) == [Status.PENDING, Status.PENDING, Status.RUNNING]
    # A chunk of a full job computes its own share only.
    assert _companions.claim(chunk) == [] and _companions.claim(full) == []


def test_at_most_max_companions_are_taken_oldest_first_and_the_rest_sent_on(lab_ids, computed, monkeypatch):
    monkeypatch.setattr(_companions, "MAX_COMPANIONS", 2)
    waiting = [incremental([pk]) for pk in lab_ids[5:9]]
    sent = []
    monkeypatch.setattr(services.job_sender, "_implementation", sent.append)
    services.job_run(incremental(lab_ids[:1]).pk)
    assert statuses(*waiting) == [Status.DONE, Status.DONE, Status.PENDING, Status.PENDING]
    # Their messages may have been held back while this run waited: the oldest left is sent, and its run takes
    # the one behind it.
    assert sent == [waiting[2].pk]
    services.job_run(waiting[2].pk)
    assert statuses(*waiting) == [Status.DONE] * 4 and sent == [waiting[2].pk]
    assert [ids for ids, _ in computed] == [lab_ids[:1], lab_ids[5:7], lab_ids[7:8], lab_ids[8:9]]


def test_a_failed_pass_hands_the_companions_back_to_the_sweeper(lab_ids, monkeypatch):
    first, second = incremental(lab_ids[:2]), incremental(lab_ids[2:4], queued_at=None)
    original = services.recompute
    calls = []

    def failing_on_the_companions(ids):
        calls.append(list(ids))
        if len(calls) == 2:
            raise ValueError("a figure that cannot be computed")
        return original(ids)

    monkeypatch.setattr(services, "recompute", failing_on_the_companions)
    with pytest.raises(ValueError):
        services.job_run(first.pk)
    second.refresh_from_db()
    assert (second.status, second.queued_at) == (Status.PENDING, None)
    # The sweeper sends it again (queued_at empty: never reached a worker); it runs on its own.
    assert second.pk in services.sweep_stale_jobs()
    assert statuses(second) == [Status.DONE] and calls[-1] == lab_ids[2:4]


def test_a_transient_error_releases_the_companions_and_the_retry_keeps_its_claim(lab_ids, monkeypatch):
    first, second = incremental(lab_ids[:2]), incremental(lab_ids[2:4])
    original = services.recompute
    failures = iter([OperationalError("database went away")])

    def flaky(ids):
        for failure in failures:
            raise failure
        return original(ids)

    monkeypatch.setattr(services, "recompute", flaky)
    with pytest.raises(services.ClaimInterrupted) as interrupted:
        services.job_run(first.pk)
    assert statuses(first, second) == [Status.RUNNING, Status.PENDING]
    services.job_run(first.pk, claim=interrupted.value.claim)
    assert statuses(first, second) == [Status.DONE, Status.DONE]


def test_the_labs_of_the_companions_are_warmed_with_the_claiming_jobs(generated, lab_ids, monkeypatch):
    from evlims.metrics import summaries
    from tests.factories import LabFactory

    warmed = []
    monkeypatch.setattr(summaries.on_figures_stored, "send", warmed.append)
    # A job tied to a lab with no figures of its own takes a change of the generated lab with it.
    incremental(lab_ids[:2])
    services.job_run(incremental(lab_ids[2:3], lab=LabFactory()).pk)
    assert warmed == [[generated.pk]]


# ------------------------------------------------- messages held back while a run waits


def _change(ids) -> int:
    """A committed change as the evidence hook makes it: its job row, then its send after commit."""
    job_id = refresh.record_change(ids, None)
    refresh.queue_change(ids, job_id)
    return job_id


@pytest.fixture
def messages(monkeypatch):
    """The job ids sent to the broker, not run."""
    sent = []
    monkeypatch.setattr(services.job_sender, "_implementation", sent.append)
    return sent


def test_a_change_while_a_run_waits_sends_nothing_and_that_run_takes_it(lab_ids, computed, messages):
    first, second = _change(lab_ids[:2]), _change(lab_ids[2:4])
    assert messages == [first]
    assert MetricJob.objects.get(pk=second).queued_at is not None  # the sweeper counts it as sent
    services.job_run(first)
    assert statuses(MetricJob(pk=first), MetricJob(pk=second)) == [Status.DONE, Status.DONE]
    assert [ids for ids, _ in computed] == [lab_ids[:2], lab_ids[2:4]]
    third = _change(lab_ids[4:5])  # the run started: the next change sends its own message
    assert messages == [first, third]


def test_a_delivery_whose_job_another_run_took_still_takes_the_changes_waiting(lab_ids, computed, messages):
    first, second = _change(lab_ids[:2]), _change(lab_ids[2:4])
    MetricJob.objects.filter(pk=first).update(status=Status.DONE)  # taken and finished by another run
    assert services.job_run(first).status == Status.DONE
    assert statuses(MetricJob(pk=second)) == [Status.DONE]
    assert [ids for ids, _ in computed] == [lab_ids[2:4]]


def test_a_refused_send_holds_no_later_change_back(lab_ids, monkeypatch):
    refused = []

    def refuse(job_id):
        refused.append(job_id)
        raise ConnectionError("broker down")

    monkeypatch.setattr(services.job_sender, "_implementation", refuse)
    first, second = _change(lab_ids[:1]), _change(lab_ids[1:2])
    assert refused == [first, second]
    assert MetricJob.objects.get(pk=first).queued_at is None  # for the sweeper


def test_a_cache_that_cannot_answer_sends_every_change(lab_ids, messages, monkeypatch):
    monkeypatch.setattr(_companions.coalesced.cache, "add", lambda *args, **kwargs: None)
    changes = [_change(lab_ids[:1]), _change(lab_ids[1:2])]
    assert messages == changes


def test_a_failed_pass_of_the_waiting_changes_leaves_the_delivered_job_done(lab_ids, messages, monkeypatch):
    first, second = _change(lab_ids[:2]), _change(lab_ids[2:4])
    MetricJob.objects.filter(pk=first).update(status=Status.DONE)  # taken and finished by another run

    def failing(ids):
        raise ValueError("a figure that cannot be computed")

    monkeypatch.setattr(services, "recompute", failing)
    assert services.job_run(first).status == Status.DONE
    waiting = MetricJob.objects.get(pk=second)
    assert (waiting.status, waiting.queued_at) == (Status.PENDING, None)  # for the sweeper, which sends it alone


def test_a_transient_error_in_that_pass_is_raised_for_the_retry(lab_ids, messages, monkeypatch):
    first, second = _change(lab_ids[:2]), _change(lab_ids[2:4])
    MetricJob.objects.filter(pk=first).update(status=Status.DONE)

    def unreachable(ids):
        raise OperationalError("database went away")

    monkeypatch.setattr(services, "recompute", unreachable)
    with pytest.raises(OperationalError):
        services.job_run(first)
    assert statuses(MetricJob(pk=first), MetricJob(pk=second)) == [Status.DONE, Status.PENDING]
