"""Dashboards warmed by the worker when a metric job completes: the first dashboard and comparison view after
new figures is a cache read showing them, a failure while warming never fails the job, labs without figures
and labs with a job still writing are not warmed (SQLite; Celery runs eagerly)."""

import logging

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evlims.core.models import Membership, Role
from evlims.demo import scale
from evlims.isolation.models import EVPreparation, IsolationRun
from evlims.metrics import services, summaries, svg
from evlims.metrics.models import MetricJob, PreparationMetrics
from evlims.web import tasks
from evlims.web.views import dashboards
from tests.web.test_dashboard_cache import COMPARISON, DASHBOARD, fresh_cache  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db

TINY = scale.ScaleSize(preparations=40, samples=30, measurements=330, runs=8, histogram_bins=5, seed=11)


@pytest.fixture
def generated(monkeypatch):
    """A generated lab with stored figures whose runs started this month, so the default 12-month window shows
    every started run; a full recompute splits its 40 preparations into chunk jobs of 7."""
    (summary,) = scale.generate(TINY)
    IsolationRun.objects.filter(lab=summary.lab, started_at__isnull=False).update(started_at=timezone.now())
    services.recompute(EVPreparation.objects.filter(lab=summary.lab).values_list("pk", flat=True))
    monkeypatch.setattr(services, "FULL_JOB_CHUNK", 7)
    return summary.lab


def member(lab, role):
    return Membership.objects.select_related("user").filter(lab=lab, role=role).first().user


def full_job(lab, django_capture_on_commit_callbacks) -> MetricJob:
    """A full recompute of the lab, queued and run when its row commits, as from the dashboard's button."""
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_create(lab=lab, full=True)
    job.refresh_from_db()
    return job


def view(client, user, url):
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response, len(queries)


def draw_nothing(figure):
    """In place of the SVG output: a page served from the cache draws no chart."""
    raise AssertionError("a chart was drawn for the request")


def test_the_first_views_after_a_full_job_are_cache_reads_of_the_new_figures(
    generated, client, django_capture_on_commit_callbacks, monkeypatch
):
    staff = member(generated, Role.LAB_STAFF)
    PreparationMetrics.objects.filter(lab=generated).delete()  # nothing shown before the recompute
    assert full_job(generated, django_capture_on_commit_callbacks).status == MetricJob.Status.DONE
    assert PreparationMetrics.objects.filter(lab=generated).count() == 40

    with monkeypatch.context() as patch:
        patch.setattr(svg, "data_uri", draw_nothing)
        warm_dashboard, warm_queries = view(client, staff, DASHBOARD)
        warm_comparison, _ = view(client, staff, COMPARISON)
    # Nothing built for the request: the figures' context exists only when the page renders them itself.
    assert "figures" not in warm_dashboard.context and "charts" not in warm_comparison.context

    cache.clear()
    monkeypatch.setattr(summaries, "SETTLING_SECONDS", 0)
    built_dashboard, built_queries = view(client, staff, DASHBOARD)
    built_comparison, _ = view(client, staff, COMPARISON)
    assert "figures" in built_dashboard.context and "charts" in built_comparison.context
    assert warm_queries < built_queries
    # The warmed pages are exactly what the request would have built from the new figures.
    assert warm_dashboard.context["figures_html"] == built_dashboard.context["figures_html"]
    assert warm_comparison.context["figures_html"] == built_comparison.context["figures_html"]
    # The comparison counts what completed runs produced (docs/runs.md), not every started run's preparations.
    produced = EVPreparation.objects.filter(lab=generated, run__status="completed").count()
    assert f"{produced} preparations with stored figures match" in warm_comparison.context["figures_html"]
    assert 'data-table="trend"' in warm_dashboard.context["figures_html"]
    assert warm_dashboard.context["figures_html"].count("data:image/svg+xml;base64,") == 2


def test_the_warmed_part_is_shared_by_every_member_and_holds_nothing_of_the_viewer(
    generated, client, django_capture_on_commit_callbacks, monkeypatch
):
    full_job(generated, django_capture_on_commit_callbacks)
    monkeypatch.setattr(svg, "data_uri", draw_nothing)
    pages = {}
    for role in (Role.LAB_STAFF, Role.LAB_ADMIN, Role.QA_MANAGER):
        user = member(generated, role)
        response, _ = view(client, user, DASHBOARD)
        assert "figures" not in response.context
        pages[role] = response.context["figures_html"]
        assert "csrfmiddlewaretoken" not in pages[role]
    assert len(set(pages.values())) == 1
    # The page around it stays live and per user: only the lab admin is offered "Recompute all".
    assert "Recompute all" in view(client, member(generated, Role.LAB_ADMIN), DASHBOARD)[0].content.decode()
    assert "Recompute all" not in view(client, member(generated, Role.LAB_STAFF), DASHBOARD)[0].content.decode()


def test_a_full_job_warms_its_lab_once_when_its_last_chunk_settles(
    generated, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []

    def delay(lab_ids):
        assert MetricJob.objects.get(kind=MetricJob.Kind.FULL).status == MetricJob.Status.DONE
        assert not MetricJob.objects.filter(status=MetricJob.Status.RUNNING).exists()
        sent.append(lab_ids)

    monkeypatch.setattr(tasks.warm_dashboards, "delay", delay)
    job = full_job(generated, django_capture_on_commit_callbacks)
    assert job.chunks.count() == 6
    assert sent == [[generated.pk]]


def test_a_change_warms_the_labs_of_its_preparations(generated, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.warm_dashboards, "delay", sent.append)
    ids = list(EVPreparation.objects.filter(lab=generated).values_list("pk", flat=True)[:3])
    # What a recorded result queues: an incremental job without a lab.
    job = MetricJob.objects.create(kind=MetricJob.Kind.INCREMENTAL, preparation_ids=ids, total=len(ids))
    assert services.job_run(job.pk).status == MetricJob.Status.DONE
    assert sent == [[generated.pk]]


def test_a_failure_while_warming_never_fails_the_job(
    generated, client, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("matplotlib ran out of memory")

    monkeypatch.setattr(dashboards, "_comparison_content", broken)
    with caplog.at_level(logging.ERROR):
        job = full_job(generated, django_capture_on_commit_callbacks)
    assert job.status == MetricJob.Status.DONE and job.processed == 40 and not job.error
    assert f"dashboards of lab {generated.pk} not warmed" in caplog.text
    assert "matplotlib ran out of memory" in caplog.text
    # The dashboard was stored before the comparison failed; the comparison is built on its first view.
    staff = member(generated, Role.LAB_STAFF)
    assert "figures" not in view(client, staff, DASHBOARD)[0].context
    monkeypatch.undo()
    assert "charts" in view(client, staff, COMPARISON)[0].context


def test_a_broker_outage_while_sending_the_warm_up_never_fails_the_job(
    generated, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    def unreachable(lab_ids):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.warm_dashboards, "delay", unreachable)
    with caplog.at_level(logging.ERROR):
        job = full_job(generated, django_capture_on_commit_callbacks)
    assert job.status == MetricJob.Status.DONE
    assert "not warmed" in caplog.text and "broker unreachable" in caplog.text


def test_a_lab_without_figures_is_not_warmed(lab, other_lab, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.warm_dashboards, "delay", sent.append)
    job = full_job(lab, django_capture_on_commit_callbacks)  # a lab without preparations
    assert job.status == MetricJob.Status.DONE and sent == []
    # Asked directly, the task stores nothing for a lab without stored figures either.
    assert tasks.warm_dashboards.apply(args=[[other_lab.pk]]).get() == {other_lab.pk: []}


def test_no_page_is_stored_while_a_job_may_still_be_writing_the_labs_figures(generated):
    running = MetricJob.objects.create(kind=MetricJob.Kind.INCREMENTAL, status=MetricJob.Status.RUNNING)
    assert dashboards.warm_default_views(generated.pk) == []  # a lab-less job may write any lab's figures
    running.delete()
    assert dashboards.warm_default_views(generated.pk) == ["dashboard", "comparison"]
    assert dashboards.warm_default_views(generated.pk) == []  # already there
