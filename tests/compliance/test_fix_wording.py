"""The fixes and messages of the current rule sets are written in the lab's words: no document path
(``sample.volume_ml``, ``prep_storage.buffer``, ``functional_studies[].controls``) and no snake_case code
(``k2_edta``, ``small_ev``). A code-like fix added later fails here."""

import re

import pytest

from evlims.compliance.rulesets import default_rulesets

# A dotted path of two code words ("e.g." and "i.e." have one-letter words), a list marker, or a snake_case code.
DOTTED_PATH = re.compile(r"\b[a-z][a-z0-9_]+(\[\])?\.[a-z][a-z0-9_]+")
LIST_MARKER = re.compile(r"\[\]")
SNAKE_CASE = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")

CURRENT = [(ruleset.key, rule) for ruleset in default_rulesets() for rule in ruleset.rules]


def code_like(text: str) -> list[str]:
    return [match.group(0) for pattern in (DOTTED_PATH, LIST_MARKER, SNAKE_CASE) for match in pattern.finditer(text)]


def test_the_current_rule_sets_are_the_ones_reworded():
    assert sorted(ruleset.key for ruleset in default_rulesets()) == [
        "ev_metric@2",
        "miblood_ev@1",
        "miflowcyt_ev@1",
        "misev2018@2",
        "misev2023@2",
        "purity_matrix@1",
    ]


@pytest.mark.parametrize(("key", "rule"), CURRENT, ids=[f"{key}:{rule.id}" for key, rule in CURRENT])
def test_fix_and_message_name_no_code(key, rule):
    assert code_like(rule.fix) == [], f"{key} {rule.id} fix: {rule.fix}"
    assert code_like(rule.missing_message) == [], f"{key} {rule.id} message: {rule.missing_message}"


@pytest.mark.parametrize(
    "text",
    [
        "Complete prep_storage with buffer",
        "Record sample.volume_ml",
        "record it in functional_studies[].controls",
        "Use small_ev",
        "record params.principle",
    ],
)
def test_the_check_catches_code(text):
    assert code_like(text)


@pytest.mark.parametrize("text", ["Show TSG101 (e.g. by western blot, i.e. a blot).", "2 x 2,500 g, 15 min", "K2-EDTA"])
def test_the_check_lets_words_through(text):
    assert code_like(text) == []
