"""BCA plate evaluation: blank subtraction, standard-curve fits, interpolation and range flags."""

import json
from statistics import stdev

import pytest

from evlims.instruments.parsers import ParseError, PlateGrid, evaluate_plate, parse_bytes
from tests.shared_samples import REAL_SOFTMAX_BCA

from .conftest import ENSIGHT_BCA, FIXTURES, SOFTMAX_BCA, export_bytes, instrument_bytes

BLANK = 0.05
STANDARDS = {"A": 0, "B": 125, "C": 250, "D": 500, "E": 1000, "F": 2000}


def _grid(curve) -> PlateGrid:
    """A 96-well grid whose standards in columns 1-2 follow ``curve`` exactly; other wells 0."""
    values = {f"{row}{column}": 0.0 for row in "ABCDEFGH" for column in range(1, 13)}
    for row, concentration in STANDARDS.items():
        for column in (1, 2):
            values[f"{row}{column}"] = curve(concentration)
    values["G1"] = values["G2"] = BLANK
    return PlateGrid(list("ABCDEFGH"), list(range(1, 13)), values, 562.0, "Endpoint")


def _standards_map(**extra) -> dict:
    wells = {f"{row}1:{row}2": {"role": "standard", "ug_per_ml": c} for row, c in STANDARDS.items()}
    wells["G1:G2"] = {"role": "blank"}
    wells.update(extra)
    return {"wells": wells}


def linear_curve(concentration):
    return BLANK + 0.001 * concentration


def quadratic_curve(concentration):
    return BLANK + 0.0012 * concentration - 1.5e-7 * concentration**2


def test_linear_fit_recovers_known_concentrations():
    grid = _grid(linear_curve)
    grid.values.update({"A3": linear_curve(400), "A4": linear_curve(410), "B3": linear_curve(300)})
    plate_map = _standards_map(
        **{"A3:A4": {"role": "sample", "name": "EV1"}, "B3": {"role": "sample", "name": "EV2", "dilution_factor": 4}}
    )
    assay, warnings = evaluate_plate(grid, plate_map)
    curve = assay["standard_curve"]
    assert curve["model"] == "linear"
    assert curve["coefficients"] == [pytest.approx(0, abs=1e-12), pytest.approx(0.001)]
    assert curve["r_squared"] == pytest.approx(1.0)
    assert curve["range_ug_per_ml"] == [0, 2000]
    assert assay["blank"]["mean_absorbance"] == pytest.approx(BLANK)
    ev1, ev2 = assay["samples"]
    assert ev1["wells"] == ["A3", "A4"]
    assert ev1["protein_ug_per_ml"] == pytest.approx(405)
    assert ev1["cv_percent"] == pytest.approx(stdev([0.45, 0.46]) / 0.455 * 100)
    assert ev1["out_of_range"] is False and ev1["range_position"] == "within"
    assert ev2["protein_ug_per_ml"] == pytest.approx(1200)  # 300 in the well x dilution 4
    assert ev2["cv_percent"] is None
    assert warnings == []


def test_quadratic_fit_follows_bca_curvature_where_linear_does_not():
    grid = _grid(quadratic_curve)
    grid.values["A3"] = quadratic_curve(1500)
    plate_map = _standards_map(A3={"role": "sample", "name": "EV"})
    quadratic, _ = evaluate_plate(grid, plate_map, fit="quadratic")
    linear, _ = evaluate_plate(grid, plate_map, fit="linear")
    assert quadratic["standard_curve"]["coefficients"] == [
        pytest.approx(0, abs=1e-12),
        pytest.approx(0.0012),
        pytest.approx(-1.5e-7),
    ]
    assert quadratic["standard_curve"]["r_squared"] == pytest.approx(1.0)
    assert quadratic["samples"][0]["protein_ug_per_ml"] == pytest.approx(1500)
    assert linear["standard_curve"]["r_squared"] < 0.999
    assert abs(linear["samples"][0]["protein_ug_per_ml"] - 1500) > 20


def test_samples_outside_the_standards_are_flagged_not_extrapolated():
    grid = _grid(linear_curve)
    grid.values.update({"A3": linear_curve(2600), "B3": BLANK - 0.01})
    plate_map = _standards_map(A3={"role": "sample", "name": "high"}, B3={"role": "sample", "name": "low"})
    assay, warnings = evaluate_plate(grid, plate_map)
    high, low = assay["samples"]
    assert high["protein_ug_per_ml"] is None
    assert high["out_of_range"] is True and high["range_position"] == "above"
    assert high["absorbance"] == [pytest.approx(2.65)]
    assert high["blank_corrected_absorbance"] == pytest.approx(2.6)
    assert low["protein_ug_per_ml"] is None and low["range_position"] == "below"
    assert len(warnings) == 2 and "above the standard range" in warnings[0]


def test_zero_standard_serves_as_blank_when_no_blank_wells():
    grid = _grid(linear_curve)
    plate_map = _standards_map()
    del plate_map["wells"]["G1:G2"]
    assay, _ = evaluate_plate(grid, plate_map)
    assert assay["blank"]["source"] == "zero standard"
    assert assay["blank"]["wells"] == ["A1", "A2"]


def test_no_blank_at_all_is_warned():
    grid = _grid(linear_curve)
    wells = {f"{row}1": {"role": "standard", "ug_per_ml": c} for row, c in STANDARDS.items() if c}
    assay, warnings = evaluate_plate(grid, {"wells": wells})
    assert assay["blank"]["mean_absorbance"] == 0
    assert "not blank-corrected" in warnings[0]


@pytest.mark.parametrize(
    ("wells", "message"),
    [
        ({"A1:B1": {"role": "blank"}, "B1": {"role": "blank"}}, "B1 is assigned twice"),
        ({"A1": {"role": "control"}}, "role must be one of"),
        ({"A1": {"role": "standard"}}, "'ug_per_ml' must be a number"),
        ({"A1": {"role": "standard", "ug_per_ml": -1}}, "must be non-negative"),
        ({"A1": {"role": "sample"}}, "needs a 'name'"),
        ({"A1": {"role": "sample", "name": "x", "dilution_factor": 0}}, "must be positive"),
        ({"I1": {"role": "blank"}}, "not on this 8x12 plate"),
        ({"A1-A3": {"role": "blank"}}, "not a well or a range"),
        ({"A1": {"role": "blank", "ug_ml": 3}}, "unknown keys"),
        ({"A1": {"role": "standard", "ug_per_ml": 100}, "A2": {"role": "blank"}}, "at least 2 standard"),
    ],
)
def test_plate_map_errors_are_clear(wells, message):
    with pytest.raises(ParseError, match=message) as caught:
        evaluate_plate(_grid(linear_curve), {"wells": wells})
    assert caught.value.field == "plate_map"


def test_non_monotonic_curve_is_rejected():
    grid = _grid(lambda concentration: BLANK + 0.5 - abs(concentration - 1000) * 0.0004)
    with pytest.raises(ParseError, match="not monotonic"):
        evaluate_plate(grid, _standards_map(), fit="quadratic")


def test_unknown_fit_is_rejected():
    with pytest.raises(ParseError) as caught:
        evaluate_plate(_grid(linear_curve), _standards_map(), fit="4pl")
    assert caught.value.field == "fit"


@pytest.mark.parametrize(
    ("origin", "relative", "blanks", "top", "isolate_1"),
    [
        ("repo", SOFTMAX_BCA, [0.0755, 0.0837, 0.0886, 0.0796], [1.5292, 1.5306], [0.8108, 0.8122]),
        ("shared", REAL_SOFTMAX_BCA, [0.0849, 0.0827, 0.0837, 0.0808], [1.8381, 1.8886], [0.6007, 0.578]),
    ],
)
def test_softmax_bca_plate_with_plate_map(origin, relative, blanks, top, isolate_1):
    plate_map = json.loads((FIXTURES / "bca-plate-map.json").read_text())
    output = parse_bytes(export_bytes(origin, relative), plate_map=plate_map).to_dict()
    curve = output["standard_curve"]
    assert curve["model"] == "linear"
    assert curve["r_squared"] > 0.98
    blank = sum(blanks) / 4
    assert output["blank"]["mean_absorbance"] == pytest.approx(blank)
    point = curve["points"][-1]
    assert point["ug_per_ml"] == 2000 and point["absorbance"] == top
    samples = {sample["name"]: sample for sample in output["samples"]}
    isolate = samples["EV isolate 1"]
    expected = (sum(isolate_1) / 2 - blank - curve["coefficients"][0]) / curve["coefficients"][1]
    assert isolate["protein_ug_per_ml"] == pytest.approx(expected)
    assert samples["EV isolate 2"]["dilution_factor"] == 2
    assert samples["buffer only"]["out_of_range"] is True
    assert samples["buffer only"]["protein_ug_per_ml"] is None


def test_plate_map_naming_an_unread_well_is_rejected():
    plate_map = {"wells": {"A1": {"role": "standard", "ug_per_ml": 2000}, "A5": {"role": "blank"}}}
    with pytest.raises(ParseError, match="A5 .* no reading"):
        parse_bytes(instrument_bytes(ENSIGHT_BCA), plate_map=plate_map)


def test_fit_without_plate_map_is_rejected():
    with pytest.raises(ParseError) as caught:
        parse_bytes(instrument_bytes(SOFTMAX_BCA), fit="quadratic")
    assert caught.value.field == "fit"
