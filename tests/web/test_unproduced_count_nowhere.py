"""A preparation of a planned, in-progress or aborted run is not material yet and counts nowhere: it is not
submitted for review (nor is a run that is not completed), not evaluated, and left out of the compliance project
and run summaries, the QA queue's filters, the dashboards and the metric summaries and control series, with the
pages answering in as many queries whatever the number of such preparations."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from evlims.compliance import selectors as compliance_selectors
from evlims.compliance import services
from evlims.compliance.models import ComplianceEvaluation, Review
from evlims.isolation import services as isolation
from evlims.isolation.models import IsolationRun, ProtocolVersion
from evlims.metrics import control_charts, selectors, summaries
from evlims.metrics.models import ControlMaterial
from evlims.review import selectors as review_selectors
from evlims.review import services as review_services
from tests.factories import SampleFactory
from tests.run_states import in_state
from tests.services.test_control_charts import preparation
from tests.web.test_compliance_pages import add_results, make_run

pytestmark = pytest.mark.django_db
JUSTIFIED = {"justification": "Accepted as it is for this study."}


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


@pytest.fixture
def sec_version(db):
    isolation.library_load()
    return ProtocolVersion.objects.get(protocol__slug="sec-qev-70nm", version="1.0.0")


def planned_run(actor, project, version, count=1):
    """A run planned with ``count`` inputs: its preparations have barcodes, and nothing else yet."""
    completed = make_run(actor, project, version, count=count)
    return in_state(completed, IsolationRun.Status.PLANNED)


def stale_evaluation(actor, project, version, status=IsolationRun.Status.PLANNED):
    """A run whose preparation holds results and an evaluation stored while its run read completed, then set
    back to ``status``: what a record stored before unproduced preparations were skipped looks like."""
    run = make_run(actor, project, version, count=1)
    add_results(actor, run.preparations.get())
    services.evaluate_preparations([run.preparations.get().pk])
    return in_state(run, status)


# ---------------------------------------------------------------- review submission


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (IsolationRun.Status.PLANNED, "is planned: complete the run before submitting it for review"),
        (IsolationRun.Status.IN_PROGRESS, "is in progress: complete the run before submitting it for review"),
        (IsolationRun.Status.ABORTED, "was aborted: it produced nothing to review"),
    ],
)
def test_an_unproduced_preparation_or_its_run_is_not_submitted(staff, project, sec_version, status, words):
    run = in_state(make_run(staff, project, sec_version, count=1), status)
    prep = run.preparations.get()
    with pytest.raises(ValidationError) as refused:
        review_services.review_submit(actor=staff, preparation=prep, **JUSTIFIED)
    assert refused.value.message_dict == {
        "preparation": [f"{prep.barcode} is not produced: its run {run.code} {words}."]
    }
    with pytest.raises(ValidationError) as refused:
        review_services.review_submit(actor=staff, run=run, **JUSTIFIED)
    assert refused.value.message_dict == {"run": [f"Run {run.code} {words}."]}
    assert not Review.objects.exists()
    assert not ComplianceEvaluation.objects.exists()


def test_the_api_refuses_the_submission_naming_the_preparation(staff, project, sec_version):
    run = planned_run(staff, project, sec_version)
    client = APIClient()
    client.force_login(staff)
    response = client.post(
        reverse("evlims:api:review-list"), {"preparation": run.preparations.get().pk, **JUSTIFIED}, format="json"
    )
    assert response.status_code == 400
    assert "is not produced" in response.json()["preparation"][0]
    response = client.post(reverse("evlims:api:review-list"), {"run": run.pk, **JUSTIFIED}, format="json")
    assert response.status_code == 400 and "is planned" in response.json()["run"][0]


def test_the_page_keeps_the_refusal_on_the_form(client, staff, project, sec_version):
    prep = planned_run(staff, project, sec_version).preparations.get()
    client.force_login(staff)
    response = client.post(reverse("evlims:submit-preparation", args=[prep.pk]), JUSTIFIED)
    assert response.status_code == 200
    assert f"{prep.barcode} is not produced: its run" in response.content.decode()
    assert not Review.objects.exists()


def test_a_completed_run_is_submitted(staff, project, sec_version):
    run = make_run(staff, project, sec_version, count=2)
    review = review_services.review_submit(actor=staff, run=run, **JUSTIFIED)
    assert review.run == run
    assert ComplianceEvaluation.objects.filter(preparation__run=run).count() == 2


# ---------------------------------------------------------------- evaluations


def test_the_refresh_skips_unproduced_preparations_and_removes_their_old_evaluation(staff, project, sec_version):
    run = planned_run(staff, project, sec_version)
    assert services.evaluate_preparations(list(run.preparations.values_list("pk", flat=True)), force=True) == 0
    assert not ComplianceEvaluation.objects.exists()
    aborted = stale_evaluation(staff, project, sec_version, IsolationRun.Status.ABORTED)
    assert ComplianceEvaluation.objects.filter(preparation__run=aborted).exists()
    assert services.evaluate_preparations([aborted.preparations.get().pk]) == 0
    assert not ComplianceEvaluation.objects.filter(preparation__run=aborted).exists()
    # Completing the run makes it material: the refresh then evaluates it.
    in_state(run, IsolationRun.Status.COMPLETED)
    assert services.evaluate_preparations([run.preparations.get().pk]) == 1


# ---------------------------------------------------------------- compliance summaries


def queries_for(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.content.decode()


def test_project_and_run_summaries_count_produced_preparations_only(client, staff, project, sec_version):
    client.force_login(staff)
    produced = make_run(staff, project, sec_version, count=1)
    add_results(staff, produced.preparations.get())
    services.evaluate_preparations([produced.preparations.get().pk])
    score = produced.preparations.get().evaluation.ev_metric_pct
    failures = compliance_selectors.mandatory_misev_failures(produced.preparations.get().evaluation.failed_rules, None)
    urls = [
        reverse("evlims:compliance-project", args=[project.pk]),
        reverse("evlims:compliance-run", args=[produced.pk]),
    ]
    small = [queries_for(client, url)[0] for url in urls]
    unproduced = [stale_evaluation(staff, project, sec_version) for _ in range(3)]
    unproduced.append(stale_evaluation(staff, project, sec_version, IsolationRun.Status.ABORTED))
    unproduced.append(planned_run(staff, project, sec_version, count=2))
    # The stale evaluations hold other scores: counted, they would move the mean.
    ComplianceEvaluation.objects.filter(preparation__run__in=unproduced).update(ev_metric_pct=0, failed_rules=[])
    measured = [queries_for(client, url) for url in urls]
    assert [count for count, _ in measured] == small
    response = client.get(urls[0])
    summary = response.context["summary"]
    assert summary["total"] == 1 and summary["evaluated"] == 1 and summary["not_evaluated"] == 0
    assert summary["mean"] == round(score, 1)
    assert sum(item["count"] for item in summary["distribution"]) == 1
    assert summary["common_failures"] == [(rule, 1) for rule in sorted(failures)]
    assert [entry["run"] for entry in response.context["runs"]] == [produced]
    for run in unproduced:
        assert run.preparations.first().barcode not in measured[0][1]


def test_a_runs_failures_leave_unproduced_preparations_out(staff, project, sec_version):
    run = stale_evaluation(staff, project, sec_version)
    prep = run.preparations.get()
    assert ComplianceEvaluation.objects.filter(preparation=prep).exists()
    assert compliance_selectors.mandatory_failures_of([prep.pk]) == []
    assert compliance_selectors.preparations_with_evaluations(run=run) == []
    assert compliance_selectors.preparations_with_evaluations(project=project) == []


# ---------------------------------------------------------------- QA queue


def test_the_queues_filters_look_at_produced_preparations_only(staff, qa_manager, project, sec_version):
    produced = make_run(staff, project, sec_version, count=1)
    review_services.review_submit(actor=staff, preparation=produced.preparations.get(), **JUSTIFIED)
    stale = stale_evaluation(staff, project, sec_version)
    # A review of a preparation whose run is not completed (stored before such submissions were refused).
    Review.objects.create(
        lab=project.lab, preparation=stale.preparations.get(), submitted_by=staff, submitted_at=timezone.now()
    )
    everything = review_selectors.review_queue(qa_manager)
    assert everything.count() == 2
    by_biofluid = review_selectors.review_queue(qa_manager, biofluid="blood_plasma")
    assert [r.preparation.run for r in by_biofluid] == [produced]
    by_method = review_selectors.review_queue(qa_manager, method=produced.method)
    assert [r.preparation.run for r in by_method] == [produced]
    failed = next(r for r in stale.preparations.get().evaluation.failed_rules if not r.startswith("ev_metric:"))
    by_rule = review_selectors.review_queue(qa_manager, failing_rule=failed)
    assert stale not in [r.preparation.run for r in by_rule]


# ---------------------------------------------------------------- dashboards, metric summaries, control series


def figures_world(project, staff, count):
    """``count`` produced preparations and ``count`` of each unproduced state, all with stored figures."""
    made = {}
    for status in IsolationRun.Status.values:
        for _ in range(count):
            prep = preparation(
                project, staff, started_at=timezone.now() - timedelta(days=3), particles_per_ug=1e10 * (2 + count)
            )
            made.setdefault(status, []).append(in_state(prep.run, status).preparations.get())
    return made


def test_metric_summaries_and_dashboards_count_produced_preparations_only(client, staff, project):
    client.force_login(staff)
    made = figures_world(project, staff, 1)
    frame = selectors.metrics_frame(staff)
    assert list(frame["barcode"]) == [p.barcode for p in made[IsolationRun.Status.COMPLETED]]
    trend = summaries.month_summary(staff, selectors.MetricFilters())
    assert trend.loc[trend["metric"] == "particles_per_ug", "n"].sum() == 1
    runs = {run.code: run.preparation_count for run in selectors.recent_runs(staff)}
    assert runs == {p.run.code: int(status == IsolationRun.Status.COMPLETED) for status, ps in made.items() for p in ps}
    pages = [reverse("evlims:dashboard"), reverse("evlims:dashboard-comparison") + "?started_from="]
    small = []
    for url in pages:
        cache.clear()
        count, html = queries_for(client, url)
        small.append(count)
        for status, preps in made.items():
            if status != IsolationRun.Status.COMPLETED:
                assert all(p.barcode not in html for p in preps), url
    figures_world(project, staff, 3)
    large = []
    for url in pages:
        cache.clear()
        large.append(queries_for(client, url)[0])
    assert small == large
    exported = client.get(pages[1] + "&export=points").content.decode("utf-8-sig")
    listed = {row["Preparation"] for row in csv.DictReader(io.StringIO(exported))}
    assert len(listed) == 4 and listed == set(selectors.metrics_frame(staff)["barcode"])


def test_control_series_leave_unproduced_preparations_out(staff, lab, project):
    sample = SampleFactory(project=project, barcode="CTRL-U")
    material = ControlMaterial.objects.create(lab=lab, name="Reference EV", baseline_points=20)
    material.samples.add(sample)
    kept = [preparation(project, staff, sample=sample, particles_per_ug=v) for v in (1e10, 1.1e10, 0.9e10)]
    for status in (IsolationRun.Status.PLANNED, IsolationRun.Status.IN_PROGRESS, IsolationRun.Status.ABORTED):
        in_state(preparation(project, staff, sample=sample).run, status)
    [chart] = [c for c in control_charts.charts_for([material]) if c.figure == "particles_per_ug"]
    assert list(chart.points["barcode"]) == [p.barcode for p in kept]
    assert chart.missing_figure == 0
