"""Every rule of every rule set, run against its table of cases (rule_cases.py)."""

from collections import defaultdict

import pytest

from evlims.compliance import default_rulesets, evaluate

from .rule_cases import CASES

RULES = {rule.id: (ruleset, rule) for ruleset in default_rulesets() for rule in ruleset.rules}


def _case_id(case):
    rule_id, status, _ = case
    return f"{rule_id}-{status}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(case) for case in CASES])
def test_rule_gives_expected_status(case):
    rule_id, expected, document = case
    ruleset, _ = RULES[rule_id]
    verdict = evaluate(document, [ruleset]).rulesets[ruleset.report_key].verdict(rule_id)
    assert verdict.status == expected, verdict.message
    if expected in ("fail", "insufficient_data"):
        assert verdict.message and verdict.fix, "a rule that does not pass must say what is missing and how to fix it"
    else:
        assert verdict.fix is None


def test_every_rule_has_a_case_for_every_status_it_can_produce():
    covered = defaultdict(set)
    for rule_id, status, _ in CASES:
        assert rule_id in RULES, f"case for unknown rule {rule_id}"
        covered[rule_id].add(status)
    gaps = {
        rule_id: sorted(rule.possible_statuses - covered[rule_id])
        for rule_id, (_, rule) in RULES.items()
        if rule.possible_statuses - covered[rule_id]
    }
    assert not gaps, f"rules lacking cases for these statuses: {gaps}"
    impossible = {rule_id: sorted(covered[rule_id] - RULES[rule_id][1].possible_statuses) for rule_id in covered}
    assert not any(impossible.values()), f"cases for statuses a rule cannot produce: {impossible}"


def test_fail_messages_name_what_is_missing():
    ruleset, _ = RULES["EVM.UC_SPECIFICS"]
    document = {
        "sample": {"biofluid": "urine"},
        "separation": [{"method": "ultracentrifugation", "params": {"g_force": 100000, "duration_min": 70}}],
    }
    verdict = evaluate(document, [ruleset]).rulesets["ev_metric"].verdict("EVM.UC_SPECIFICS")
    assert verdict.status == "fail"
    assert "separation[0] (ultracentrifugation) lacks rotor, k_factor" in verdict.message


def test_not_applicable_message_says_why():
    ruleset, _ = RULES["PUR.URINE.UMOD"]
    verdict = (
        evaluate({"sample": {"biofluid": "milk"}, "separation": []}, [ruleset])
        .rulesets["purity"]
        .verdict("PUR.URINE.UMOD")
    )
    assert verdict.message == "Not applicable: the biofluid is milk, not one of urine"


def test_passing_verdict_carries_the_evidence_it_used():
    ruleset, _ = RULES["M18.PROT.CAT1"]
    document = {
        "sample": {"biofluid": "urine"},
        "separation": [],
        "characterization": {
            "markers": [
                {"protein": "ALIX", "method": "elisa", "detected": True},
                {"protein": "cd81", "method": "flow", "detected": True},
            ]
        },
    }
    verdict = evaluate(document, [ruleset]).rulesets["misev2018"].verdict("M18.PROT.CAT1")
    assert verdict.evidence_dicts() == [
        {
            "path": "characterization.markers[1]",
            "label": "Characterisation › protein markers 2",
            "detail": "CD81 (1a; detected by flow)",
        }
    ]
