"""Westgard rules, hand-computed with target mean 100 and SD 10 so that z = (value - 100) / 10 exactly."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evlims.metrics.westgard import WestgardInputError, evaluate_westgard, westgard_rules


def judge(values, mean=100.0, sd=10.0, control="QC-1"):
    series = pd.DataFrame(
        {
            "control": control,
            "protocol": "SEC-v2",
            "sequence": range(len(values)),
            "value": [float(v) for v in values],
            "target_mean": mean,
            "target_sd": sd,
        }
    )
    return evaluate_westgard(series)


def rules_at(values, index=-1):
    return judge(values)["violated_rules"].iloc[index]


def test_in_control_point_violates_nothing_and_is_accepted():
    result = judge([100, 105, 95])
    assert result["violated_rules"].tolist() == [(), (), ()]
    assert result["level"].tolist() == ["accept"] * 3
    assert result["z_score"].tolist() == [0.0, 0.5, -0.5]


@pytest.mark.parametrize("value", [121, 79])
def test_1_2s_is_a_warning_on_either_side(value):
    result = judge([value])
    assert result["violated_rules"].iloc[0] == ("1-2s",)
    assert result["level"].iloc[0] == "warning"


def test_1_2s_near_miss_exactly_two_sd_is_not_beyond():
    assert rules_at([120]) == ()
    assert rules_at([80]) == ()


def test_1_3s_rejects():
    result = judge([131])
    assert result["violated_rules"].iloc[0] == ("1-2s", "1-3s")
    assert result["level"].iloc[0] == "reject"


def test_1_3s_near_miss_exactly_three_sd_is_only_a_warning():
    result = judge([70])
    assert result["violated_rules"].iloc[0] == ("1-2s",)
    assert result["level"].iloc[0] == "warning"


def test_2_2s_two_consecutive_beyond_two_sd_same_side():
    assert rules_at([121, 125]) == ("1-2s", "2-2s")
    assert rules_at([75, 78]) == ("1-2s", "2-2s")


@pytest.mark.parametrize(
    "values",
    [
        [121, 119],  # second one inside 2 SD
        [121, 100, 122],  # not consecutive
        [121, 120],  # second exactly on the limit
    ],
)
def test_2_2s_near_misses(values):
    assert "2-2s" not in rules_at(values)


def test_2_2s_not_triggered_by_opposite_sides():
    assert "2-2s" not in rules_at([121, 79])


def test_r_4s_is_never_raised_by_consecutive_runs_of_one_level():
    # These asserted R-4s on consecutive points of one level. Westgard's R-4s is a within-run rule (the range
    # of the controls of one analytical run exceeds 4 SD); across runs it is not applied, so a +2.1 SD point
    # followed by a -2.1 SD point is two 1-2s warnings, nothing more.
    assert rules_at([121, 79]) == ("1-2s",)
    assert rules_at([79, 121]) == ("1-2s",)
    assert judge([121, 79])["level"].iloc[1] == "warning"


@pytest.mark.parametrize(
    "values",
    [
        [121, 80],  # range 4.1 SD but the low point is exactly -2 SD
        [119, 78],  # range 4.1 SD but the high point is inside +2 SD
        [121, 100, 79],  # not consecutive
        [121, 79],  # consecutive runs, not one run
    ],
)
def test_r_4s_near_misses(values):
    assert "R-4s" not in rules_at(values)


def test_4_1s_four_consecutive_beyond_one_sd_same_side():
    result = judge([111, 112, 113, 114])
    assert result["violated_rules"].tolist() == [(), (), (), ("4-1s",)]
    assert result["level"].tolist() == ["accept", "accept", "accept", "reject"]
    assert rules_at([89, 88, 87, 86]) == ("4-1s",)


@pytest.mark.parametrize(
    "values",
    [
        [111, 112, 113, 110],  # last exactly +1 SD
        [111, 112, 113, 89],  # side changes
        [111, 112, 100, 113, 114],  # broken run
    ],
)
def test_4_1s_near_misses(values):
    assert "4-1s" not in rules_at(values)


def test_10_x_ten_consecutive_on_one_side_of_the_mean():
    result = judge([101] * 10)
    assert result["violated_rules"].iloc[9] == ("10x",)
    assert result["violated_rules"].iloc[:9].tolist() == [()] * 9
    assert rules_at([99] * 10) == ("10x",)


@pytest.mark.parametrize(
    "values",
    [
        [101] * 9,  # only nine
        [101] * 9 + [99],  # tenth on the other side
        [101] * 5 + [100] + [101] * 4,  # a point exactly on the mean breaks the run
    ],
)
def test_10_x_near_misses(values):
    assert "10x" not in rules_at(values)


def test_longer_run_keeps_triggering_after_the_tenth_point():
    result = judge([101] * 12)
    assert [("10x" in rules) for rules in result["violated_rules"]] == [False] * 9 + [True] * 3


def test_rules_do_not_run_across_series_and_input_order_is_kept():
    first = pd.DataFrame(
        {"control": "A", "protocol": "p", "sequence": [1, 2], "value": [100.0, 121.0], "target_mean": 100.0}
    )
    second = pd.DataFrame(
        {"control": "B", "protocol": "p", "sequence": [1, 2], "value": [79.0, 100.0], "target_mean": 100.0}
    )
    series = pd.concat([second, first]).iloc[[3, 0, 2, 1]].assign(target_sd=10.0)
    series.index = [40, 10, 30, 20]
    result = evaluate_westgard(series)
    assert list(result.index) == [40, 10, 30, 20]
    as_dict = dict(zip(zip(result["control"], result["sequence"], strict=True), result["violated_rules"], strict=True))
    # A's second point (121) follows its own 100, not B's 79 (and without runs, levels are never combined).
    assert as_dict[("A", 2)] == ("1-2s",)
    assert as_dict[("B", 1)] == ("1-2s",)


def test_series_are_ordered_by_the_order_column_not_by_row_position():
    # By date the values read 100, 122, 121: the last two are a 2-2s pair. By row position (121, 100, 122) they
    # would not be. (This asserted an R-4s across consecutive points, which Westgard applies within a run only.)
    series = pd.DataFrame(
        {
            "control": "A",
            "protocol": "p",
            "measured_at": pd.to_datetime(["2025-01-03", "2025-01-01", "2025-01-02"]),
            "value": [121.0, 100.0, 122.0],
            "target_mean": 100.0,
            "target_sd": 10.0,
        }
    )
    result = evaluate_westgard(series, order_by="measured_at")
    assert result["violated_rules"].tolist() == [("1-2s", "2-2s"), (), ("1-2s",)]


def test_targets_table_gives_each_series_its_own_mean_and_sd():
    series = pd.DataFrame(
        {"control": ["A", "B"], "protocol": "p", "sequence": [1, 1], "value": [121.0, 121.0]},
    )
    targets = pd.DataFrame({"control": ["A", "B"], "protocol": "p", "target_mean": [100.0, 120.0], "target_sd": 10.0})
    result = evaluate_westgard(series, targets=targets)
    assert result["level"].tolist() == ["warning", "accept"]
    assert result["z_score"].tolist() == pytest.approx([2.1, 0.1])


def test_baseline_window_estimates_mean_and_sample_sd():
    # Baseline 98, 102, 100, 101, 99: mean 100, sample SD sqrt(10 / 4) = 1.5811.
    series = pd.DataFrame(
        {"control": "A", "protocol": "p", "sequence": range(8), "value": [98, 102, 100, 101, 99, 104, 105, 100.0]}
    )
    result = evaluate_westgard(series, baseline_points=5)
    assert result["target_sd"].iloc[0] == pytest.approx(np.sqrt(2.5))
    assert result["judged"].tolist() == [False] * 5 + [True] * 3
    assert result["level"].iloc[:5].isna().all()
    assert result["violated_rules"].iloc[:5].tolist() == [()] * 5
    assert result["violated_rules"].iloc[5:].tolist() == [("1-2s",), ("1-2s", "1-3s", "2-2s"), ()]


@pytest.mark.parametrize(
    ("series_changes", "options", "message"),
    [
        ({}, {"baseline_points": 3}, "exactly one source"),
        ({"target_mean": None, "target_sd": None}, {}, "exactly one source"),
        ({"target_sd": 0.0}, {}, "SD must be positive"),
        ({"value": [100.0, None, 101.0]}, {}, "sequence=1"),
        ({"sequence": [1, 1, 2]}, {}, "two points at sequence=1"),
    ],
)
def test_unusable_series_are_rejected_with_the_series_named(series_changes, options, message):
    series = pd.DataFrame(
        {"control": "QC-7", "protocol": "p", "sequence": [0, 1, 2], "value": [100.0, 101.0, 99.0]}
    ).assign(target_mean=100.0, target_sd=10.0)
    for column, values in series_changes.items():
        if values is None:
            series = series.drop(columns=column)
        else:
            series[column] = values
    with pytest.raises(WestgardInputError, match=message) as error:
        evaluate_westgard(series, **options)
    if "source" not in message:
        assert "QC-7" in str(error.value)


def test_baseline_longer_than_series_gives_provisional_limits_from_the_points_there_are():
    # This refused a series shorter than its baseline. Limits are now estimated from the points there are and
    # flagged provisional (fewer than 20 points, Westgard; CLSI C24); none of those points is judged yet.
    series = pd.DataFrame({"control": "QC-7", "protocol": "p", "sequence": [0, 1], "value": [100.0, 102.0]})
    result = evaluate_westgard(series, baseline_points=5)
    assert result["target_mean"].tolist() == [101.0, 101.0]
    assert result["baseline_n"].tolist() == [2, 2] and result["provisional"].all()
    assert not result["judged"].any()
    with pytest.raises(WestgardInputError, match="QC-7.*at least 2 points"):
        evaluate_westgard(series.iloc[:1], baseline_points=5)


def test_series_without_target_in_table_is_rejected():
    series = pd.DataFrame({"control": ["A", "B"], "protocol": "p", "sequence": [1, 1], "value": [1.0, 1.0]})
    targets = pd.DataFrame({"control": ["A"], "protocol": "p", "target_mean": [1.0], "target_sd": [1.0]})
    with pytest.raises(WestgardInputError, match="'B'"):
        evaluate_westgard(series, targets=targets)


def reference_rules(z):
    """A direct, point-by-point reading of the rules, to check the vectorised version against."""
    found = []
    for i in range(len(z)):
        fired = []
        for rule in westgard_rules():
            if rule.kind == "range":
                hit = False  # within a run only, and every point here is its own run
            else:
                window = z[i - rule.count + 1 : i + 1] if i + 1 >= rule.count else []
                hit = len(window) == rule.count and (
                    all(v > rule.limit_sd for v in window) or all(v < -rule.limit_sd for v in window)
                )
            if hit:
                fired.append(rule.name)
        found.append(tuple(fired))
    return found


z_steps = st.lists(st.integers(min_value=-35, max_value=35).map(lambda tenths: tenths / 10), min_size=1, max_size=40)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(z_steps)
def test_vectorised_rules_match_point_by_point_reading(z):
    result = judge([100 + 10 * value for value in z])
    assert result["violated_rules"].tolist() == reference_rules(z)


@settings(max_examples=40, derandomize=True, deadline=None)
@given(z_steps, st.floats(min_value=0.01, max_value=1e6), st.floats(min_value=-1e6, max_value=1e6))
def test_rules_are_invariant_to_units_of_the_control(z, scale, offset):
    # Multiples of 1/10 SD keep every point clear of the limits after rounding in the change of units.
    z = [value + 0.05 for value in z]
    baseline = judge([100 + 10 * value for value in z])
    rescaled = judge([offset + scale * (100 + 10 * value) for value in z], mean=offset + 100 * scale, sd=10 * scale)
    assert rescaled["violated_rules"].tolist() == baseline["violated_rules"].tolist()


def test_duplicate_targets_for_one_series_are_rejected():
    series = pd.DataFrame({"control": ["A"], "protocol": "p", "sequence": [1], "value": [1.0]})
    targets = pd.DataFrame({"control": ["A", "A"], "protocol": "p", "target_mean": [1.0, 2.0], "target_sd": 1.0})
    with pytest.raises(WestgardInputError, match="control='A'.*more than once"):
        evaluate_westgard(series, targets=targets)


def test_a_custom_rule_set_is_honoured_and_an_empty_one_refused():
    only_warning = [rule for rule in westgard_rules() if rule.name == "1-2s"]
    series = pd.DataFrame({"control": "A", "protocol": "p", "sequence": [1, 2], "value": [131.0, 135.0]}).assign(
        target_mean=100.0, target_sd=10.0
    )
    result = evaluate_westgard(series, rules=only_warning)
    assert result["violated_rules"].tolist() == [("1-2s",), ("1-2s",)]
    assert result["level"].tolist() == ["warning", "warning"]
    with pytest.raises(WestgardInputError, match="no Westgard rules"):
        evaluate_westgard(series, rules=[])
