"""The condition vocabulary: three-valued logic, argument checks and the marker vocabulary."""

import re
from pathlib import Path

import pytest

from evlims.compliance import Experiment, RulesetError
from evlims.compliance.conditions import compile_condition, condition_names
from evlims.compliance.errors import VocabularyError
from evlims.compliance.markers import MarkerVocabulary, marker_vocabulary

from .builders import experiment, markers

KNOWN_TRUE = {"biofluid_in": ["urine"]}
KNOWN_FALSE = {"biofluid_in": ["milk"]}
UNKNOWN = {"any_marker_detected_in_category": "1"}  # markers not described


def value(spec, document=None):
    return compile_condition(spec, "test").check(Experiment(document or experiment("urine"))).value


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"all": [KNOWN_TRUE, KNOWN_TRUE]}, True),
        ({"all": [KNOWN_TRUE, UNKNOWN]}, None),
        ({"all": [UNKNOWN, KNOWN_FALSE]}, False),
        ({"any": [KNOWN_FALSE, UNKNOWN]}, None),
        ({"any": [UNKNOWN, KNOWN_TRUE]}, True),
        ({"any": [KNOWN_FALSE, KNOWN_FALSE]}, False),
        ({"not": KNOWN_TRUE}, False),
        ({"not": KNOWN_FALSE}, True),
        ({"not": UNKNOWN}, None),
    ],
)
def test_combinators_follow_three_valued_logic(spec, expected):
    assert value(spec) is expected


def test_any_failure_lists_every_alternative():
    outcome = compile_condition(
        {"any": [{"field_present": "sample.volume_ml"}, {"field_present": "sample.tissue_mass_mg"}]}, "test"
    ).check(Experiment(experiment()))
    assert outcome.notes == (
        "none of these holds: sample.volume_ml is not reported; sample.tissue_mass_mg is not reported",
    )


@pytest.mark.parametrize(
    ("op", "limit", "expected"), [("<", 5, False), ("<=", 5, True), (">", 4, True), (">=", 6, False), ("==", 5, True)]
)
def test_field_compare_operators(op, limit, expected):
    spec = {"field_compare": {"field": "sample.volume_ml", "op": op, "value": limit}}
    assert value(spec, experiment(sample={"volume_ml": 5})) is expected


def test_field_compare_absent_is_unknown_unless_declared_false():
    field = {"field": "sample.volume_ml", "op": ">", "value": 0}
    assert value({"field_compare": field}) is None
    assert value({"field_compare": {**field, "absent_means": "false"}}) is False


def test_field_compare_on_a_non_number_is_undecided():
    spec = {"field_compare": {"field": "sample.cell_line", "op": ">", "value": 0}}
    assert value(spec, experiment(sample={"cell_line": "HEK293"})) is None


def test_field_alternatives_accept_either_name():
    spec = {"all_items_have": {"list": "sample.centrifugation_spins", "fields": ["brake|temperature_c"]}}
    assert value(spec, experiment(sample={"centrifugation_spins": [{"temperature_c": 4}]})) is True
    assert value(spec, experiment(sample={"centrifugation_spins": [{"g_force": 4}]})) is False


def test_unrecognised_markers_make_a_shortfall_undecided_only_when_they_could_fill_it():
    spec = {"min_markers_in_category": {"categories": ["1"], "min": 2, "detected": True}}
    assert value(spec, experiment(markers=markers("CD63+", "MYSTERY1+"))) is None
    assert value(spec, experiment(markers=markers("CD63+", "MYSTERY1-"))) is False
    assert value(spec, experiment(markers=markers("CD63+", "CD81+", "MYSTERY1+"))) is True


def test_marker_patterns_match_prefixes():
    assert value({"any_marker_tested": ["CSN*"]}, experiment(markers=markers("CSN1S1-"))) is True
    assert value({"any_marker_tested": ["CSN*"]}, experiment(markers=markers("CD63+"))) is False


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"all": []}, "non-empty list of conditions"),
        ({"all": [KNOWN_TRUE], "any": [KNOWN_TRUE]}, "exactly one key"),
        ({"field_present": ""}, "non-empty list of names"),
        ({"field_present": "sample..volume"}, "dotted field path"),
        ({"field_in": {"field": "claims.subtype"}}, r"missing argument\(s\) values"),
        ({"field_in": {"field": "claims.subtype", "values": ["ev"], "absent_means": "maybe"}}, "absent_means"),
        ({"method_used": ["centrifuge"]}, r"unknown value\(s\) centrifuge"),
        ({"param_present_for_all_steps": {"spin": ["g_force"]}}, r"unknown value\(s\) spin"),
        ({"imaging_with": {"techniques": ["xray"]}}, r"unknown value\(s\) xray"),
        ({"quantification_kinds": {"min": 5, "kinds": ["particles", "protein"]}}, "between 1 and 2"),
        ({"min_markers_in_category": {"categories": ["1"], "detected": "yes"}}, "detected"),
        ({"lysate_analysed": "yes"}, "expected true"),
        ({"antibodies_used": {"marker_methods": ["ms"], "fields": ["dilution"]}}, r"unknown argument\(s\) fields"),
        ({"all_items_have": {"list": "sample.x", "fields": ["a"], "min_items": -1}}, "min_items"),
    ],
)
def test_bad_condition_arguments_are_reported_with_their_location(spec, message):
    with pytest.raises(RulesetError, match=message) as caught:
        compile_condition(spec, "file@1.yaml: rules[0] (X.Y)")
    assert str(caught.value).startswith("file@1.yaml: rules[0] (X.Y)")


def test_identical_conditions_compile_to_one_shared_object():
    assert compile_condition({"biofluid_in": ["urine"]}, "a") is compile_condition({"biofluid_in": ["urine"]}, "b")


def test_every_condition_is_documented_and_every_documented_condition_exists():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "compliance.md").read_text(encoding="utf-8")
    table = docs.split("### Condition vocabulary", 1)[1].split("###", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE))
    assert documented == condition_names()


@pytest.mark.parametrize(
    ("name", "labels"),
    [
        ("ALIX", {"2", "2a", "cytosolic"}),
        ("cd63", {"1", "1a", "transmembrane_or_gpi"}),
        ("ACTN1", {"4", "4d", "intracellular_compartment"}),  # exact symbol wins over a pattern
        ("ACTB", {"2", "2b", "cytosolic", "exomere"}),  # MISEV2018 exomere caveat (PMC6322352 UT0002)
        ("HSC70", {"2", "2a", "cytosolic", "exomere"}),
        ("HSP84", {"2", "2a", "cytosolic", "exomere"}),
        ("TSG101", {"2", "2a", "cytosolic"}),
        ("ITGB1", {"1", "1a", "transmembrane_or_gpi"}),
        ("MFGE8", {"1", "1a", "transmembrane_or_gpi", "5", "5b", "secreted"}),
        ("UMOD", {"3", "3b", "non_vesicular_coisolate"}),
        ("NOTAGENE1", set()),
    ],
)
def test_marker_vocabulary_classifies_symbols_and_aliases(name, labels):
    assert marker_vocabulary().labels(name) == labels


def test_marker_vocabulary_errors_name_the_subcategory():
    with pytest.raises(VocabularyError, match="subcategory '6a' has no entry"):
        MarkerVocabulary({"misev2023_classes": {"1a": "x"}, "subcategories": {"6a": {"title": "t", "symbols": ["A"]}}})
    with pytest.raises(VocabularyError, match="lists no symbols"):
        MarkerVocabulary({"misev2023_classes": {"1a": "x"}, "subcategories": {"1a": {"title": "t", "symbols": []}}})
    with pytest.raises(VocabularyError, match="missing or malformed"):
        MarkerVocabulary({"subcategories": {}})
