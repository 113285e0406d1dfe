"""Agilent BioTek Gen5 text exports and PerkinElmer EnVision CSV exports: every value the files print read back well
by well, the absorbance plate chosen by name or wavelength, and counts or calculated plates never read as
absorbance."""

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evlims.instruments.parsers import ParseError, detect_format, parse_bytes

PLATES = Path(__file__).resolve().parents[1] / "fixtures" / "instruments" / "plate-reader"
EXPECTED = json.loads((PLATES / "plate-exports-expected.json").read_text(encoding="utf-8"))
CASES = [(name, read) for name, sets in sorted(EXPECTED.items()) for read in sorted(sets)]
STANDARDS = {"A": 2000, "B": 1500, "C": 1000, "D": 750, "E": 500, "F": 250, "G": 125, "H": 0}
BCA_MAP = {
    "wells": {
        **{f"{row}1:{row}2": {"role": "standard", "ug_per_ml": ug} for row, ug in STANDARDS.items()},
        "A3:A4": {"role": "sample", "name": "EV 1"},
        "B3:B4": {"role": "sample", "name": "EV 2"},
    }
}


def data(name: str) -> bytes:
    return (PLATES / name).read_bytes()


@pytest.mark.parametrize(("name", "read"), CASES)
def test_every_printed_value_is_read_back(name, read):
    result = parse_bytes(data(name), read=read)
    wells = EXPECTED[name][read]
    assert result.plate.values == wells  # value by value, unread wells None
    assert sum(value is not None for value in wells.values()) >= 47  # D5 overflowed in one file
    assert result.metadata["read"] == read


def test_detected_from_the_content():
    formats = {name: detect_format(data(name)) for name in EXPECTED}
    assert formats == {name: name.split("-")[0] for name in EXPECTED}
    # EnSight's export also begins with 'Plate information'; it stays EnSight.
    assert detect_format(data("ensight-bca.csv")) == "ensight"


def test_gen5_values_as_printed_and_metadata():
    result = parse_bytes(data("gen5-bca-two-reads.txt"))  # one absorbance read: chosen without naming it
    assert result.format == "gen5" and result.software_version == "3.11.19"
    assert result.plate.wavelength_nm == 562 and result.plate.read_type == "Endpoint"
    assert (result.plate.value("A1"), result.plate.value("H12")) == (
        EXPECTED["gen5-bca-two-reads.txt"]["Read 1:562"]["A1"],
        None,
    )
    assert result.metadata["reader_type"] == "Synergy H1" and result.metadata["plate_number"] == "Plate 1"
    assert result.metadata["reader_serial_number"] == "21031715"
    assert result.metadata["temperature_c"] == 37.1
    assert b"\xb0C" in data("gen5-bca-two-reads.txt")  # the cp1252 degree sign in 'Setpoint 37°C'


def test_overflow_cells_are_no_reading_with_a_warning():
    gen5 = parse_bytes(data("gen5-bca-two-reads.txt"))
    assert gen5.plate.value("D5") is None
    assert gen5.warnings == ["Well D5: the reader reported 'OVRFLW' instead of a reading."]
    envision = parse_bytes(data("envision-384-decimal-comma.csv"))
    assert envision.plate.value("B7") is None and "Well B7" in envision.warnings[0]


def test_question_marks_are_no_reading_too():
    result = parse_bytes(data("gen5-bca-two-reads.txt").replace(b"OVRFLW", b"?????"))
    assert result.plate.value("D5") is None
    assert result.warnings == ["Well D5: the reader reported '?????' instead of a reading."]


def test_decimal_commas():
    raw = data("gen5-results-decimal-comma.txt")
    assert b"\t0," in raw or b"\t1," in raw
    value = parse_bytes(raw, read="562").plate.value("A1")
    assert value == EXPECTED["gen5-results-decimal-comma.txt"]["562"]["A1"] and 1 < value < 2.5
    envision = parse_bytes(data("envision-384-decimal-comma.csv"))
    assert envision.metadata["temperature_c"] == 22.68 and envision.metadata["measured_height_mm"] == 11.0


def test_384_wells():
    for name in ("gen5-384.txt", "envision-384-decimal-comma.csv"):
        plate = parse_bytes(data(name)).plate
        assert plate.rows == list("ABCDEFGHIJKLMNOP") and plate.columns == list(range(1, 25))
        assert len(plate.values) == 384


@pytest.mark.parametrize(
    ("name", "read", "refusal"),
    [
        ("gen5-bca-two-reads.txt", "Blank 562", "'Blank 562' (calculated by Gen5, not a reading) is not an absorbance"),
        ("gen5-bca-two-reads.txt", "Read 2:485/20,528/20", "(fluorescence, counts) is not an absorbance reading"),
        ("gen5-results-decimal-comma.txt", "Concentration", "'Concentration' (calculated by Gen5"),
        ("gen5-well-table.txt", "Blank 562", "'Blank 562' (calculated by Gen5, not a reading) is not an absorbance"),
        ("envision-bca.csv", "Calc 1", "'Calc 1' (calculated by EnVision, not a reading) is not an absorbance"),
        ("envision-bca.csv", "Luminescence (0.1s)(1)", "(luminescence or fluorescence, counts) is not an absorbance"),
        ("envision-bca.csv", "450", "no read '450' in the file"),
    ],
)
def test_a_counts_or_calculated_plate_is_never_read_as_absorbance(name, read, refusal):
    with pytest.raises(ParseError) as caught:
        parse_bytes(data(name), read=read)
    message = str(caught.value)
    assert refusal in message and caught.value.field == "read"
    assert "the file holds" in message  # and lists what is in it


def test_the_listing_names_every_data_set():
    with pytest.raises(ParseError) as caught:
        parse_bytes(data("envision-bca.csv"), read="Calc 1")
    assert str(caught.value).endswith(
        "the file holds 'Absorbance @ 562 (1.0s)' (absorbance at 562 nm); 'Luminescence (0.1s)(1)' (luminescence "
        "or fluorescence, counts); 'Calc 1' (calculated by EnVision, not a reading)"
    )


def test_two_absorbance_plates_need_a_name_and_a_wavelength_picks_one():
    with pytest.raises(ParseError, match="2 absorbance plates in the file; name the one to use"):
        parse_bytes(data("gen5-results-decimal-comma.txt"))
    assert parse_bytes(data("gen5-results-decimal-comma.txt"), read="660").plate.wavelength_nm == 660
    assert parse_bytes(data("envision-bca.csv"), read="562").metadata["read"] == "Absorbance @ 562 (1.0s)"


def test_a_multi_plate_gen5_export_names_its_plates():
    one = data("gen5-384.txt")
    two = one + b"\r\n" + one.replace(b"Plate Number\tPlate 1", b"Plate Number\tPlate 2")
    with pytest.raises(ParseError, match="'Plate 1 / 562' .*'Plate 2 / 562'"):
        parse_bytes(two)
    assert parse_bytes(two, read="Plate 2 / 562").metadata["plate_number"] == "Plate 2"


def test_only_counts_is_refused_with_the_listing():
    lum_only = data("envision-bca.csv").replace(b"Absorbance @ 562 (1.0s)", b"Luminescence (1.0s)")
    with pytest.raises(ParseError, match="no absorbance reading to quantify: the file holds"):
        parse_bytes(lum_only)


def test_the_standard_curve_path_is_the_same_as_softmax():
    for name, read in (("gen5-bca-two-reads.txt", None), ("envision-bca.csv", None), ("gen5-384.txt", None)):
        output = parse_bytes(data(name), read=read, plate_map=BCA_MAP, fit="quadratic").to_dict()
        assert output["standard_curve"]["r_squared"] > 0.99, name
        assert {sample["name"] for sample in output["samples"]} == {"EV 1", "EV 2"}
        assert all(sample["protein_ug_per_ml"] for sample in output["samples"])


def test_garbage_in_the_chosen_plate_names_the_well_and_line():
    broken = data("envision-bca.csv").replace(b"A,", b"A,oops", 1)
    with pytest.raises(ParseError) as caught:
        parse_bytes(broken)
    assert caught.value.field == "A1" and caught.value.line == 11


def test_truncated_files_are_refused():
    gen5 = data("gen5-384.txt")
    with pytest.raises(ParseError, match="not a plate geometry"):
        parse_bytes(gen5[: gen5.index(b"\nH\t")])
    envision = data("envision-bca.csv")
    with pytest.raises(ParseError, match="truncated"):
        parse_bytes(envision[: envision.index(b"Results")], format="envision")


def test_kinetic_gen5_reads_are_refused():
    kinetic = data("gen5-384.txt").replace(
        b"Read\tAbsorbance Endpoint", b"Start Kinetic\tRuntime 0:10:00\r\nRead\tAbsorbance Endpoint"
    )
    with pytest.raises(ParseError, match="kinetic"):
        parse_bytes(kinetic)


def test_the_read_option_belongs_to_these_formats_only():
    softmax = (PLATES / "softmax-bca.csv").read_bytes()
    with pytest.raises(ParseError, match="option 'read' does not apply to softmax"):
        parse_bytes(softmax, read="562")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_truncations_and_corruptions_raise_only_parse_errors(name):
    original = data(name)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.integers(min_value=1, max_value=len(original) - 1), st.integers(0, 255), st.booleans())
    def check(position, byte, corrupt):
        damaged = original[:position] + bytes([byte]) + original[position + 1 :] if corrupt else original[:position]
        for read in (None, *EXPECTED[name]):
            try:
                parse_bytes(damaged, read=read) if detect_format(damaged) in {"gen5", "envision"} else None
            except ParseError as error:
                assert "could not be read as" not in str(error), str(error)

    check()


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="\t,;\r\n0123456789.-ABCDH Read:Plate informationResultsWellCalc?OVRFLW", max_size=500))
def test_random_plate_like_text_raises_only_parse_errors(text):
    for head in ("Software Version\t3.1\nPlate Number\tPlate 1\n", "Plate information\nPlate,Repeat,Measinfo,Label\n"):
        try:
            parse_bytes((head + text).encode())
        except ParseError as error:
            assert "could not be read as" not in str(error), str(error)
