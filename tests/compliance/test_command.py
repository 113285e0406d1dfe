"""The planning command: evlims_evaluate EXPERIMENT.json [--json], with no database access."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "evlims" / "compliance" / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.json"))
RULESET_KEYS = {"misev2018", "misev2023", "purity", "miblood_ev", "miflowcyt_ev"}


def run(*args) -> str:
    out = StringIO()
    # pytest-django blocks database access in tests without the django_db mark, so any query fails here.
    call_command("evlims_evaluate", *map(str, args), stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_json_report_has_the_documented_keys(path):
    report = json.loads(run(path, "--json"))
    assert set(report) == {"experiment_id", "separation_class", "ev_metric"} | RULESET_KEYS
    assert {"score_pct", "points", "applicable", "components"} <= set(report["ev_metric"])
    for key in RULESET_KEYS:
        assert {"rules", "mandatory_failed"} <= set(report[key])
        for rule in report[key]["rules"]:
            assert {"id", "status", "message", "evidence"} <= set(rule)
            assert rule["status"] in {"pass", "fail", "not_applicable", "insufficient_data"}


def test_well_characterised_plasma_example_scores_full_marks():
    report = json.loads(run(EXAMPLES_DIR / "plasma_sec_well_characterised.json", "--json"))
    assert report["ev_metric"]["score_pct"] == 100
    assert report["misev2018"]["mandatory_failed"] == []
    assert report["misev2023"]["mandatory_failed"] == []
    assert report["purity"]["mandatory_failed"] == []
    assert report["miblood_ev"]["mandatory_failed"] == []


def test_poor_urine_example_lists_its_gaps():
    report = json.loads(run(EXAMPLES_DIR / "urine_uc_poorly_characterised.json", "--json"))
    assert report["ev_metric"]["score_pct"] == 25
    assert report["ev_metric"]["applicable"] == 8
    assert {"M18.PROT.CAT2", "M18.PROT.PURITY", "M18.SINGLE.IMAGE", "M18.NOM.GENERIC"} <= set(
        report["misev2018"]["mandatory_failed"]
    )
    assert report["purity"]["mandatory_failed"] == ["PUR.URINE.UMOD"]
    assert all(rule["status"] == "not_applicable" for rule in report["miblood_ev"]["rules"])


def test_ruleset_option_limits_the_report():
    report = json.loads(run(EXAMPLES_DIR / "urine_uc_poorly_characterised.json", "--json", "--ruleset", "ev_metric"))
    assert set(report) == {"experiment_id", "separation_class", "ev_metric"}


def test_readable_summary_shows_score_failures_and_fixes():
    text = run(EXAMPLES_DIR / "urine_uc_poorly_characterised.json")
    assert (
        "Separation: intermediate recovery, intermediate specificity (decided by separation[1] (ultracentrifugation))"
        in text
    )
    assert "ev_metric (ev_metric@2): 25% (2/8 applicable)" in text
    assert "FAIL M18.PROT.PURITY [mandatory]" in text
    assert "Fix: Test a matrix-typical contaminant" in text
    assert "separation[1] (ultracentrifugation) lacks rotor, k_factor" in text


def test_schema_violation_is_a_command_error_naming_the_path(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps({"sample": {"biofluid": "blood"}, "separation": [{"method": "sec", "params": {"x": 1}}]})
    )
    with pytest.raises(CommandError) as caught:
        run(path, "--json")
    message = str(caught.value)
    assert "$.sample.biofluid: 'blood' is not one of" in message
    assert "$.separation[0].params: Additional properties are not allowed ('x' was unexpected)" in message


def test_invalid_json_is_a_command_error(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"sample": ')
    with pytest.raises(CommandError, match=r"\$: invalid JSON at line 1"):
        run(path)


def test_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="cannot read the experiment document"):
        run(tmp_path / "absent.json")


def test_unknown_rule_set_is_a_command_error():
    with pytest.raises(CommandError, match="unknown rule set 'misev1999'"):
        run(EXAMPLES_DIR / "urine_uc_poorly_characterised.json", "--ruleset", "misev1999")
