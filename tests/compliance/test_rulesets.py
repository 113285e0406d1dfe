"""Rule-set files: loading, versions, structural errors that name the file and rule, and corrections."""

import copy
import shutil
from pathlib import Path

import pytest
import yaml

from evlims.compliance import RuleSet, RulesetError, available_rulesets, evaluate, load_ruleset
from evlims.compliance.rulesets import RULESETS_DIR, load_ruleset_file

EXPECTED = {"misev2018", "misev2023", "ev_metric", "purity_matrix", "miblood_ev", "miflowcyt_ev"}


def minimal_rule(**overrides):
    rule = {
        "id": "T.ONE",
        "title": "Volume reported",
        "level": "mandatory",
        "citation": {"source": "test", "status": "D"},
        "satisfied_when": {"field_present": "sample.volume_ml"},
        "missing_message": "No volume.",
        "fix": "Record the volume.",
    }
    rule.update(overrides)
    return rule


def minimal_ruleset(*rules, **overrides):
    data = {
        "ruleset": "test",
        "version": 1,
        "title": "Test",
        "scoring": "checklist",
        "citation": {"source": "test", "status": "D"},
        "rules": list(rules) or [minimal_rule()],
    }
    data.update(overrides)
    return data


def test_every_expected_rule_set_ships_in_version_one():
    assert set(available_rulesets()) == EXPECTED
    assert all(1 in versions for versions in available_rulesets().values())


def test_rule_sets_are_compiled_once_and_cached():
    assert load_ruleset("misev2018") is load_ruleset("misev2018")
    assert load_ruleset("misev2018@1").key == "misev2018@1"


def test_every_rule_cites_a_source_with_its_evidence_status():
    for name in available_rulesets():
        ruleset = load_ruleset(name)
        assert ruleset.citation["status"] in {"V", "M", "D"}
        for rule in ruleset.rules:
            assert rule.citation["source"] and rule.citation["status"] in {"V", "M", "D"}, rule.id


def test_ev_metric_has_nine_components_three_conditional():
    ruleset = load_ruleset("ev_metric")
    assert ruleset.scoring == "points"
    assert len(ruleset.rules) == 9
    conditional = {rule.id for rule in ruleset.rules if rule.applies_when is not None}
    assert conditional == {"EVM.UC_SPECIFICS", "EVM.ANTIBODY_SPECIFICS", "EVM.LYSATE_PREPARATION"}


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("misev2030", "unknown rule set 'misev2030'"),
        ("misev2018@7", "has no version '7'"),
        ("misev2018@x", "no version"),
    ],
)
def test_unknown_rule_set_or_version_is_a_clear_error(reference, message):
    with pytest.raises(RulesetError, match=message):
        load_ruleset(reference)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (minimal_ruleset(minimal_rule(level="required")), r"rules\[0\] \(T.ONE\): level must be one of"),
        (minimal_ruleset(minimal_rule(fix="")), r"\(T.ONE\): fix: expected non-empty text"),
        (minimal_ruleset(minimal_rule(id="lower.case")), "id must look like"),
        (minimal_ruleset(minimal_rule(), minimal_rule()), "duplicate rule id T.ONE"),
        (minimal_ruleset(minimal_rule(citation={"source": "x", "status": "maybe"})), "expected one of V"),
        (minimal_ruleset(minimal_rule(colour="red")), r"unknown key\(s\) colour"),
        (minimal_ruleset(minimal_rule(satisfied_when={"field_there": "x"})), "unknown condition 'field_there'"),
        (minimal_ruleset(minimal_rule(satisfied_when={"biofluid_in": ["blood"]})), r"unknown value\(s\) blood"),
        (
            minimal_ruleset(
                minimal_rule(satisfied_when={"field_compare": {"field": "sample.x", "op": "~", "value": 1}})
            ),
            "satisfied_when.field_compare.op",
        ),
        (
            minimal_ruleset(minimal_rule(satisfied_when={"min_markers_in_category": {"categories": ["9"]}})),
            r"unknown marker categor\(ies\) 9",
        ),
        (minimal_ruleset(scoring="average"), "scoring must be one of"),
        (minimal_ruleset(rules=[]), "rules must be a non-empty list"),
        ({k: v for k, v in minimal_ruleset().items() if k != "citation"}, r"missing key\(s\) citation"),
    ],
)
def test_malformed_rule_sets_name_the_file_rule_and_key(data, message):
    with pytest.raises(RulesetError, match=message) as caught:
        RuleSet.from_mapping(data, source="test@1.yaml")
    assert str(caught.value).startswith("test@1.yaml")


def test_file_name_must_match_the_declared_rule_set(tmp_path):
    path = tmp_path / "other@1.yaml"
    path.write_text(yaml.safe_dump(minimal_ruleset()))
    with pytest.raises(RulesetError, match="declares test@1, which does not match the file name"):
        load_ruleset_file(path)


def test_badly_named_or_unparsable_files_are_rejected(tmp_path):
    bad_name = tmp_path / "test.yaml"
    bad_name.write_text("{}")
    with pytest.raises(RulesetError, match="named <ruleset>@<version>.yaml"):
        load_ruleset_file(bad_name)
    bad_yaml = tmp_path / "test@1.yaml"
    bad_yaml.write_text("rules: [unclosed")
    with pytest.raises(RulesetError, match="not valid YAML"):
        load_ruleset_file(bad_yaml)


def test_correcting_a_threshold_is_a_one_line_change(tmp_path):
    """The hemolysis cut-off lives on one line of miblood_ev@1.yaml; changing it changes the verdict."""
    source = RULESETS_DIR / "miblood_ev@1.yaml"
    text = source.read_text(encoding="utf-8")
    line = 'field_compare: {field: sample.hemolysis_a414, op: "<=", value: 0.3}'
    assert text.count(line) == 1
    corrected = tmp_path / "miblood_ev@1.yaml"
    corrected.write_text(text.replace(line, line.replace("0.3", "0.2")), encoding="utf-8")
    document = {"sample": {"biofluid": "serum", "hemolysis_a414": 0.25}, "separation": []}

    def status(ruleset):
        return evaluate(document, [ruleset]).rulesets["miblood_ev"].verdict("MBE.QC.HEMOLYSIS_LEVEL").status

    assert status(load_ruleset("miblood_ev")) == "pass"
    assert status(load_ruleset_file(corrected)) == "fail"


def test_a_new_rule_set_file_is_picked_up_by_default(tmp_path, monkeypatch):
    import evlims.compliance.rulesets as rulesets_module

    directory = tmp_path / "rulesets"
    shutil.copytree(RULESETS_DIR, directory)
    (directory / "test@1.yaml").write_text(yaml.safe_dump(minimal_ruleset()), encoding="utf-8")
    monkeypatch.setattr(rulesets_module, "RULESETS_DIR", directory)
    rulesets_module.available_rulesets.cache_clear()
    rulesets_module.load_ruleset.cache_clear()
    try:
        report = evaluate({"sample": {"biofluid": "urine", "volume_ml": 3}, "separation": []})
        assert report.rulesets["test"].verdict("T.ONE").status == "pass"
    finally:
        monkeypatch.undo()
        rulesets_module.available_rulesets.cache_clear()
        rulesets_module.load_ruleset.cache_clear()
    assert "test" not in available_rulesets()


def test_rule_sets_can_be_built_from_mappings_for_a_single_evaluation():
    ruleset = RuleSet.from_mapping(copy.deepcopy(minimal_ruleset()), source="inline")
    report = evaluate({"sample": {"biofluid": "urine"}, "separation": []}, [ruleset])
    assert report.rulesets["test"].mandatory_failed == ["T.ONE"]
    assert Path(RULESETS_DIR).is_dir()
