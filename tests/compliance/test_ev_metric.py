"""EV-METRIC arithmetic: points, applicability, rounding and the study mean."""

import copy
import json
from pathlib import Path

import pytest

from evlims.compliance import ComponentState, EvaluationReport, evaluate, study_ev_metric
from evlims.compliance.evaluator import EvMetricScore

EXAMPLES = Path(__file__).resolve().parents[2] / "evlims" / "compliance" / "examples"


def well_characterised():
    return json.loads((EXAMPLES / "plasma_sec_well_characterised.json").read_text())


def metric(document) -> EvMetricScore:
    return evaluate(document, ["ev_metric"]).ev_metric


def test_fully_reported_experiment_scores_nine_of_nine():
    score = metric(well_characterised())
    assert (score.points, score.applicable, score.score_pct) == (9, 9, 100)
    assert set(score.components.values()) == {ComponentState.MET}


def test_without_ultracentrifugation_eight_components_apply():
    document = well_characterised()
    document["separation"] = [step for step in document["separation"] if step["method"] == "sec"]
    score = metric(document)
    assert score.components["EVM.UC_SPECIFICS"] is ComponentState.NOT_APPLICABLE
    # Dropping the gradient also loses the two density-gradient points, which stay applicable.
    assert (score.points, score.applicable, score.score_pct) == (6, 8, 75)


def test_without_uc_antibodies_or_lysates_six_components_apply():
    document = {
        "sample": {"biofluid": "urine"},
        "separation": [{"method": "sec", "params": {}}],
        "characterization": {
            "markers": [{"protein": "CD63", "method": "ms", "detected": True}],
            "particle_analysis": [{"method": "nta"}],
            "imaging": [],
        },
    }
    score = metric(document)
    assert score.applicable == 6
    assert score.points == 2  # EV proteins and particle analysis
    assert score.score_pct == 33  # 33.33 rounds down
    not_applicable = {key for key, state in score.components.items() if state is ComponentState.NOT_APPLICABLE}
    assert not_applicable == {"EVM.UC_SPECIFICS", "EVM.ANTIBODY_SPECIFICS", "EVM.LYSATE_PREPARATION"}


def test_missing_k_factor_costs_exactly_one_point():
    document = well_characterised()
    del document["separation"][1]["params"]["k_factor"]
    score = metric(document)
    assert score.components["EVM.UC_SPECIFICS"] is ComponentState.NOT_MET
    assert (score.points, score.applicable, score.score_pct) == (8, 9, 89)


@pytest.mark.parametrize(
    ("points", "applicable", "expected"),
    [(7, 8, 88), (5, 8, 63), (1, 6, 17), (2, 3, 67), (1, 3, 33), (0, 9, 0), (9, 9, 100), (1, 8, 13)],
)
def test_score_rounds_half_up_to_an_integer(points, applicable, expected):
    score = EvMetricScore("ev_metric@1", points, applicable, {}, ())
    assert score.score_pct == expected


def test_score_is_none_when_nothing_applies():
    assert EvMetricScore("ev_metric@1", 0, 0, {}, ()).score_pct is None


def test_undescribed_characterisation_counts_as_applicable_and_unmet():
    score = metric({"sample": {"biofluid": "urine"}, "separation": [{"method": "sec", "params": {}}]})
    assert score.components["EVM.ANTIBODY_SPECIFICS"] is ComponentState.NOT_MET
    assert score.components["EVM.LYSATE_PREPARATION"] is ComponentState.NOT_MET
    assert (score.points, score.applicable) == (0, 8)


def test_json_output_lists_every_component_with_state_and_evidence():
    output = evaluate(well_characterised(), ["ev_metric"]).to_dict()["ev_metric"]
    assert output["score_pct"] == 100
    assert len(output["components"]) == 9
    uc = output["components"]["EVM.UC_SPECIFICS"]
    assert uc["state"] == "met"
    assert uc["evidence"] == [
        {
            "path": "separation[1].params",
            "label": "Separation 2 › parameters",
            "detail": "density_gradient: all parameters reported",
        }
    ]


def test_study_score_is_the_mean_of_its_preparations():
    full = evaluate(well_characterised(), ["ev_metric"])
    weaker = copy.deepcopy(well_characterised())
    del weaker["separation"][1]["params"]["k_factor"]
    partial = evaluate(weaker, ["ev_metric"])
    assert study_ev_metric([full, partial]) == pytest.approx((100 + 89) / 2)
    assert study_ev_metric([full.ev_metric, 50]) == 75
    assert study_ev_metric([]) is None


@pytest.mark.parametrize("bad", [101, -1, 50.5, True, "80"])
def test_study_score_rejects_values_that_are_not_percent_scores(bad):
    with pytest.raises(ValueError, match="integer percent"):
        study_ev_metric([bad])


def test_study_score_needs_reports_evaluated_with_ev_metric():
    report = evaluate(well_characterised(), ["misev2018"])
    assert isinstance(report, EvaluationReport) and report.ev_metric is None
    with pytest.raises(ValueError, match="ev_metric rule set"):
        study_ev_metric([report])
