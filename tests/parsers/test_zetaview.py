"""ZetaView size-distribution .txt: 8.05 decimal-comma exports (in-repo, and the real one when present) and a
crafted 8.06 variant."""

import re

import pytest

from evlims.instruments.parsers import ParseError, detect_format, parse_bytes
from tests.shared_samples import REAL_ZETAVIEW_SAMPLE1

from .conftest import ZETAVIEW, export_bytes, fixture_bytes

# ZetaView 8.05: decimal comma, Latin-1, CRLF, dilution 5000 recorded in the header, Sample: left empty.
EXPORTS_805 = [
    pytest.param(
        "repo",
        ZETAVIEW,
        {
            "name": "20240611_0005",
            "rows": 100,
            "concentration": 7.331186e7,
            "d50": 111.166667,
            "mode": 97.5,
            "probe": (7, 37.5, 3.912e4),
            "last_bin": 497.5,
            "serial": "19-207",
            "measured_at": "2024-06-11T14:22:47",
            "traces": 1874,
        },
        id="in-repo",
    ),
    pytest.param(
        "shared",
        REAL_ZETAVIEW_SAMPLE1,
        {
            "name": "20230419_0002",
            "rows": 1200,
            "concentration": 8.61616e7,
            "d50": 99.147287,
            "mode": 97.5,
            "probe": (3, 17.5, 1.157e5),
            "last_bin": 5998.0,  # log bins after the -1 row are excluded
            "serial": "18-398",
            "measured_at": "2023-04-19T10:31:11",
            "traces": 2235,
        },
        id="real-Sample1",
    ),
]


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


@pytest.mark.parametrize(("origin", "relative", "expected"), EXPORTS_805)
def test_805_values_against_the_file(origin, relative, expected):
    data = export_bytes(origin, relative)
    assert b"\r\n" in data and b"\xb5s:" in data  # CRLF, Latin-1 'µs'
    assert detect_format(data) == "zetaview"
    result = parse_bytes(data)
    output = result.to_dict()
    assert output["software_version"] == "ZetaView (version 8.05.16 SP3)"
    [sample] = output["samples"]
    assert sample["name"] == expected["name"]  # Sample: is empty, so the Experiment name is used
    assert sample["dilution_factor"] == 5000.0
    assert sample["dilution_applied_in_file"] is False
    table = _linear_table(data)
    assert len(table) == expected["rows"]
    in_cell = sum(row[2] for row in table)
    [capture] = sample["captures"]
    assert capture["concentration_per_ml"] == pytest.approx(in_cell)
    assert capture["concentration_per_ml"] == pytest.approx(expected["concentration"])
    assert sample["concentration_per_ml"] == pytest.approx(in_cell * 5000)
    assert sample["instrument_average_concentration_per_ml"] is None
    assert capture["d50_nm"] == expected["d50"]  # Median Number (D50) as reported
    assert "d50_nm" not in capture["computed"]
    counts = [row[1] for row in table]
    mean = sum(row[0] * row[1] for row in table) / sum(counts)
    assert capture["size_mean_nm"] == pytest.approx(mean)
    assert capture["size_mode_nm"] == expected["mode"]
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
    assert len(histogram["bin_center_nm"]) == expected["rows"]
    index, centre, in_cell = expected["probe"]
    assert histogram["bin_center_nm"][index] == centre
    assert histogram["concentration_per_ml"][index] == pytest.approx(in_cell * 5000)
    assert histogram["bin_center_nm"][-1] == expected["last_bin"]  # log bins after the -1 row are excluded
    assert result.metadata["serial_number"] == expected["serial"]
    assert result.metadata["measured_at"] == expected["measured_at"]
    assert result.metadata["number_of_traces"] == expected["traces"]
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


ORIGINS_805 = [("repo", ZETAVIEW), ("shared", REAL_ZETAVIEW_SAMPLE1)]


@pytest.mark.parametrize(("origin", "relative"), ORIGINS_805)
def test_d50_disagreeing_with_the_histogram_is_warned_about(origin, relative):
    data = re.sub(rb"Median Number \(D50\):\t[\d,]+", b"Median Number (D50):\t250,0", export_bytes(origin, relative))
    result = parse_bytes(data)
    assert result.samples[0].captures[0].d50_nm == 250.0
    assert any("D50 computed" in warning for warning in result.warnings)


@pytest.mark.parametrize(("origin", "relative"), ORIGINS_805)
@pytest.mark.parametrize("marker", [b"-1,000E+0\t-1,000E+0", b"4,683E+0", b"Size / nm"])
def test_truncation_is_rejected(origin, relative, marker):
    data = export_bytes(origin, relative)
    with pytest.raises(ParseError, match="truncated"):
        parse_bytes(data[: data.index(marker)])


@pytest.mark.parametrize(("origin", "relative"), ORIGINS_805)
def test_truncation_in_the_zero_tail_of_the_log_histogram_is_rejected(origin, relative):
    data = export_bytes(origin, relative)
    with pytest.raises(ParseError, match="truncated"):
        parse_bytes(data[: data.rstrip().rindex(b"\n") + 1])


@pytest.mark.parametrize(("origin", "relative"), ORIGINS_805)
def test_bad_table_value_names_the_line(origin, relative):
    lines = export_bytes(origin, relative).split(b"\r\n")
    start = next(index for index, line in enumerate(lines) if line.startswith(b"Size / nm")) + 1
    index = next(index for index in range(start, len(lines)) if lines[index].split(b"\t")[1] != b"0,000E+0")
    cells = lines[index].split(b"\t")
    lines[index] = b"\t".join([cells[0], b"three", *cells[2:]])
    with pytest.raises(ParseError) as caught:
        parse_bytes(b"\r\n".join(lines))
    assert caught.value.line == index + 1
    assert "Size Distribution column 2" in str(caught.value)
