"""NanoSight ExperimentSummary.csv: whole exports checked value by value (the in-repo ones always, the real ones
when present), plus crafted variants."""

import pytest

from evlims.instruments.parsers import ParseError, detect_format, parse_bytes
from tests.shared_samples import REAL_NANOSIGHT_EMT1, REAL_NANOSIGHT_HOT1A3

from .conftest import (
    NANOSIGHT_BEADS_COMBINED,
    NANOSIGHT_BEADS_DILUTED,
    NANOSIGHT_FULL,
    NANOSIGHT_LOW_COUNT,
    export_bytes,
    fixture_bytes,
    instrument_bytes,
)

OUTPUT_KEYS = {
    "name",
    "dilution_factor",
    "dilution_applied_in_file",
    "concentration_per_ml",
    "instrument_average_concentration_per_ml",
    "captures",
    "histogram",
    "computed",
    "settings",
}
CAPTURE_KEYS = {
    "name",
    "concentration_per_ml",
    "valid",
    "invalid_reason",
    "size_mean_nm",
    "size_mode_nm",
    "size_sd_nm",
    "d10_nm",
    "d50_nm",
    "d90_nm",
    "computed",
}


# NTA 3.3, five captures, all six distributions, cp1252 ² and ³, LF, dilution "Not recorded".
FULL_EXPORTS = [
    pytest.param(
        "repo",
        NANOSIGHT_FULL,
        {
            "name": "d200",
            "concentrations": [3.12e08, 2.95e08, 3.41e08, 3.05e08, 2.88e08],
            "first_capture": "SEC7 d200 2024-03-12 10-15-52",
            "mean_mode_sd": (88.4, 75.0, 32.0),
            "d10_d50_d90": (52.2, 82.9, 131.0),
            "instrument_average": 3.08e08,
            "bins": (50, 5.0, 495.0),
            "probe_bin": "105.0",
        },
        id="in-repo",
    ),
    pytest.param(
        "shared",
        REAL_NANOSIGHT_EMT1,
        {
            "name": "d200",
            "concentrations": [2.08e08, 2.47e08, 1.84e08, 2.19e08, 2.20e08],
            "first_capture": "EMT1 d200 2021-04-01 15-43-10",
            # Number-weighted block, not the surface-area (161.7) or diffusion (651.7) blocks below it.
            "mean_mode_sd": (92.0, 61.5, 48.9),
            "d10_d50_d90": (59.6, 72.7, 153.7),
            "instrument_average": 2.16e08,
            "bins": (1000, 0.5, 999.5),
            "probe_bin": "100.5",
        },
        id="real-EMT1",
    ),
]
# NTA 3.4, four captures, number weighting only, very low counts the instrument warns about.
LOW_COUNT_EXPORTS = [
    pytest.param("repo", NANOSIGHT_LOW_COUNT, ([2.33e06, 1.94e06, 2.06e06, 2.52e06], 185.9, 2.21e06), id="in-repo"),
    pytest.param(
        "shared", REAL_NANOSIGHT_HOT1A3, ([1.69e06, 1.50e06, 1.51e06, 1.80e06], 187.8, 1.62e06), id="real-HOT1A3"
    ),
]


@pytest.mark.parametrize(("origin", "relative", "expected"), FULL_EXPORTS)
def test_full_export_values_and_shape(origin, relative, expected):
    data = export_bytes(origin, relative)
    assert b"nm\xb2 / ml" in data and b"nm\xb3 / ml" in data and b"\r\n" not in data
    assert detect_format(data) == "nanosight"
    result = parse_bytes(data).to_dict()
    assert set(result) == {"format", "software_version", "acquired_at", "samples", "warnings"}
    assert result["format"] == "nanosight"
    assert result["software_version"] == "NTA 3.3 - Sample Assistant Dev Build 3.3.203"
    [sample] = result["samples"]
    assert set(sample) == OUTPUT_KEYS
    assert sample["name"] == expected["name"]
    concentrations = expected["concentrations"]
    assert [capture["concentration_per_ml"] for capture in sample["captures"]] == concentrations
    first = sample["captures"][0]
    assert set(first) == CAPTURE_KEYS
    assert first["name"] == expected["first_capture"]
    assert (first["size_mean_nm"], first["size_mode_nm"], first["size_sd_nm"]) == expected["mean_mode_sd"]
    assert (first["d10_nm"], first["d50_nm"], first["d90_nm"]) == expected["d10_d50_d90"]
    assert first["computed"] == []
    assert sample["instrument_average_concentration_per_ml"] == expected["instrument_average"]
    assert sample["concentration_per_ml"] == pytest.approx(sum(concentrations) / len(concentrations))
    assert sample["dilution_factor"] is None
    assert sample["dilution_applied_in_file"] is False
    histogram = sample["histogram"]
    count, first_bin, last_bin = expected["bins"]
    assert len(histogram["bin_center_nm"]) == count
    assert histogram["bin_center_nm"][0] == first_bin and histogram["bin_center_nm"][-1] == last_bin
    assert any("Not recorded" in warning for warning in result["warnings"])


@pytest.mark.parametrize(("origin", "relative", "expected"), FULL_EXPORTS)
def test_full_export_histogram_is_the_instrument_average_column(origin, relative, expected):
    data = export_bytes(origin, relative)
    sample = parse_bytes(data).to_dict()["samples"][0]
    lines = data.decode("cp1252").splitlines()
    size_header = next(index for index, line in enumerate(lines) if line.startswith("Bin centre (nm)"))
    probe = next(line.split(",") for line in lines[size_header:] if line.startswith(expected["probe_bin"] + ","))
    position = sample["histogram"]["bin_center_nm"].index(float(probe[0]))
    assert sample["histogram"]["concentration_per_ml"][position] == float(probe[6])
    assert "histogram" not in sample["computed"]


@pytest.mark.parametrize(("origin", "relative", "expected"), LOW_COUNT_EXPORTS)
def test_low_count_captures_the_instrument_rates_unreliable_are_invalid(origin, relative, expected):
    concentrations, first_mean, instrument_average = expected
    result = parse_bytes(export_bytes(origin, relative)).to_dict()
    assert result["software_version"] == "NTA 3.4 Build 3.4.003"
    [sample] = result["samples"]
    assert [c["concentration_per_ml"] for c in sample["captures"]] == concentrations
    # "Validity of concentration measurement: Unreliable" for every capture: all invalid, with the file's word,
    # so no mean is reported (the instrument's own average stays on record).
    assert [(c["valid"], c["invalid_reason"]) for c in sample["captures"]] == [(False, "Unreliable (instrument)")] * 4
    assert sample["concentration_per_ml"] is None
    assert sample["captures"][0]["size_mean_nm"] == first_mean
    assert sample["instrument_average_concentration_per_ml"] == instrument_average
    assert sum("Unreliable" in warning for warning in result["warnings"]) == 4
    assert sum("Too Low" in warning for warning in result["warnings"]) == 4
    assert any("High noise" in warning for warning in result["warnings"])


def test_beads2_recorded_dilution_is_already_applied():
    result = parse_bytes(instrument_bytes(NANOSIGHT_BEADS_DILUTED)).to_dict()
    [sample] = result["samples"]
    assert sample["name"] == "100nmbeads"
    assert sample["dilution_factor"] == 1.0e04
    assert sample["dilution_applied_in_file"] is True
    assert sample["instrument_average_concentration_per_ml"] == 6.09e12
    # Not multiplied again: the row label says concentrations were adjusted for the factor.
    assert sample["concentration_per_ml"] == pytest.approx((5.91 + 6.05 + 6.01 + 6.25 + 6.24) / 5 * 1e12)
    assert sample["captures"][0]["size_mean_nm"] == 100.5
    assert not any("dilution" in warning.lower() for warning in result["warnings"])


def test_beads2_supplied_dilution_does_not_double_apply():
    result = parse_bytes(instrument_bytes(NANOSIGHT_BEADS_DILUTED), dilution_factor=50)
    sample = result.samples[0]
    assert sample.dilution_factor == 1.0e04
    assert sample.concentration_per_ml == pytest.approx(6.092e12)
    assert any("ignored" in warning for warning in result.warnings)


def test_combined_experiment_groups_captures_by_nano_file():
    result = parse_bytes(instrument_bytes(NANOSIGHT_BEADS_COMBINED))
    data = result.to_dict()
    assert data["software_version"] == "NTA 3.2 Dev Build 3.2.16"
    names = [sample["name"] for sample in data["samples"]]
    assert names == ["std_10000_yes_2", "std_10000_no_2", "std_10000_yes_1", "std_10000_no_1"]
    first = data["samples"][0]
    assert [capture["name"] for capture in first["captures"]] == [
        "std_10000_yes_2_00",
        "std_10000_yes_2_01",
        "std_10000_yes_2_02",
    ]
    # Re-saved by a spreadsheet: plain integers instead of 1.43e+09.
    assert [capture["concentration_per_ml"] for capture in first["captures"]] == [1.43e9, 1.28e9, 1.18e9]
    assert first["concentration_per_ml"] == pytest.approx((1.43e9 + 1.28e9 + 1.18e9) / 3)
    # The Average column spans all four samples, so it is not attributed to any of them.
    assert first["instrument_average_concentration_per_ml"] is None
    assert "histogram" in first["computed"]
    assert len(first["histogram"]["bin_center_nm"]) == 1000
    assert result.metadata["combined_experiment"] is True
    assert result.metadata["grouping"]["std_10000_no_1_02"] == "std_10000_no_1"
    assert any("confirm the grouping" in warning for warning in data["warnings"])


def test_combined_experiment_user_grouping_overrides():
    data = instrument_bytes(NANOSIGHT_BEADS_COMBINED)
    automatic = parse_bytes(data)
    grouping = {name: ("yes" if "_yes_" in name else "no") for name in automatic.metadata["grouping"]}
    result = parse_bytes(data, grouping=grouping, dilution_factor={"yes": 10000, "no": 10000})
    assert [sample.name for sample in result.samples] == ["yes", "no"]
    yes = result.samples[0]
    assert len(yes.captures) == 6
    assert yes.dilution_factor == 10000 and yes.dilution_applied_in_file is False
    measured = (1.43e9 + 1.28e9 + 1.18e9 + 1.30e9 + 1.36e9 + 1.18e9) / 6
    assert yes.concentration_per_ml == pytest.approx(measured * 10000)


def test_grouping_must_cover_every_capture():
    data = instrument_bytes(NANOSIGHT_BEADS_COMBINED)
    with pytest.raises(ParseError, match="std_10000_no_1_02"):
        parse_bytes(data, grouping={"std_10000_yes_2_00": "a"})


def test_failed_capture_is_flagged_and_excluded_but_instrument_average_kept():
    result = parse_bytes(fixture_bytes("nanosight-failed-capture.csv"))
    [sample] = result.samples
    assert [capture.valid for capture in sample.captures] == [True, True, False]
    assert sample.instrument_average_concentration_per_ml == 1.13e08
    assert sample.concentration_per_ml == pytest.approx(1.70e08)
    assert sample.computed == ["concentration_per_ml", "histogram"]
    # Histogram recomputed from the two valid captures (the file's average column divides by three).
    position = sample.histogram.bin_center_nm.index(100.5)
    assert sample.histogram.concentration_per_ml[position] == pytest.approx((8.0e6 + 9.0e6) / 2)
    assert any("'ev_prep_02' failed" in warning for warning in result.warnings)
    assert result.metadata["time_captured"] == "2024-05-02T09:10:11"


def test_supplied_dilution_scales_concentration_and_histogram():
    result = parse_bytes(fixture_bytes("nanosight-failed-capture.csv"), dilution_factor=200)
    sample = result.samples[0]
    assert sample.dilution_factor == 200 and sample.dilution_applied_in_file is False
    assert sample.concentration_per_ml == pytest.approx(1.70e08 * 200)
    position = sample.histogram.bin_center_nm.index(100.5)
    assert sample.histogram.concentration_per_ml[position] == pytest.approx(8.5e6 * 200)
    assert sample.captures[0].concentration_per_ml == 1.60e08


@pytest.mark.parametrize("bad_factor", [0, -5, "ten", True])
def test_bad_supplied_dilution_is_rejected(bad_factor):
    with pytest.raises(ParseError) as caught:
        parse_bytes(fixture_bytes("nanosight-failed-capture.csv"), dilution_factor=bad_factor)
    assert caught.value.field == "dilution_factor"


def test_truncated_fixture_is_rejected():
    with pytest.raises(ParseError, match="truncated"):
        parse_bytes(fixture_bytes("nanosight-truncated.csv"))


@pytest.mark.parametrize(("origin", "relative"), [("repo", NANOSIGHT_FULL), ("shared", REAL_NANOSIGHT_EMT1)])
def test_truncation_inside_a_later_weighting_block_is_detected(origin, relative):
    data = export_bytes(origin, relative)
    cut = data.index(b"Weighting,Volume")
    with pytest.raises(ParseError, match="truncated"):
        parse_bytes(data[:cut])


def test_non_numeric_concentration_names_line_and_field():
    text = fixture_bytes("nanosight-failed-capture.csv").replace(b"1.60e+08", b"lots")
    with pytest.raises(ParseError) as caught:
        parse_bytes(text)
    line_number = next(number for number, line in enumerate(text.decode().splitlines(), 1) if "lots" in line)
    assert caught.value.line == line_number
    assert "Concentration" in caught.value.field
    assert f"line {line_number}" in str(caught.value)


def test_export_without_a_dilution_row_is_treated_as_not_recorded():
    lines = fixture_bytes("nanosight-failed-capture.csv").decode().split("\n")
    data = "\n".join(line for line in lines if not line.startswith("Dilution factor")).encode()
    sample = parse_bytes(data).samples[0]
    assert sample.dilution_factor is None and sample.dilution_applied_in_file is False
    assert sample.concentration_per_ml == pytest.approx(1.70e08)


def test_unreadable_dilution_cell_is_rejected():
    data = fixture_bytes("nanosight-failed-capture.csv")
    data = data.replace(b"Not recorded,Not recorded,Not", b"x,Not recorded,Not")
    with pytest.raises(ParseError, match="expected a number or 'Not recorded'") as caught:
        parse_bytes(data)
    assert caught.value.field == "Dilution factor"


def test_mixed_recorded_dilutions_within_a_sample_give_no_concentration():
    data = fixture_bytes("nanosight-failed-capture.csv").replace(
        b"Not recorded,Not recorded,Not recorded", b"1.00e+02,5.00e+02,5.00e+02"
    )
    result = parse_bytes(data)
    assert result.samples[0].concentration_per_ml is None
    assert any("different dilution factors" in warning for warning in result.warnings)
