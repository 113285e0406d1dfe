"""The corrected and added rules, case by case, each against the guideline sentence it rests on (corrections.py)."""

import pytest

from evlims.compliance import default_rulesets, evaluate

from .corrections import CORRECTIONS

RULES = {rule.id: (ruleset, rule) for ruleset in default_rulesets() for rule in ruleset.rules}
ROWS = [
    (rule_id, entry.quote, entry.verified, status, document)
    for rule_id, entry in CORRECTIONS.items()
    for status, document in entry.cases
]


def _row_id(row):
    rule_id, _, verified, status, _ = row
    return f"{rule_id}-{status}-{'V' if verified else 'M'}"


@pytest.mark.parametrize("row", ROWS, ids=[f"{_row_id(row)}-{i}" for i, row in enumerate(ROWS)])
def test_corrected_rule_follows_the_guideline_sentence(row):
    """Each row: the rule, the guideline sentence (``quote``) and whether it was verified, one document and
    the status the sentence calls for. A failing row prints the sentence next to the engine's message."""
    rule_id, quote, _, expected, document = row
    ruleset, _ = RULES[rule_id]
    verdict = evaluate(document, [ruleset]).rulesets[ruleset.report_key].verdict(rule_id)
    assert verdict.status == expected, f"{quote}\n-> {verdict.message}"


@pytest.mark.parametrize("rule_id", sorted(CORRECTIONS))
def test_citation_status_matches_what_was_verified(rule_id):
    """A rule marked V must rest on a sentence read in a stored public source; one recalled stays M."""
    _, rule = RULES[rule_id]
    assert rule.citation["status"] == ("V" if CORRECTIONS[rule_id].verified else "M"), rule.citation


@pytest.mark.parametrize("rule_id", sorted(CORRECTIONS))
def test_every_correction_covers_every_status_the_rule_can_produce(rule_id):
    _, rule = RULES[rule_id]
    assert {status for status, _ in CORRECTIONS[rule_id].cases} == set(rule.possible_statuses)


def test_separation_class_is_named_in_the_evidence():
    """MISEV2018 section 3 grid (M): the rule's evidence names the class, e.g. intermediate/intermediate."""
    document = CORRECTIONS["M18.SEP.CLASS"].cases[0][1]
    verdict = evaluate(document, ["misev2018"]).rulesets["misev2018"].verdict("M18.SEP.CLASS")
    assert verdict.evidence_dicts()[0]["path"] == "separation[1]"
    assert verdict.evidence_dicts()[0]["detail"] == "intermediate recovery, intermediate specificity (decided by sec)"


def test_a_kit_with_a_principle_is_classed_by_it():
    document = CORRECTIONS["M18.SEP.CLASS"].cases[1][1]
    report = evaluate(document, ["misev2018"])
    assert (report.separation_class.recovery, report.separation_class.specificity) == ("intermediate", "intermediate")
    assert report.separation_class.decided_by == "separation[0] (kit, sec principle)"


def test_exomere_proteins_are_named_when_set_aside():
    document = CORRECTIONS["M18.PROT.CAT2"].cases[0][1]
    verdict = evaluate(document, ["misev2018"]).rulesets["misev2018"].verdict("M18.PROT.CAT2")
    assert "HSPA8, HSP90AB1 not counted on its own" in verdict.message
