"""The recovery x specificity class of a separation chain."""

import pytest

from evlims.compliance import Experiment, VocabularyError, evaluate
from evlims.compliance.separation import parse_tiers, separation_class

from .builders import experiment, step


@pytest.mark.parametrize(
    ("methods", "expected"),
    [
        (["precipitation"], ("high", "low", "separation[0] (precipitation)")),
        (["ultrafiltration", "sec"], ("intermediate", "intermediate", "separation[1] (sec)")),
        (
            ["differential_centrifugation", "ultracentrifugation"],
            ("intermediate", "intermediate", "separation[1] (ultracentrifugation)"),
        ),
        (["sec", "density_gradient"], ("low", "high", "separation[1] (density_gradient)")),
        (["immunoaffinity"], ("low", "high", "separation[0] (immunoaffinity)")),
        (["kit"], (None, None, None)),
        ([], (None, None, None)),
    ],
)
def test_chain_is_classed_by_its_most_specific_step(methods, expected):
    result = separation_class(Experiment(experiment(separation=[step(method) for method in methods])))
    assert (result.recovery, result.specificity, result.decided_by) == expected
    assert result.citation["status"] == "M"


def test_report_carries_the_class():
    report = evaluate(experiment(separation=[step("sec")]), ["ev_metric"]).to_dict()
    assert report["separation_class"]["recovery"] == "intermediate"


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        (
            [{"recovery": "top", "specificity": "low", "methods": ["sec"]}],
            "recovery and specificity must each be one of",
        ),
        ([{"recovery": "low", "specificity": "high", "methods": ["spin"]}], "unknown: spin"),
        ([{"recovery": "low", "specificity": "high", "methods": []}], "unknown: none"),
    ],
)
def test_malformed_tiers_are_reported_with_their_position(tiers, message):
    with pytest.raises(VocabularyError, match=message) as caught:
        parse_tiers({"citation": {"source": "x", "status": "M"}, "tiers": tiers}, source="classes.yaml")
    assert str(caught.value).startswith("classes.yaml: tiers[0]")


def test_missing_keys_are_reported():
    with pytest.raises(VocabularyError, match="missing or malformed"):
        parse_tiers({"tiers": []}, source="classes.yaml")
