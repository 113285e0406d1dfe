"""SoftMax Pro and EnSight plate exports read into a plate grid of raw absorbances."""

import pytest

from evlims.instruments.parsers import ParseError, detect_format, parse_bytes

from .conftest import ENSIGHT_BCA, SOFTMAX_BCA, shared_bytes


def test_softmax_grid_against_the_file():
    data = shared_bytes(SOFTMAX_BCA)
    assert detect_format(data) == "softmax"
    result = parse_bytes(data)
    output = result.to_dict()
    assert set(output) == {"format", "software_version", "plate", "metadata", "warnings"}
    assert output["software_version"] is None  # SoftMax plate exports do not state it
    plate = output["plate"]
    assert plate["rows"] == list("ABCDEFGH") and plate["columns"] == list(range(1, 13))
    assert plate["wavelength_nm"] == 562 and plate["read_type"] == "Endpoint"
    assert len(plate["absorbance"]) == 96
    assert (plate["absorbance"]["A1"], plate["absorbance"]["B1"], plate["absorbance"]["H12"]) == (
        1.8381,
        1.092,
        0.0318,
    )
    assert plate["absorbance"]["G5"] == 0.0315
    assert result.metadata["temperature_c"] == 30.5
    assert result.metadata["plate_name"] == "Plate1"
    assert "bca20170611" in result.metadata["file_note"]


def test_ensight_grid_against_the_file():
    data = shared_bytes(ENSIGHT_BCA)
    assert data.startswith(b"\xef\xbb\xbf")
    assert detect_format(data) == "ensight"
    result = parse_bytes(data)
    assert result.software_version == "1.0"
    assert result.plate.wavelength_nm == 562
    assert result.plate.value("A1") == 1.9093049050937685
    assert result.plate.value("H4") == 0.0428701968724642
    assert result.plate.value("A5") is None  # not read
    assert sum(value is not None for value in result.plate.values.values()) == 32
    assert result.metadata["instrument_serial_number"] == "1412121"
    assert result.metadata["protocol_name"] == "BCA assay"
    assert result.metadata["screen_started"] == "2018-01-22T12:15:38.4649042-05:00"
    assert result.metadata["technique"] == "ABS mono"


def test_softmax_without_end_marker_is_truncated():
    data = shared_bytes(SOFTMAX_BCA)
    with pytest.raises(ParseError, match="truncated"):
        parse_bytes(data[: data.index(b"~End")])


def test_softmax_with_missing_rows_is_rejected():
    data = shared_bytes(SOFTMAX_BCA)
    lines = data.split(b"\r")
    shortened = b"\r".join(lines[:8] + lines[11:])
    with pytest.raises(ParseError, match="found 5 plate rows but the Plate: row announces 8$"):
        parse_bytes(shortened)


def test_softmax_several_blocks_are_rejected():
    data = shared_bytes(SOFTMAX_BCA).replace(b"##BLOCKS= 1", b"##BLOCKS= 2")
    with pytest.raises(ParseError, match="2 blocks") as caught:
        parse_bytes(data)
    assert caught.value.line == 1


def test_softmax_several_wavelengths_are_rejected():
    data = shared_bytes(SOFTMAX_BCA).replace(b",,1,562,1,12,96", b",,2,562 660,1,12,96")
    with pytest.raises(ParseError, match="2 wavelengths"):
        parse_bytes(data)


def test_softmax_kinetic_read_is_rejected():
    data = shared_bytes(SOFTMAX_BCA).replace(b"PlateFormat,Endpoint", b"PlateFormat,Kinetic")
    with pytest.raises(ParseError, match="endpoint"):
        parse_bytes(data)


def test_softmax_garbage_reading_names_the_well():
    data = shared_bytes(SOFTMAX_BCA).replace(b"1.0612", b"oops")
    with pytest.raises(ParseError) as caught:
        parse_bytes(data)
    assert caught.value.field == "B2"
    assert caught.value.line == 5


def test_ensight_truncated_grid_is_rejected():
    data = shared_bytes(ENSIGHT_BCA)
    with pytest.raises(ParseError, match="truncated"):
        parse_bytes(data[: data.index(b"\r\nE,")])


def test_ensight_two_result_grids_are_rejected():
    data = shared_bytes(ENSIGHT_BCA)
    doubled = data.replace(b"Analysis Result", b"Results for\xc2\xa0ABS mono\r\nAnalysis Result")
    with pytest.raises(ParseError, match="2 result grids"):
        parse_bytes(doubled)


def test_ensight_plate_type_mismatch_is_rejected():
    data = shared_bytes(ENSIGHT_BCA).replace(b"Number of rows:,,8", b"Number of rows:,,16")
    with pytest.raises(ParseError, match="plate type says 16x12"):
        parse_bytes(data)
