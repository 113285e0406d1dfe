"""Compliance pages of a preparation, a run and a project: what they show, refresh and submit actions,
lab scoping of every compliance URL, and flat query counts."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from evlims.characterization.services import record_results
from evlims.compliance import services
from evlims.compliance.models import ComplianceEvaluation, Review
from evlims.core.models import Role
from evlims.isolation import services as isolation
from evlims.isolation.models import ProtocolVersion
from evlims.metrics.services import recompute
from evlims.review import services as review_services
from evlims.samples.services import sample_register
from tests.factories import ProjectFactory, member
from tests.run_states import completed

PASSWORD = "correct horse battery"


@pytest.fixture
def sec_version(db):
    isolation.library_load()
    return ProtocolVersion.objects.get(protocol__slug="sec-qev-70nm", version="1.0.0")


def make_run(actor, project, version, *, biofluid="blood_plasma", count=2):
    extra = {"anticoagulant": "k2_edta"} if biofluid == "blood_plasma" else {}
    sample = sample_register(
        actor=actor,
        project=project,
        biofluid=biofluid,
        volume_ml=Decimal("3"),
        processing_delay_min=45,
        aliquot_volumes_ul=[500] * count,
        **extra,
    )
    inputs = [(aliquot, 400) for aliquot in sample.aliquots.order_by("id")]
    return completed(isolation.run_plan(actor=actor, project=project, protocol_version=version, inputs=inputs))


def add_results(actor, preparation):
    """A tetraspanin and a contaminant by western blot, and an NTA count with a size distribution."""
    record_results(
        actor=actor,
        lab=preparation.lab,
        documents=[
            {
                "kind": "marker",
                "method": "western_blot",
                "preparation": preparation.barcode,
                "marker": {"protein": "CD9", "detected": True, "antibody": {"clone": "MM2/57", "dilution": "1:500"}},
            },
            {
                "kind": "marker",
                "method": "western_blot",
                "preparation": preparation.barcode,
                "marker": {"protein": "APOA1", "detected": False, "antibody": {"catalogue": "a1", "dilution": "1:500"}},
            },
            {
                "kind": "particle",
                "method": "nta",
                "preparation": preparation.barcode,
                "particle": {
                    "technique": "nta",
                    "concentration_per_ml": 4e11,
                    "size_mode_nm": 95.0,
                    "histogram": {"bin_center_nm": [50, 150, 250], "concentration_per_ml": [2e9, 1e9, 1e9]},
                },
            },
            {
                "kind": "protein",
                "method": "bca",
                "preparation": preparation.barcode,
                "protein": {"assay": "bca", "concentration_ug_per_ml": 10.0},
            },
        ],
    )


def evaluate(run):
    ids = list(run.preparations.values_list("pk", flat=True))
    services.evaluate_preparations(ids)
    return ids


@pytest.fixture
def run(staff, project, sec_version):
    run = make_run(staff, project, sec_version)
    add_results(staff, run.preparations.order_by("barcode").first())
    evaluate(run)
    return run


@pytest.fixture
def preparation(run):
    return run.preparations.order_by("barcode").first()


@pytest.fixture
def approver(lab):
    return member(lab, Role.QA_MANAGER, username="approver")


@pytest.fixture
def foreign_run(other_lab, outsider, sec_version):
    run = make_run(outsider, ProjectFactory(lab=other_lab, code="FOREIGN"), sec_version, count=1)
    evaluate(run)
    return run


def text_of(response) -> str:
    return response.content.decode()


def compliance_urls(preparation, run, project) -> list[str]:
    urls = [
        reverse("evlims:compliance-preparation", args=[preparation.pk]),
        reverse("evlims:compliance-run", args=[run.pk]),
        reverse("evlims:compliance-project", args=[project.pk]),
        reverse("evlims:export-preparation-json", args=[preparation.pk]),
        reverse("evlims:export-project-json", args=[project.pk]),
    ]
    for kind, subject in (("preparation", preparation), ("run", run), ("project", project)):
        for name in ("report-{}", "report-{}-pdf", "verdicts-{}-csv", "checklist-{}-csv", "checklist-{}"):
            urls.append(reverse(f"evlims:{name.format(kind)}", args=[subject.pk]))
    return urls


def test_preparation_page_shows_scores_verdicts_and_next_steps(client, staff, preparation):
    client.force_login(staff)
    response = client.get(reverse("evlims:compliance-preparation", args=[preparation.pk]))
    assert response.status_code == 200
    view = response.context["view"]
    evaluation = ComplianceEvaluation.objects.get(preparation=preparation)
    assert view["ev_metric"]["score"] == evaluation.ev_metric_pct
    assert len(view["ev_metric"]["components"]) == 9
    assert [section["key"] for section in view["sections"]] == [
        "misev2018",
        "misev2023",
        "purity",
        "miblood_ev",
        "miflowcyt_ev",
    ]
    page = text_of(response)
    # The density-gradient component is not met for an SEC-only run: its state, the reason and the fix show.
    assert "Not met" in page and "No density gradient is used" in page
    assert "Add a density-gradient step" in page
    # Verdicts are words with a symbol, not colour alone.
    assert '<span aria-hidden="true">✗</span> Fail' in page or '<span aria-hidden="true">✗</span> Not met' in page
    assert "Insufficient data" in page or "Not applicable" in page
    # Evidence used by a passing rule is shown with its document path.
    assert "characterization.markers" in page
    levels = [step["level"] for step in view["next_steps"]]
    assert levels == sorted(levels, key=["mandatory", "mandatory_if_applicable", "encouraged"].index)
    assert levels[0] == "mandatory"
    assert "Submit for review" in page
    assert 'id="lock-badge"' not in page


def test_next_steps_group_rules_that_share_a_fix(client, staff, preparation):
    client.force_login(staff)
    steps = client.get(reverse("evlims:compliance-preparation", args=[preparation.pk])).context["view"]["next_steps"]
    fixes = [step["fix"] for step in steps]
    assert len(fixes) == len(set(fixes))
    assert all(step["rules"] for step in steps)


def test_preparation_without_evaluation_offers_refresh(client, staff, run):
    unevaluated = run.preparations.order_by("barcode").last()
    ComplianceEvaluation.objects.filter(preparation=unevaluated).delete()
    client.force_login(staff)
    url = reverse("evlims:compliance-preparation", args=[unevaluated.pk])
    assert 'id="not-evaluated"' in text_of(client.get(url))
    response = client.post(reverse("evlims:compliance-preparation-refresh", args=[unevaluated.pk]), follow=True)
    assert response.redirect_chain[-1][0] == url
    assert "re-evaluated for 1 preparation" in text_of(response)
    assert ComplianceEvaluation.objects.filter(preparation=unevaluated).exists()


def test_refresh_is_post_only(client, staff, preparation):
    client.force_login(staff)
    assert client.get(reverse("evlims:compliance-preparation-refresh", args=[preparation.pk])).status_code == 405


def test_refresh_run_and_project_evaluate_every_preparation(client, staff, run, project):
    ComplianceEvaluation.objects.all().delete()
    client.force_login(staff)
    client.post(reverse("evlims:compliance-run-refresh", args=[run.pk]))
    assert ComplianceEvaluation.objects.count() == 2
    ComplianceEvaluation.objects.all().delete()
    client.post(reverse("evlims:compliance-project-refresh", args=[project.pk]))
    assert ComplianceEvaluation.objects.count() == 2


def test_staff_submits_a_preparation_for_review(client, staff, preparation):
    client.force_login(staff)
    url = reverse("evlims:submit-preparation", args=[preparation.pk])
    response = client.post(url, {"note": "Ready", "justification": "Accepted as it is for this study."}, follow=True)
    review = Review.objects.get(preparation=preparation)
    assert review.state == Review.State.SUBMITTED and review.note == "Ready" and review.submitted_by == staff
    page = text_of(response)
    assert "submitted for QA review" in page and "Awaiting verification" in page
    assert "Submit for review" not in page  # one open review at a time


def test_second_submission_is_refused_with_the_reason(client, staff, preparation):
    review_services.review_submit(
        actor=staff, preparation=preparation, justification="Accepted as it is for this study."
    )
    client.force_login(staff)
    response = client.post(reverse("evlims:submit-preparation", args=[preparation.pk]), follow=True)
    assert "already has an open or approved review" in text_of(response)
    assert Review.objects.filter(preparation=preparation).count() == 1


def test_qa_manager_cannot_submit(client, qa_manager, preparation):
    client.force_login(qa_manager)
    page = text_of(client.get(reverse("evlims:compliance-preparation", args=[preparation.pk])))
    assert "Submit for review" not in page
    response = client.post(reverse("evlims:submit-preparation", args=[preparation.pk]), follow=True)
    assert "does not allow you to submit" in text_of(response)
    assert not Review.objects.exists()


def test_run_page_lists_preparations_with_scores_and_failures(client, staff, run):
    client.force_login(staff)
    response = client.get(reverse("evlims:compliance-run", args=[run.pk]))
    rows = response.context["rows"]
    assert [row["preparation"].barcode for row in rows] == sorted(p.barcode for p in run.preparations.all())
    evaluations = {e.preparation_id: e for e in ComplianceEvaluation.objects.all()}
    for row in rows:
        assert row["score"] == evaluations[row["preparation"].pk].ev_metric_pct
        assert row["failed_count"] == len(evaluations[row["preparation"].pk].failed_rules)
        assert all(rule_id.startswith(("M18.", "M23.")) for rule_id in row["mandatory_misev"])
    assert any(row["mandatory_misev"] for row in rows)
    # A run with failing preparations is submitted only with a justification, as a preparation is.
    page = text_of(response)
    assert "This run fails" in page and "Submit for review with this justification" in page
    first = next(row for row in rows if row["mandatory_misev"])["preparation"].barcode
    assert first in page
    refused = client.post(reverse("evlims:submit-run", args=[run.pk]), {"note": ""}, follow=True)
    assert "Say why it should be reviewed as it is" in text_of(refused)
    assert not Review.objects.filter(run=run).exists()
    client.post(reverse("evlims:submit-run", args=[run.pk]), {"justification": "Pilot run, reviewed as it is"})
    review = Review.objects.get(run=run)
    assert review.state == Review.State.SUBMITTED and review.justification == "Pilot run, reviewed as it is"


def test_project_page_shows_study_score_and_distribution(client, staff, run, project):
    client.force_login(staff)
    response = client.get(reverse("evlims:compliance-project", args=[project.pk]))
    summary = response.context["summary"]
    scores = list(ComplianceEvaluation.objects.values_list("ev_metric_pct", flat=True))
    assert summary["mean"] == round(sum(scores) / len(scores), 1)
    assert sum(bin["count"] for bin in summary["distribution"]) == len(scores)
    page = text_of(response)
    assert "Study EV-METRIC" in page and f"{summary['mean']} %" in page
    assert run.code in page


def test_every_compliance_url_is_404_for_another_lab(client, outsider, preparation, run, project):
    client.force_login(outsider)
    for url in compliance_urls(preparation, run, project):
        assert client.get(url).status_code == 404, url
    for name, subject in (
        ("compliance-preparation-refresh", preparation),
        ("compliance-run-refresh", run),
        ("compliance-project-refresh", project),
        ("submit-preparation", preparation),
        ("submit-run", run),
    ):
        assert client.post(reverse(f"evlims:{name}", args=[subject.pk])).status_code == 404, name
    assert not Review.objects.exists()


def test_compliance_pages_need_login(client, preparation):
    response = client.get(reverse("evlims:compliance-preparation", args=[preparation.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_run_and_project_pages_are_flat(client, staff, project, sec_version, preparation):
    client.force_login(staff)
    run = preparation.run
    review_services.review_submit(
        actor=staff, preparation=preparation, justification="Accepted as it is for this study."
    )
    urls = [reverse("evlims:compliance-run", args=[run.pk]), reverse("evlims:compliance-project", args=[project.pk])]
    small = [queries_for(client, url) for url in urls]
    for _ in range(3):
        evaluate(make_run(staff, project, sec_version, count=3))
    extra = make_run(staff, project, sec_version, count=1)
    add_results(staff, extra.preparations.get())
    evaluate(extra)
    large = [queries_for(client, url) for url in urls]
    assert small == large


def test_preparation_page_is_flat_in_reviews_and_signatures(client, staff, qa_manager, approver, preparation):
    client.force_login(staff)
    url = reverse("evlims:compliance-preparation", args=[preparation.pk])
    review = review_services.review_submit(
        actor=staff, preparation=preparation, justification="Accepted as it is for this study."
    )
    review_services.review_reject(actor=qa_manager, review=review, password=PASSWORD, statement="Needs EM")
    small = queries_for(client, url)
    review = review_services.review_submit(
        actor=staff, preparation=preparation, justification="Accepted as it is for this study."
    )
    review_services.review_verify(actor=qa_manager, review=review, password=PASSWORD, statement="ok")
    review_services.review_approve(actor=approver, review=review, password=PASSWORD, statement="Released")
    recompute([preparation.pk])
    assert queries_for(client, url) == small
