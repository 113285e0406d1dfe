"""The demo's comparison: a closed round scored against the reference value and a round awaiting results."""

from types import SimpleNamespace

import pytest

from evlims.demo.comparisons import run_comparison
from evlims.interlab import scoring
from evlims.interlab.models import ComparisonRound
from tests.factories import LabFactory, member

pytestmark = pytest.mark.django_db


def test_the_demo_round_is_scored_across_the_labs():
    labs = [SimpleNamespace(lab=lab, staff=member(lab)) for lab in (LabFactory(), LabFactory(), LabFactory())]
    scored = run_comparison(labs)
    assert scored.status == ComparisonRound.Status.CLOSED
    assessment = scoring.assess(scored)
    assert assessment.assigned.value == 5.0e9 and assessment.homogeneity.passed and assessment.stability.passed
    bands = sorted(r.bands()["z"] for r in assessment.results)
    assert bands == ["questionable", "satisfactory", "satisfactory"]
    assert ComparisonRound.objects.get(code="2026-2").status == ComparisonRound.Status.SHIPPED


def test_one_lab_makes_no_comparison():
    assert run_comparison([SimpleNamespace(lab=LabFactory(), staff=None)]) is None
