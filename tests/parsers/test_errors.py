"""Bad input of every kind ends in a ParseError with a clear message, never another exception."""

import codecs

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evlims.instruments.parsers import DEFAULT_MAX_BYTES, ParseError, detect_format, parse_bytes

from .conftest import ALL_EXPORTS, NANOSIGHT_BEADS_DILUTED, NANOSIGHT_FULL, export_bytes, fixture_bytes

# The registry turns unexpected exceptions into ParseError with this wording; a fuzz case that
# reaches it is a parser bug, not a clean rejection.
SAFETY_NET = "could not be read as"


def _parse_or_reject(data: bytes):
    try:
        return parse_bytes(data)
    except ParseError as error:
        assert SAFETY_NET not in str(error), str(error)
        assert str(error)
        return error


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.csv", "empty"),
        ("binary.bin", "binary"),
        ("wrong-format.csv", "unrecognised file"),
    ],
)
def test_broken_fixture_files(name, message):
    with pytest.raises(ParseError, match=message):
        parse_bytes(fixture_bytes(name))
    with pytest.raises(ParseError, match=message):
        detect_format(fixture_bytes(name))


def test_input_larger_than_the_limit_is_rejected():
    data = fixture_bytes("nanosight-failed-capture.csv")
    with pytest.raises(ParseError, match="larger than the limit of 1000 bytes"):
        parse_bytes(data, max_bytes=1000)
    assert DEFAULT_MAX_BYTES == 50 * 1024 * 1024
    with pytest.raises(ParseError, match="larger than the limit"):
        parse_bytes(b"a" * (DEFAULT_MAX_BYTES + 1))


def test_utf16_without_bom_is_rejected_naming_the_encoding():
    text = fixture_bytes("nanosight-failed-capture.csv").decode()
    for codec in ("utf-16-le", "utf-16-be"):
        with pytest.raises(ParseError, match="UTF-16 text without a byte-order mark"):
            parse_bytes(text.encode(codec))


def test_utf16_with_bom_is_read():
    text = fixture_bytes("nanosight-failed-capture.csv").decode()
    assert parse_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le")).format == "nanosight"


def test_invalid_utf8_after_a_utf8_bom_is_rejected():
    data = codecs.BOM_UTF8 + fixture_bytes("nanosight-failed-capture.csv").replace(b"PBS", b"PB\xb2")
    with pytest.raises(ParseError, match="UTF-8"):
        parse_bytes(data)


def test_non_bytes_input_is_rejected():
    with pytest.raises(ParseError, match="expected bytes"):
        parse_bytes("NTA Experiment Summary File")


def test_forcing_the_wrong_format_is_a_parse_error():
    with pytest.raises(ParseError, match="not a ZetaView export"):
        parse_bytes(fixture_bytes("nanosight-failed-capture.csv"), "zetaview")
    with pytest.raises(ParseError, match="not a NanoSight"):
        parse_bytes(fixture_bytes("zetaview-8.06-decimal-point.txt"), "nanosight")
    with pytest.raises(ParseError, match="not a SoftMax"):
        parse_bytes(fixture_bytes("nanosight-failed-capture.csv"), "softmax")
    with pytest.raises(ParseError, match="not an EnSight"):
        parse_bytes(fixture_bytes("nanosight-failed-capture.csv"), "ensight")


def test_unknown_format_and_option_name_the_field():
    with pytest.raises(ParseError) as caught:
        parse_bytes(fixture_bytes("nanosight-failed-capture.csv"), "fcs")
    assert caught.value.field == "format"
    with pytest.raises(ParseError, match="does not apply to nanosight") as caught:
        parse_bytes(fixture_bytes("nanosight-failed-capture.csv"), plate_map={})
    assert caught.value.field == "plate_map"


def test_damaged_workbook_is_rejected():
    with pytest.raises(ParseError, match="Excel workbook"):
        parse_bytes(b"PK\x03\x04" + b"\x00garbage" * 20)


def test_error_message_names_line_and_field():
    error = ParseError("expected a number", line=12, field="Concentration")
    assert str(error) == "line 12, field 'Concentration': expected a number"
    assert (error.line, error.field, error.reason) == (12, "Concentration", "expected a number")
    assert str(ParseError("plain")) == "plain"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise_anything_but_parse_error(data):
    _parse_or_reject(data)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=",;\t\r\n0123456789.-eE[]:ABCabc NTA", max_size=400))
def test_random_csv_like_text_never_raises_anything_but_parse_error(text):
    _parse_or_reject(("NTA Experiment Summary File\n" + text).encode())
    _parse_or_reject(("##BLOCKS= 1\n" + text).encode())
    _parse_or_reject(("Plate information\n" + text).encode())
    _parse_or_reject(("Original File:\tx\nZetaView S/N:\t1\n" + text).encode())


@pytest.mark.parametrize(("origin", "relative"), ALL_EXPORTS)
def test_truncations_and_corruptions_of_whole_exports(origin, relative):
    original = export_bytes(origin, relative)
    # A cut inside the final line can leave a complete-looking row; earlier cuts must be caught.
    last_line_start = original.rstrip().rfind(b"\n") + 1

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.integers(min_value=1, max_value=len(original) - 1), st.integers(0, 255), st.booleans())
    def check(position, byte, corrupt):
        data = original[:position] + bytes([byte]) + original[position + 1 :] if corrupt else original[:position]
        outcome = _parse_or_reject(data)
        detectable = not corrupt and position < last_line_start and relative.startswith(("nanosight", "zeta"))
        if detectable and not isinstance(outcome, ParseError):
            pytest.fail(f"truncation at byte {position} of {relative} was accepted")

    check()


def test_truncated_nanosight_file_halfway_is_rejected():
    data = export_bytes("repo", NANOSIGHT_BEADS_DILUTED)
    with pytest.raises(ParseError, match="truncated"):
        parse_bytes(data[: len(data) // 2])


def test_a_cut_inside_the_last_percentile_row_is_caught():
    """The 100th-percentile row is the last data of a full export; a cut inside it leaves a shorter row or a
    shortened number (1840.0 → 18), which percentiles that fall are caught as truncation. A cut that leaves
    every number whole (after "1840." say) loses nothing and still reads."""
    original = export_bytes("repo", NANOSIGHT_FULL)
    start = original.rfind(b"\n100,") + 1
    end = original.index(b"\n", start)
    full_row = original[start:end].decode("ascii").split(",")
    for position in range(start + len("100,"), end):
        cut = original[start:position].decode("ascii").split(",")
        loses_a_value = len([c for c in cut if c]) < len([c for c in full_row if c]) or any(
            float(c) != float(full_row[i]) for i, c in enumerate(cut) if c and c != "100"
        )
        outcome = _parse_or_reject(original[:position])
        if loses_a_value:
            assert isinstance(outcome, ParseError), f"cut at byte {position} ({cut}) was accepted"
        else:
            assert not isinstance(outcome, ParseError), f"cut at byte {position} ({cut}) was refused: {outcome}"
