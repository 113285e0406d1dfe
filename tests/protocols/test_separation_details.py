"""Every shipped protocol passes the project's own separation-details rules.

A protocol's steps become the ``separation`` of an experiment document (method and canonical params, as a
protocol run exports them) and are evaluated with the current rule sets; every rule whose id ends in
``SEP.DETAILS`` must pass. A released version cannot change (released.lock.json), so a version that
failed is kept and listed in SUPERSEDED with the version that corrects it.
"""

import pytest

from evlims.compliance import default_rulesets, evaluate
from protocols import load_library

DEFINITIONS = {definition.key: definition for definition in load_library()}
SEPARATION_DETAILS = [
    (ruleset, rule.id) for ruleset in default_rulesets() for rule in ruleset.rules if rule.id.endswith("SEP.DETAILS")
]
# Released versions that lacked a detail, and the version that adds it.
SUPERSEDED = {"tff-sec@1.0.0": "tff-sec@1.1.0"}  # the SEC step named its column but not its resin


def protocol_document(definition) -> dict:
    steps = [{"method": step.method, "params": dict(step.params)} for step in definition.steps]
    return {"id": definition.key, "sample": {"biofluid": "other"}, "separation": steps}


def separation_detail_failures(definition) -> list[str]:
    report = evaluate(protocol_document(definition), [ruleset for ruleset, _ in SEPARATION_DETAILS])
    failures = []
    for ruleset, rule_id in SEPARATION_DETAILS:
        verdict = report.rulesets[ruleset.report_key].verdict(rule_id)
        if verdict.status != "pass":
            failures.append(f"{rule_id}: {verdict.message}")
    return failures


def test_the_separation_details_rules_are_found():
    assert {rule_id for _, rule_id in SEPARATION_DETAILS} == {"M18.SEP.DETAILS", "M23.SEP.DETAILS"}


@pytest.mark.parametrize("key", sorted(set(DEFINITIONS) - set(SUPERSEDED)))
def test_shipped_protocol_has_no_separation_details_failure(key):
    assert separation_detail_failures(DEFINITIONS[key]) == []


@pytest.mark.parametrize(("old", "new"), sorted(SUPERSEDED.items()))
def test_a_superseded_version_fails_and_its_correction_is_released(old, new):
    assert separation_detail_failures(DEFINITIONS[old]), f"{old} passes now: remove it from SUPERSEDED"
    assert DEFINITIONS[new].status == "released" and DEFINITIONS[new].slug == DEFINITIONS[old].slug
