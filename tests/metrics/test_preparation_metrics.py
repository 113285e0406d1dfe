"""Per-preparation figures: hand-computed formulas, purity classes, missing inputs and provenance."""

import math

import numpy as np
import pandas as pd
import pytest

from evlims.metrics.compute import (
    INDETERMINATE,
    METRIC_COLUMNS,
    NOT_INTERPRETABLE,
    classify_purity,
    collapse_measurements,
    marker_enrichment,
    metric_provenance,
    preparation_metrics,
    small_ev_fraction,
)


def prep(**overrides):
    row = {
        "preparation": "P1",
        "run": "R1",
        "biofluid": "cell_culture_medium",
        "input_volume_ml": 20.0,
        "prep_volume_ml": 0.5,
        "particles_per_ml": 4e10,
        "protein_ug_per_ml": 8.0,
    }
    row.update(overrides)
    return row


def metrics_of(*rows):
    return preparation_metrics(pd.DataFrame(list(rows)))


def test_particle_yield_per_ml_input_is_total_particles_over_input_volume():
    # 4e10/mL x 0.5 mL = 2e10 particles from 20 mL of medium -> 1e9 per mL of input.
    assert metrics_of(prep())["particle_yield_per_ml_input"].iloc[0] == pytest.approx(1e9)


def test_protein_yield_is_total_protein_over_input_volume():
    # 8 µg/mL x 0.5 mL = 4 µg from 20 mL -> 0.2 µg per mL of input.
    assert metrics_of(prep())["protein_yield_ug_per_ml_input"].iloc[0] == pytest.approx(0.2)


def test_particles_per_ug_is_concentration_ratio():
    assert metrics_of(prep())["particles_per_ug"].iloc[0] == pytest.approx(5e9)


def test_yield_per_million_cells_for_cell_culture_medium():
    # 2e10 particles from 4e6 producing cells -> 5e9 per 10^6 cells.
    result = metrics_of(prep(producing_cells=4e6))
    assert result["particle_yield_per_million_cells"].iloc[0] == pytest.approx(5e9)


def test_yield_per_cells_absent_for_biofluids_and_without_cell_count():
    result = metrics_of(
        prep(preparation="urine", biofluid="urine", producing_cells=4e6),
        prep(preparation="no-count", producing_cells=np.nan),
    )
    assert result["particle_yield_per_million_cells"].isna().all()


def test_recovery_compares_particles_in_prep_with_particles_in_input():
    # input: 20 mL x 5e9/mL = 1e11 particles; prep: 2e10 particles -> 20 %.
    result = metrics_of(prep(input_particles_per_ml=5e9))
    assert result["recovery_pct"].iloc[0] == pytest.approx(20.0)


def test_recovery_requires_input_measured_the_same_way_when_that_is_recorded():
    result = metrics_of(
        prep(preparation="same", input_particles_per_ml=5e9, input_measured_same_way=True),
        prep(preparation="other", input_particles_per_ml=5e9, input_measured_same_way=False),
        prep(preparation="unknown", input_particles_per_ml=5e9, input_measured_same_way=None),
    )
    assert result["recovery_pct"].iloc[0] == pytest.approx(20.0)
    assert result["recovery_pct"].iloc[1:].isna().all()


def test_size_mode_and_median_pass_through():
    result = metrics_of(prep(size_mode_nm=112.5, size_median_nm=130.0))
    assert result[["size_mode_nm", "size_median_nm"]].iloc[0].tolist() == [112.5, 130.0]


def test_input_columns_are_kept_and_every_metric_column_is_added():
    result = metrics_of(prep(operator="ana"))
    assert result["operator"].iloc[0] == "ana"
    assert set(METRIC_COLUMNS) <= set(result.columns)


@pytest.mark.parametrize(
    ("missing", "absent_figures"),
    [
        ("particles_per_ml", ["particle_yield_per_ml_input", "particles_per_ug", "purity_class"]),
        ("protein_ug_per_ml", ["protein_yield_ug_per_ml_input", "particles_per_ug", "purity_class"]),
        ("input_volume_ml", ["particle_yield_per_ml_input", "protein_yield_ug_per_ml_input"]),
        (
            "prep_volume_ml",
            ["particle_yield_per_ml_input", "protein_yield_ug_per_ml_input", "particle_yield_per_million_cells"],
        ),
    ],
)
def test_missing_input_gives_missing_figure_not_zero(missing, absent_figures):
    result = metrics_of(prep(producing_cells=1e6, **{missing: np.nan}))
    for figure in absent_figures:
        assert pd.isna(result[figure].iloc[0]), figure
    present = [c for c in ["particle_yield_per_ml_input", "protein_yield_ug_per_ml_input"] if c not in absent_figures]
    for figure in present:
        assert result[figure].iloc[0] > 0


def test_zero_denominators_give_missing_figures():
    result = metrics_of(prep(protein_ug_per_ml=0.0, input_volume_ml=0.0))
    assert (
        result[["particles_per_ug", "particle_yield_per_ml_input", "protein_yield_ug_per_ml_input"]]
        .isna()
        .all(axis=None)
    )
    assert pd.isna(result["purity_class"].iloc[0])


def test_zero_particles_is_a_real_zero():
    assert metrics_of(prep(particles_per_ml=0.0))["particles_per_ug"].iloc[0] == 0.0


def test_negative_input_is_rejected_naming_column_and_preparation():
    with pytest.raises(ValueError, match=r"'prep_volume_ml'.*'P9'"):
        metrics_of(prep(preparation="P9", prep_volume_ml=-1.0))


def test_missing_required_column_is_named():
    frame = pd.DataFrame([prep()]).drop(columns="protein_ug_per_ml")
    with pytest.raises(ValueError, match="protein_ug_per_ml"):
        preparation_metrics(frame)


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (1e9, "impure"),
        (1.4999e9, "impure"),
        (1.5e9, INDETERMINATE),
        (1.8e9, INDETERMINATE),
        (1.9999e9, INDETERMINATE),
        (2e9, "low_purity"),
        (1e10, "low_purity"),
        (2e10, "low_purity"),
        (2.0001e10, INDETERMINATE),
        (2.5e10, INDETERMINATE),
        (3e10, INDETERMINATE),
        (3.0001e10, "high_purity"),
        (1e12, "high_purity"),
        (0.0, "impure"),
    ],
)
def test_purity_class_boundaries_and_both_gaps(ratio, expected):
    assert classify_purity(np.array([ratio]))[0] == expected


@pytest.mark.parametrize("biofluid", ["blood_plasma", "serum", "whole_blood"])
def test_blood_biofluids_are_not_interpretable_without_lipoprotein_readout(biofluid):
    result = metrics_of(
        prep(preparation="none", biofluid=biofluid, particles_per_ml=1e12, protein_ug_per_ml=1.0),
        prep(
            preparation="false",
            biofluid=biofluid,
            particles_per_ml=1e12,
            protein_ug_per_ml=1.0,
            lipoprotein_readout=False,
        ),
        prep(
            preparation="with",
            biofluid=biofluid,
            particles_per_ml=1e12,
            protein_ug_per_ml=1.0,
            lipoprotein_readout=True,
        ),
    )
    assert result["purity_class"].tolist() == [NOT_INTERPRETABLE, NOT_INTERPRETABLE, "high_purity"]


def test_non_blood_biofluid_is_classified_without_lipoprotein_readout():
    result = metrics_of(prep(biofluid="urine", particles_per_ml=1e12, protein_ug_per_ml=1.0))
    assert result["purity_class"].iloc[0] == "high_purity"


def test_plasma_with_missing_ratio_has_null_class_not_not_interpretable():
    result = metrics_of(prep(biofluid="blood_plasma", protein_ug_per_ml=np.nan))
    assert pd.isna(result["purity_class"].iloc[0])


def test_collapse_measurements_averages_replicates_and_keeps_every_id():
    measurements = pd.DataFrame(
        {
            "measurement_id": [11, 12, 21, 31],
            "preparation": ["P1", "P1", "P1", "P2"],
            "quantity": ["particles_per_ml", "particles_per_ml", "protein_ug_per_ml", "particles_per_ml"],
            "value": [3e10, 5e10, 8.0, 1e10],
        }
    )
    values, provenance = collapse_measurements(measurements)
    by_prep = values.set_index("preparation")
    assert by_prep.loc["P1", "particles_per_ml"] == pytest.approx(4e10)
    assert by_prep.loc["P1", "protein_ug_per_ml"] == 8.0
    assert math.isnan(by_prep.loc["P2", "protein_ug_per_ml"])
    assert sorted(provenance.loc[provenance["preparation"] == "P1", "measurement_id"]) == [11, 12, 21]


def test_collapse_measurements_rejects_negative_value_naming_measurement():
    measurements = pd.DataFrame(
        {"measurement_id": ["m-7"], "preparation": ["P1"], "quantity": ["particles_per_ml"], "value": [-1.0]}
    )
    with pytest.raises(ValueError, match="m-7"):
        collapse_measurements(measurements)


def test_metric_provenance_links_present_figures_to_their_measurements():
    measurements = pd.DataFrame(
        {
            "measurement_id": [11, 21, 31],
            "preparation": ["P1", "P1", "P2"],
            "quantity": ["particles_per_ml", "protein_ug_per_ml", "particles_per_ml"],
            "value": [4e10, 8.0, 1e10],
        }
    )
    values, provenance = collapse_measurements(measurements)
    volumes = pd.DataFrame(
        {"preparation": ["P1", "P2"], "biofluid": "urine", "input_volume_ml": 20.0, "prep_volume_ml": 0.5}
    )
    metrics = preparation_metrics(volumes.merge(values, on="preparation"))
    links = metric_provenance(metrics, provenance)
    ratio_ids = links.loc[(links["preparation"] == "P1") & (links["metric"] == "particles_per_ug"), "measurement_id"]
    assert sorted(ratio_ids) == [11, 21]
    # P2 has no protein, so no ratio and no protein yield: those figures have no provenance rows.
    p2_metrics = set(links.loc[links["preparation"] == "P2", "metric"])
    assert p2_metrics == {"particle_yield_per_ml_input"}
    assert list(links.columns) == ["preparation", "metric", "quantity", "measurement_id"]


def test_small_ev_fraction_counts_bins_strictly_below_200_nm():
    histogram = pd.DataFrame(
        {
            "preparation": ["P1"] * 4 + ["P2"] * 2 + ["P3"],
            "bin_center_nm": [50.0, 150.0, 200.0, 300.0, 100.0, 250.0, 90.0],
            "concentration_per_ml": [1e9, 2e9, 3e9, 4e9, 0.0, 0.0, 5e8],
        }
    )
    result = small_ev_fraction(histogram).set_index("preparation")["small_ev_fraction"]
    assert result["P1"] == pytest.approx(0.3)
    assert math.isnan(result["P2"])  # nothing counted: no fraction, not zero
    assert result["P3"] == pytest.approx(1.0)


def test_small_ev_fraction_rejects_missing_bin_values():
    histogram = pd.DataFrame({"preparation": ["P1"], "bin_center_nm": [np.nan], "concentration_per_ml": [1.0]})
    with pytest.raises(ValueError, match="P1"):
        small_ev_fraction(histogram)


def test_marker_enrichment_is_ratio_of_per_ug_signals():
    markers = pd.DataFrame(
        {
            "preparation": ["P1", "P1", "P1"],
            "marker": ["CD63", "CD9", "TSG101"],
            "prep_signal_per_ug": [12.0, 3.0, 5.0],
            "source_signal_per_ug": [1.5, np.nan, 0.0],
            "prep_measurement_id": [1, 2, 3],
        }
    )
    result = marker_enrichment(markers)
    assert result["enrichment_fold"].iloc[0] == pytest.approx(8.0)
    assert result["enrichment_fold"].iloc[1:].isna().all()
    assert result["prep_measurement_id"].tolist() == [1, 2, 3]


def test_non_numeric_input_column_is_named():
    with pytest.raises(ValueError, match="'particles_per_ml'"):
        metrics_of(prep(particles_per_ml="lots"))


def test_lipoprotein_readout_must_be_true_not_merely_present():
    result = metrics_of(
        prep(biofluid="blood_plasma", particles_per_ml=1e12, protein_ug_per_ml=1.0, lipoprotein_readout="yes")
    )
    assert result["purity_class"].iloc[0] == NOT_INTERPRETABLE
