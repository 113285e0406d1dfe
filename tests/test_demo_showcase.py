"""Each demo lab shows the promise: one preparation recorded completely that meets every mandatory MISEV2018
and MISEV2023 rule with EV-METRIC 100 %, beside partly documented ones, and a QA queue with work in it."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from evlims.compliance.models import ComplianceEvaluation, Review
from evlims.compliance.services import MANDATORY_LEVELS
from evlims.core.models import Lab
from evlims.demo import people, showcase
from evlims.isolation.models import EVPreparation


def unmet_mandatory(report: dict) -> list[str]:
    return sorted(
        f"{key}:{rule['id']}"
        for key in ("misev2018", "misev2023")
        for rule in report[key]["rules"]
        if rule["level"] in MANDATORY_LEVELS and rule["status"] in ("fail", "insufficient_data")
    )


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker):
    """One small demo load for the module, rolled back at its end."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("evlims_demo", donors=30, samples=160, force=True, stdout=StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(demo_world, db):
    return demo_world


def reference_of(lab) -> EVPreparation:
    return EVPreparation.objects.get(lab=lab, run__equipment=showcase.EQUIPMENT)


@pytest.mark.parametrize("plan", people.LABS, ids=[plan.slug for plan in people.LABS])
def test_each_lab_has_a_reference_preparation_meeting_every_mandatory_rule(demo, plan):
    lab = Lab.objects.get(slug=plan.slug)
    evaluation = ComplianceEvaluation.objects.get(preparation=reference_of(lab))
    assert unmet_mandatory(evaluation.full_report) == []
    components = evaluation.full_report["ev_metric"]["components"]
    assert evaluation.ev_metric_pct == 100, [key for key, c in components.items() if c["state"] != "met"]


@pytest.mark.parametrize("plan", people.LABS, ids=[plan.slug for plan in people.LABS])
def test_beside_it_the_lab_has_partly_documented_preparations(demo, plan):
    lab = Lab.objects.get(slug=plan.slug)
    others = ComplianceEvaluation.objects.filter(lab=lab).exclude(preparation=reference_of(lab))
    assert others.filter(mandatory_failed__gt=0).exists()


@pytest.mark.parametrize("plan", people.LABS, ids=[plan.slug for plan in people.LABS])
def test_the_review_queue_holds_the_reference_and_partial_preparations(demo, plan):
    lab = Lab.objects.get(slug=plan.slug)
    pending = Review.objects.filter(lab=lab, state=Review.State.SUBMITTED)
    reference = reference_of(lab)
    assert pending.filter(preparation=reference).exists()
    partial = pending.exclude(preparation=reference)
    assert partial.count() == showcase.PARTIAL_REVIEWS
    assert all(review.justification for review in partial)
