"""Group summaries (n, mean, sample SD, CV%) and scaling properties of the preparation figures."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evlims.metrics.compute import compare_methods, preparation_metrics, run_summary, summarise, with_month


def test_summary_of_one_run_is_hand_computed():
    # 2, 4, 6: mean 4, sample SD 2, CV 50 %.
    frame = pd.DataFrame({"run": ["R1"] * 3, "particles_per_ug": [2.0, 4.0, 6.0]})
    row = summarise(frame, by=["run"], metrics=["particles_per_ug"]).iloc[0]
    assert (row["run"], row["metric"], row["n"]) == ("R1", "particles_per_ug", 3)
    assert row["mean"] == pytest.approx(4.0)
    assert row["sd"] == pytest.approx(2.0)
    assert row["cv_pct"] == pytest.approx(50.0)


def test_n_counts_only_rows_with_the_figure_and_cv_needs_two():
    frame = pd.DataFrame(
        {"run": ["R1", "R1", "R2", "R3"], "particles_per_ug": [5.0, np.nan, 7.0, np.nan]},
    )
    result = summarise(frame, by=["run"], metrics=["particles_per_ug"]).set_index("run")
    assert result["n"].tolist() == [1, 1, 0]
    assert result.loc["R1", "mean"] == 5.0
    assert result[["sd", "cv_pct"]].isna().all(axis=None)
    assert math.isnan(result.loc["R3", "mean"])


def test_cv_is_missing_when_the_mean_is_zero():
    frame = pd.DataFrame({"run": ["R1", "R1"], "recovery_pct": [0.0, 0.0]})
    row = summarise(frame, by=["run"], metrics=["recovery_pct"]).iloc[0]
    assert row["sd"] == 0.0
    assert math.isnan(row["cv_pct"])


def test_groups_keep_first_appearance_order_and_missing_keys_form_a_group():
    frame = pd.DataFrame(
        {
            "operator": ["zoe", "ana", None, "zoe"],
            "method": ["SEC", "SEC", "UC", "SEC"],
            "yield": [1.0, 2.0, 3.0, 5.0],
        }
    )
    result = summarise(frame, by=["operator", "method"], metrics=["yield"])
    assert result["operator"].tolist()[:2] == ["zoe", "ana"]
    assert pd.isna(result["operator"].iloc[2])
    assert result["mean"].tolist() == [3.0, 2.0, 3.0]
    assert list(result.columns) == ["operator", "method", "metric", "n", "mean", "sd", "cv_pct"]


def test_several_metrics_come_out_one_row_each_per_group():
    frame = pd.DataFrame({"run": ["R1", "R1"], "a": [1.0, 3.0], "b": [10.0, 10.0]})
    result = summarise(frame, by=["run"], metrics=["a", "b"])
    assert result["metric"].tolist() == ["a", "b"]
    assert result["mean"].tolist() == [2.0, 10.0]


def test_summarise_refuses_text_columns_and_unknown_columns():
    frame = pd.DataFrame({"run": ["R1"], "purity_class": ["impure"]})
    with pytest.raises(ValueError, match="purity_class"):
        summarise(frame, by=["run"], metrics=["purity_class"])
    with pytest.raises(ValueError, match="instrument"):
        summarise(frame, by=["instrument"], metrics=[])


def test_run_summary_groups_by_run():
    frame = pd.DataFrame(
        {
            "preparation": ["a", "b", "c"],
            "run": ["R2", "R1", "R2"],
            "biofluid": "urine",
            "input_volume_ml": 10.0,
            "prep_volume_ml": 1.0,
            "particles_per_ml": [1e10, 2e10, 3e10],
            "protein_ug_per_ml": 1.0,
        }
    )
    result = run_summary(preparation_metrics(frame))
    yields = result[result["metric"] == "particle_yield_per_ml_input"].set_index("run")
    assert yields.index.tolist() == ["R2", "R1"]
    assert yields.loc["R2", "mean"] == pytest.approx(2e9)
    assert yields.loc["R2", "n"] == 2


def test_compare_methods_stays_within_one_biofluid():
    frame = pd.DataFrame(
        {
            "biofluid": ["urine", "urine", "urine", "blood_plasma"],
            "method": ["SEC", "SEC", "UC", "SEC"],
            "particles_per_ug": [1e9, 3e9, 5e9, 7e9],
        }
    )
    result = compare_methods(frame, ["particles_per_ug"], biofluid="urine")
    assert result["method"].tolist() == ["SEC", "UC"]
    assert result["mean"].tolist() == pytest.approx([2e9, 5e9])
    everything = compare_methods(frame, ["particles_per_ug"])
    assert everything[["biofluid", "method"]].values.tolist() == [
        ["urine", "SEC"],
        ["urine", "UC"],
        ["blood_plasma", "SEC"],
    ]


def test_with_month_labels_calendar_months():
    frame = pd.DataFrame({"measured_at": ["2025-01-31T23:00:00Z", "2025-02-01T00:30:00Z"], "x": [1.0, 3.0]})
    labelled = with_month(frame, "measured_at")
    assert labelled["month"].tolist() == ["2025-01", "2025-02"]
    assert "month" not in frame.columns
    assert summarise(labelled, by=["month"], metrics=["x"])["n"].tolist() == [1, 1]


positive = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False)
concentration = st.floats(min_value=1e6, max_value=1e13, allow_nan=False)


@settings(max_examples=50, derandomize=True, deadline=None)
@given(positive, positive, concentration, positive, st.floats(min_value=0.01, max_value=100))
def test_yields_scale_linearly_with_prep_volume_and_inversely_with_input(
    input_volume, prep_volume, particles, protein, factor
):
    def figures(input_ml, prep_ml):
        frame = pd.DataFrame(
            [
                {
                    "preparation": "P",
                    "biofluid": "urine",
                    "input_volume_ml": input_ml,
                    "prep_volume_ml": prep_ml,
                    "particles_per_ml": particles,
                    "protein_ug_per_ml": protein,
                }
            ]
        )
        return preparation_metrics(frame).iloc[0]

    base = figures(input_volume, prep_volume)
    more_prep = figures(input_volume, prep_volume * factor)
    more_input = figures(input_volume * factor, prep_volume)
    for column in ("particle_yield_per_ml_input", "protein_yield_ug_per_ml_input"):
        assert more_prep[column] == pytest.approx(base[column] * factor, rel=1e-9)
        assert more_input[column] == pytest.approx(base[column] / factor, rel=1e-9)
    # The ratio depends on concentrations only, so volumes never move it.
    assert more_prep["particles_per_ug"] == base["particles_per_ug"]


@settings(max_examples=50, derandomize=True, deadline=None)
@given(
    st.lists(st.floats(min_value=1e-3, max_value=1e12, allow_nan=False), min_size=2, max_size=12),
    st.floats(min_value=1e-3, max_value=1e3),
)
def test_cv_is_invariant_to_scaling_and_sd_scales(values, factor):
    frame = pd.DataFrame({"run": "R", "x": values})
    scaled = frame.assign(x=frame["x"] * factor)
    before = summarise(frame, by=["run"], metrics=["x"]).iloc[0]
    after = summarise(scaled, by=["run"], metrics=["x"]).iloc[0]
    assert after["n"] == before["n"] == len(values)
    assert after["mean"] == pytest.approx(before["mean"] * factor, rel=1e-9)
    assert after["sd"] == pytest.approx(before["sd"] * factor, rel=1e-6, abs=1e-9 * after["mean"])
    assert after["cv_pct"] == pytest.approx(before["cv_pct"], rel=1e-6, abs=1e-7)


@settings(max_examples=30, derandomize=True, deadline=None)
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=2, max_size=12))
def test_summary_matches_numpy_sample_statistics(values):
    row = summarise(pd.DataFrame({"g": 1, "x": values}), by=["g"], metrics=["x"]).iloc[0]
    assert row["mean"] == pytest.approx(np.mean(values), abs=1e-6)
    assert row["sd"] == pytest.approx(np.std(values, ddof=1), rel=1e-6, abs=1e-6)
