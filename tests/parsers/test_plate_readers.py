"""SoftMax Pro and EnSight plate exports (in-repo, and the real ones when present) read into a plate grid of raw
absorbances."""

import pytest

from evlims.instruments.parsers import ParseError, detect_format, parse_bytes
from tests.shared_samples import REAL_ENSIGHT_BCA, REAL_SOFTMAX_BCA

from .conftest import ENSIGHT_BCA, SOFTMAX_BCA, export_bytes

SOFTMAX = [("repo", SOFTMAX_BCA), ("shared", REAL_SOFTMAX_BCA)]
ENSIGHT = [("repo", ENSIGHT_BCA), ("shared", REAL_ENSIGHT_BCA)]
# (A1, B1, H12, G5, B2 as written, temperature, file note) of each SoftMax export.
SOFTMAX_VALUES = {
    SOFTMAX_BCA: (1.5292, 0.9008, 0.0306, 0.9527, b"0.9185", 25.8, "bca_run_0314"),
    REAL_SOFTMAX_BCA: (1.8381, 1.092, 0.0318, 0.0315, b"1.0612", 30.5, "bca20170611"),
}
# (A1, H4, serial number, protocol name, screen started) of each EnSight export.
ENSIGHT_VALUES = {
    ENSIGHT_BCA: (
        1.5291857977299264,
        0.8124455592039788,
        "2210457",
        "Micro BCA 562",
        "2024-03-14T09:41:07.1834406+01:00",
    ),
    REAL_ENSIGHT_BCA: (
        1.9093049050937685,
        0.0428701968724642,
        "1412121",
        "BCA assay",
        "2018-01-22T12:15:38.4649042-05:00",
    ),
}


@pytest.mark.parametrize(("origin", "relative"), SOFTMAX)
def test_softmax_grid_against_the_file(origin, relative):
    a1, b1, h12, g5, _, temperature, note = SOFTMAX_VALUES[relative]
    data = export_bytes(origin, relative)
    assert b"\n" not in data and b"Temperature(\xc1C)" in data  # CR-only lines, the legacy degree byte
    assert detect_format(data) == "softmax"
    result = parse_bytes(data)
    output = result.to_dict()
    assert set(output) == {"format", "software_version", "plate", "metadata", "warnings"}
    assert output["software_version"] is None  # SoftMax plate exports do not state it
    plate = output["plate"]
    assert plate["rows"] == list("ABCDEFGH") and plate["columns"] == list(range(1, 13))
    assert plate["wavelength_nm"] == 562 and plate["read_type"] == "Endpoint"
    assert len(plate["absorbance"]) == 96
    assert (plate["absorbance"]["A1"], plate["absorbance"]["B1"], plate["absorbance"]["H12"]) == (a1, b1, h12)
    assert plate["absorbance"]["G5"] == g5
    assert result.metadata["temperature_c"] == temperature
    assert result.metadata["plate_name"] == "Plate1"
    assert note in result.metadata["file_note"]


@pytest.mark.parametrize(("origin", "relative"), ENSIGHT)
def test_ensight_grid_against_the_file(origin, relative):
    a1, h4, serial, protocol, started = ENSIGHT_VALUES[relative]
    data = export_bytes(origin, relative)
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data and b"Results for\xc2\xa0ABS mono" in data
    assert detect_format(data) == "ensight"
    result = parse_bytes(data)
    assert result.software_version == "1.0"
    assert result.plate.wavelength_nm == 562
    assert result.plate.value("A1") == a1
    assert result.plate.value("H4") == h4
    assert result.plate.value("A5") is None  # not read
    assert sum(value is not None for value in result.plate.values.values()) == 32
    assert result.metadata["instrument_serial_number"] == serial
    assert result.metadata["protocol_name"] == protocol
    assert result.metadata["screen_started"] == started
    assert result.metadata["technique"] == "ABS mono"


@pytest.mark.parametrize(("origin", "relative"), SOFTMAX)
def test_softmax_without_end_marker_is_truncated(origin, relative):
    data = export_bytes(origin, relative)
    with pytest.raises(ParseError, match="truncated"):
        parse_bytes(data[: data.index(b"~End")])


@pytest.mark.parametrize(("origin", "relative"), SOFTMAX)
def test_softmax_with_missing_rows_is_rejected(origin, relative):
    data = export_bytes(origin, relative)
    lines = data.split(b"\r")
    shortened = b"\r".join(lines[:8] + lines[11:])
    with pytest.raises(ParseError, match="found 5 plate rows but the Plate: row announces 8$"):
        parse_bytes(shortened)


@pytest.mark.parametrize(("origin", "relative"), SOFTMAX)
def test_softmax_several_blocks_are_rejected(origin, relative):
    data = export_bytes(origin, relative).replace(b"##BLOCKS= 1", b"##BLOCKS= 2")
    with pytest.raises(ParseError, match="2 blocks") as caught:
        parse_bytes(data)
    assert caught.value.line == 1


@pytest.mark.parametrize(("origin", "relative"), SOFTMAX)
def test_softmax_several_wavelengths_are_rejected(origin, relative):
    data = export_bytes(origin, relative).replace(b",,1,562,1,12,96", b",,2,562 660,1,12,96")
    with pytest.raises(ParseError, match="2 wavelengths"):
        parse_bytes(data)


@pytest.mark.parametrize(("origin", "relative"), SOFTMAX)
def test_softmax_kinetic_read_is_rejected(origin, relative):
    data = export_bytes(origin, relative).replace(b"PlateFormat,Endpoint", b"PlateFormat,Kinetic")
    with pytest.raises(ParseError, match="endpoint"):
        parse_bytes(data)


@pytest.mark.parametrize(("origin", "relative"), SOFTMAX)
def test_softmax_garbage_reading_names_the_well(origin, relative):
    data = export_bytes(origin, relative).replace(SOFTMAX_VALUES[relative][4], b"oops")
    with pytest.raises(ParseError) as caught:
        parse_bytes(data)
    assert caught.value.field == "B2"
    assert caught.value.line == 5


@pytest.mark.parametrize(("origin", "relative"), ENSIGHT)
def test_ensight_truncated_grid_is_rejected(origin, relative):
    data = export_bytes(origin, relative)
    with pytest.raises(ParseError, match="truncated"):
        parse_bytes(data[: data.index(b"\r\nE,")])


@pytest.mark.parametrize(("origin", "relative"), ENSIGHT)
def test_ensight_two_result_grids_are_rejected(origin, relative):
    data = export_bytes(origin, relative)
    doubled = data.replace(b"Analysis Result", b"Results for\xc2\xa0ABS mono\r\nAnalysis Result")
    with pytest.raises(ParseError, match="2 result grids"):
        parse_bytes(doubled)


@pytest.mark.parametrize(("origin", "relative"), ENSIGHT)
def test_ensight_plate_type_mismatch_is_rejected(origin, relative):
    data = export_bytes(origin, relative).replace(b"Number of rows:,,8", b"Number of rows:,,16")
    with pytest.raises(ParseError, match="plate type says 16x12"):
        parse_bytes(data)
