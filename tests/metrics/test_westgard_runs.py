"""Westgard's rules across the levels of an analytical run, against the worked examples of Westgard's
"Westgard Rules and Multirules" (westgard.com) and Westgard, Barry, Hunt & Groth, Clin Chem 1981;27:493-501.

Two control materials (levels L1 and L2) are measured in each run; every example is written as the z-score of
each level in each run (target mean 100, SD 10, so value = 100 + 10·z), with the verdict expected per point."""

import numpy as np
import pandas as pd
import pytest

from evlims.metrics.westgard import (
    ACROSS_LEVELS,
    WITHIN_LEVEL,
    WITHIN_RUN,
    judge_controls,
    log10_targets,
)


def judge(points):
    """points: (level, run, z) in any order."""
    series = pd.DataFrame(
        [
            {"control": level, "protocol": "SEC", "run": run, "sequence": run, "value": 100 + 10 * z}
            for level, run, z in points
        ]
    ).assign(target_mean=100.0, target_sd=10.0)
    return judge_controls(series)


def verdicts(result):
    return {
        (level, run): (rules, verdict)
        for level, run, rules, verdict in result.points[["control", "run", "violated_rules", "level"]].itertuples(
            index=False
        )
    }


def violations(result):
    return [(row.rule, row.scope, row.run, row.points) for row in result.violations.itertuples()]


def test_r_4s_one_level_above_plus_2sd_and_another_below_minus_2sd_in_the_same_run():
    result = judge([("L1", 1, 2.5), ("L2", 1, -2.1)])
    assert verdicts(result) == {("L1", 1): (("1-2s", "R-4s"), "reject"), ("L2", 1): (("1-2s", "R-4s"), "reject")}
    assert ("R-4s", WITHIN_RUN, 1, (0, 1)) in violations(result)


@pytest.mark.parametrize(
    "points",
    [
        [("L1", 1, 2.5), ("L2", 2, -2.1)],  # the same pair in consecutive runs, across levels
        [("L1", 1, 2.5), ("L1", 2, -2.1)],  # one level in consecutive runs
        [("L1", 1, 2.5), ("L2", 1, 0.2), ("L1", 2, 0.1), ("L2", 2, -2.1)],
    ],
)
def test_r_4s_is_never_raised_across_runs(points):
    result = judge(points)
    assert all("R-4s" not in rules for rules, _ in verdicts(result).values())
    assert "R-4s" not in result.violations["rule"].tolist()


def test_2_2s_across_levels_two_levels_beyond_the_same_2sd_limit_in_one_run():
    result = judge([("L1", 1, 2.3), ("L2", 1, 2.3)])
    assert verdicts(result) == {("L1", 1): (("1-2s", "2-2s"), "reject"), ("L2", 1): (("1-2s", "2-2s"), "reject")}
    assert ("2-2s", WITHIN_RUN, 1, (0, 1)) in violations(result)
    # Opposite limits are an R-4s, not a 2-2s.
    assert "2-2s" not in judge([("L1", 1, 2.3), ("L2", 1, -2.3)]).violations["rule"].tolist()


def test_2_2s_within_one_level_across_two_runs():
    result = judge([("L1", 1, 2.2), ("L2", 1, 0.0), ("L1", 2, 2.4), ("L2", 2, 0.3)])
    assert verdicts(result)[("L1", 2)] == (("1-2s", "2-2s"), "reject")
    assert verdicts(result)[("L1", 1)] == (("1-2s",), "warning")
    assert violations(result)[-1] == ("2-2s", WITHIN_LEVEL, 2, (0, 2))


def test_4_1s_across_two_levels_and_two_runs():
    result = judge([("L1", 1, 1.5), ("L2", 1, 1.2), ("L1", 2, 1.1), ("L2", 2, 1.4)])
    assert verdicts(result) == {
        ("L1", 1): ((), "accept"),
        ("L2", 1): ((), "accept"),
        ("L1", 2): (("4-1s",), "reject"),
        ("L2", 2): (("4-1s",), "reject"),
    }
    assert violations(result) == [("4-1s", ACROSS_LEVELS, 2, (0, 1, 2, 3))]
    point = result.points.iloc[3]
    assert point["violations"] == (("4-1s", ACROSS_LEVELS),)


def test_4_1s_across_levels_needs_every_level_of_each_run_beyond_the_limit():
    result = judge([("L1", 1, 1.5), ("L2", 1, 0.8), ("L1", 2, 1.1), ("L2", 2, 1.4)])
    assert "4-1s" not in result.violations["rule"].tolist()


def test_4_1s_within_one_level_across_four_runs():
    result = judge([("L1", run, 1.2) for run in range(1, 5)] + [("L2", run, -0.5) for run in range(1, 5)])
    assert verdicts(result)[("L1", 4)] == (("4-1s",), "reject")
    assert violations(result) == [("4-1s", WITHIN_LEVEL, 4, (0, 1, 2, 3))]


def test_10x_across_two_levels_in_five_runs():
    result = judge([(level, run, 0.4) for run in range(1, 6) for level in ("L1", "L2")])
    expected = {(level, run): ((), "accept") for run in range(1, 5) for level in ("L1", "L2")}
    expected |= {("L1", 5): (("10x",), "reject"), ("L2", 5): (("10x",), "reject")}
    assert verdicts(result) == expected
    assert violations(result) == [("10x", ACROSS_LEVELS, 5, tuple(range(10)))]


def test_10x_within_one_level_across_ten_runs():
    result = judge([("L1", run, -0.3) for run in range(1, 11)])
    assert verdicts(result)[("L1", 10)] == (("10x",), "reject")
    assert violations(result) == [("10x", WITHIN_LEVEL, 10, tuple(range(10)))]


def test_1_3s_rejects_a_single_point_and_1_2s_warns():
    result = judge([("L1", 1, 3.2), ("L2", 1, 0.5), ("L1", 2, 0.1), ("L2", 2, 2.1)])
    assert verdicts(result) == {
        ("L1", 1): (("1-2s", "1-3s"), "reject"),
        ("L2", 1): ((), "accept"),
        ("L1", 2): ((), "accept"),
        ("L2", 2): (("1-2s",), "warning"),
    }
    assert ("1-3s", WITHIN_LEVEL, 1, (0,)) in violations(result)


def test_levels_of_different_protocols_are_never_combined():
    series = pd.DataFrame(
        {
            "control": ["L1", "L2"],
            "protocol": ["SEC", "UC"],
            "run": [1, 1],
            "sequence": [1, 1],
            "value": [123.0, 77.0],
            "target_mean": 100.0,
            "target_sd": 10.0,
        }
    )
    assert judge_controls(series).violations["rule"].tolist() == ["1-2s", "1-2s"]


def test_log_scale_limits_are_computed_on_log10():
    # Baseline 1e9, 1e10, 1e11: log10 mean 10, SD 1; the fourth point at 1e13 is +3 SD on log10.
    series = pd.DataFrame({"control": "L1", "protocol": "SEC", "sequence": range(4), "value": [1e9, 1e10, 1e11, 1e13]})
    result = judge_controls(series, baseline_points=3, log_scale=True).points
    assert result["target_mean"].iloc[0] == pytest.approx(10.0) and result["target_sd"].iloc[0] == pytest.approx(1.0)
    assert result["z_score"].iloc[3] == pytest.approx(3.0)
    assert result["violated_rules"].iloc[3] == ("1-2s",)  # exactly 3 SD is not beyond it


def test_assigned_linear_targets_are_converted_by_the_moments_of_the_log_normal():
    mean, sd = log10_targets(1e10, 1e9)
    variance_ln = np.log(1 + 0.1**2)
    assert mean == pytest.approx((np.log(1e10) - variance_ln / 2) / np.log(10))
    assert sd == pytest.approx(np.sqrt(variance_ln) / np.log(10))
    series = pd.DataFrame({"control": "L1", "protocol": "SEC", "sequence": [1], "value": [1e10]}).assign(
        target_mean=1e10, target_sd=1e9
    )
    result = judge_controls(series, log_scale=True).points
    assert result["target_mean"].iloc[0] == pytest.approx(mean)
    assert result["z_score"].iloc[0] == pytest.approx((10 - mean) / sd)


def test_a_value_a_log_scale_cannot_take_is_named_or_marked():
    series = pd.DataFrame({"control": "QC-9", "protocol": "SEC", "sequence": [1, 2, 3], "value": [1e9, 0.0, 2e9]})
    with pytest.raises(ValueError, match="QC-9.*0 or less"):
        judge_controls(series, baseline_points=2, log_scale=True)
    marked = judge_controls(series, baseline_points=2, log_scale=True, unusable="mark").points
    assert not marked["judged"].any() and "log scale" in marked["problem"].iloc[0]


def test_provisional_until_twenty_baseline_points_and_assigned_targets_never_are():
    values = [100.0 + (i % 5) for i in range(25)]
    series = pd.DataFrame({"control": "L1", "protocol": "SEC", "sequence": range(25), "value": values})
    assert judge_controls(series, baseline_points=7).points["provisional"].all()
    full = judge_controls(series, baseline_points=20).points
    assert not full["provisional"].any() and full["baseline_n"].iloc[0] == 20
    short = judge_controls(series.iloc[:12], baseline_points=20).points
    assert short["provisional"].all() and short["baseline_n"].iloc[0] == 12
    assigned = judge_controls(series.assign(target_mean=100.0, target_sd=2.0)).points
    assert not assigned["provisional"].any()
