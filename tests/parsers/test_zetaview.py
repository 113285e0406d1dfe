"""ZetaView size-distribution .txt: the real decimal-comma export and a crafted 8.06 variant."""

import pytest

from evlims.instruments.parsers import ParseError, detect_format, parse_bytes

from .conftest import ZETAVIEW_SAMPLE1, fixture_bytes, shared_bytes


def _linear_table(data: bytes) -> list[list[float]]:
    """Independent reading of the linear histogram: rows after the table header up to the -1 row."""
    lines = data.decode("cp1252").splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("Size / nm")) + 1
    table = []
    for line in lines[start:]:
        values = [float(cell.replace(",", ".")) for cell in line.split("\t")]
        if values[0] == -1:
            break
        table.append(values)
    return table


def test_sample1_values_against_the_file():
    data = shared_bytes(ZETAVIEW_SAMPLE1)
    assert detect_format(data) == "zetaview"
    result = parse_bytes(data)
    output = result.to_dict()
    assert output["software_version"] == "ZetaView (version 8.05.16 SP3)"
    [sample] = output["samples"]
    assert sample["name"] == "20230419_0002"  # Sample: is empty, so the Experiment name is used
    assert sample["dilution_factor"] == 5000.0
    assert sample["dilution_applied_in_file"] is False
    table = _linear_table(data)
    assert len(table) == 1200
    in_cell = sum(row[2] for row in table)
    [capture] = sample["captures"]
    assert capture["concentration_per_ml"] == pytest.approx(in_cell)
    assert capture["concentration_per_ml"] == pytest.approx(8.61616e7)
    assert sample["concentration_per_ml"] == pytest.approx(in_cell * 5000)
    assert sample["instrument_average_concentration_per_ml"] is None
    assert capture["d50_nm"] == 99.147287  # Median Number (D50) as reported
    assert "d50_nm" not in capture["computed"]
    counts = [row[1] for row in table]
    mean = sum(row[0] * row[1] for row in table) / sum(counts)
    assert capture["size_mean_nm"] == pytest.approx(mean)
    assert capture["size_mode_nm"] == 97.5
    assert capture["d10_nm"] < capture["d50_nm"] < capture["d90_nm"]
    assert set(capture["computed"]) == {
        "concentration_per_ml",
        "size_mean_nm",
        "size_mode_nm",
        "size_sd_nm",
        "d10_nm",
        "d90_nm",
    }
    histogram = sample["histogram"]
    assert len(histogram["bin_center_nm"]) == 1200
    assert histogram["bin_center_nm"][3] == 17.5
    assert histogram["concentration_per_ml"][3] == pytest.approx(1.157e5 * 5000)
    assert histogram["bin_center_nm"][-1] == 5998.0  # log bins after the -1 row are excluded
    assert result.metadata["serial_number"] == "18-398"
    assert result.metadata["measured_at"] == "2023-04-19T10:31:11"
    assert result.metadata["number_of_traces"] == 2235
    assert result.metadata["decimal_separator"] == ","
    assert output["warnings"] == []


def test_newer_version_key_names_and_decimal_point():
    result = parse_bytes(fixture_bytes("zetaview-8.06-decimal-point.txt"))
    [sample] = result.samples
    assert result.software_version == "ZetaView (version 8.06.01 SP1)"
    assert result.metadata["serial_number"] == "21-512"  # spelled 'ZetaVIEW S/N:' in this version
    assert result.metadata["concentration_correction_factor"] == 1.0
    assert sample.name == "exo_prep_7"
    assert sample.dilution_factor == 200.0
    [capture] = sample.captures
    assert capture.concentration_per_ml == pytest.approx(1.0e6)
    assert sample.concentration_per_ml == pytest.approx(2.0e8)
    # No Median Number (D50) in this file: every statistic is computed from the histogram.
    assert (capture.size_mean_nm, capture.size_mode_nm) == (pytest.approx(22.5), 22.5)
    assert capture.size_sd_nm == pytest.approx(30**0.5)
    assert (capture.d10_nm, capture.d50_nm, capture.d90_nm) == (
        pytest.approx(15.0),
        pytest.approx(22.5),
        pytest.approx(30.0),
    )
    assert "d50_nm" in capture.computed


def test_supplied_dilution_replaces_the_file_value_with_a_warning():
    result = parse_bytes(fixture_bytes("zetaview-8.06-decimal-point.txt"), dilution_factor=1000)
    assert result.samples[0].dilution_factor == 1000
    assert result.samples[0].concentration_per_ml == pytest.approx(1.0e9)
    assert any("replaces" in warning for warning in result.warnings)


def test_missing_dilution_is_reported_not_assumed():
    data = fixture_bytes("zetaview-8.06-decimal-point.txt").replace(b"\tDilution::\t200.000000", b"")
    result = parse_bytes(data)
    assert result.samples[0].dilution_factor is None
    assert result.samples[0].concentration_per_ml == pytest.approx(1.0e6)
    assert any("no dilution factor" in warning for warning in result.warnings)


def test_d50_disagreeing_with_the_histogram_is_warned_about():
    data = shared_bytes(ZETAVIEW_SAMPLE1).replace(b"Median Number (D50):\t99,147287", b"Median Number (D50):\t150,0")
    result = parse_bytes(data)
    assert result.samples[0].captures[0].d50_nm == 150.0
    assert any("D50 computed" in warning for warning in result.warnings)


@pytest.mark.parametrize("marker", [b"-1,000E+0\t-1,000E+0", b"4,683E+0", b"Size / nm"])
def test_truncation_is_rejected(marker):
    data = shared_bytes(ZETAVIEW_SAMPLE1)
    with pytest.raises(ParseError, match="truncated"):
        parse_bytes(data[: data.index(marker)])


def test_truncation_in_the_zero_tail_of_the_log_histogram_is_rejected():
    data = shared_bytes(ZETAVIEW_SAMPLE1)
    with pytest.raises(ParseError, match="truncated"):
        parse_bytes(data[: data.rindex(b"5,812E+3")])


def test_bad_table_value_names_the_line():
    data = shared_bytes(ZETAVIEW_SAMPLE1).replace(b"1,750E+1\t3,000E+0", b"1,750E+1\tthree")
    with pytest.raises(ParseError) as caught:
        parse_bytes(data)
    assert caught.value.line == 81
    assert "Size Distribution column 2" in str(caught.value)
