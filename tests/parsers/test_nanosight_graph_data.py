"""The NanoSight parser reads graph data whole (nanosight_rows.GraphRows, text.number_column); what it reads must
equal the row-by-row reading, for NTA's full-size export and for graph data that needs the row-by-row path."""

import pytest

from evlims.instruments.parsers import nanosight, parse_bytes
from evlims.instruments.parsers.errors import ParseError
from evlims.instruments.parsers.text import number_column
from tests.fixtures.instruments import NANOSIGHT_FULL, instrument_bytes
from tests.fixtures.instruments.make_synthetic import nta33_full


def _row_by_row(monkeypatch, data: bytes):
    monkeypatch.setattr(nanosight, "read_export_rows", lambda text, delimiter: None)
    try:
        return parse_bytes(data, "nanosight")
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("data", [nta33_full(full_size=True), instrument_bytes(NANOSIGHT_FULL)], ids=["300kB", "22kB"])
def test_whole_column_reading_equals_row_by_row(monkeypatch, data):
    fast = parse_bytes(data, "nanosight")
    slow = _row_by_row(monkeypatch, data)
    assert fast.to_dict() == slow.to_dict()
    assert len(fast.samples[0].histogram.bin_center_nm) == (1700 if len(data) > 100_000 else 50)


def test_graph_data_with_spaces_or_a_decimal_oddity_reads_as_row_by_row(monkeypatch):
    text = instrument_bytes(NANOSIGHT_FULL).decode("cp1252")
    spaced = text.replace("\n15.0,", "\n15.0 ,", 1).replace("\n25.0,", "\n 25.0,", 1)
    data = spaced.encode("cp1252")
    fast = parse_bytes(data, "nanosight")
    assert fast.to_dict() == _row_by_row(monkeypatch, data).to_dict()
    assert 15.0 in fast.samples[0].histogram.bin_center_nm and 25.0 in fast.samples[0].histogram.bin_center_nm


def test_a_bad_graph_cell_is_named_as_before(monkeypatch):
    text = instrument_bytes(NANOSIGHT_FULL).decode("cp1252")
    start = text.index("\n35.0,") + 1
    end = text.index(",", start + 5)
    data = (text[: end + 1] + "abc" + text[text.index(",", end + 1) :]).encode("cp1252")
    with pytest.raises(ParseError) as fast:
        parse_bytes(data, "nanosight")
    monkeypatch.setattr(nanosight, "read_export_rows", lambda text, delimiter: None)
    with pytest.raises(ParseError) as slow:
        parse_bytes(data, "nanosight")
    assert str(fast.value) == str(slow.value)
    assert "35.0" in str(fast.value)


def test_number_column_reads_plain_numbers_and_refuses_the_rest_at_once():
    assert number_column(["1", "2.5", "-3e2", ".5"]) == [1.0, 2.5, -300.0, 0.5]
    assert number_column(["1", " 2"]) is None
    assert number_column(["1", ""]) is None
    assert number_column(["1", "1e999"]) is None
    assert number_column(["1,5"], ",") is None
    # Numbers that a looser pattern could split in many ways, then a failure: answered without backtracking.
    assert number_column(["1234567890" * 3] * 60 + ["x"]) is None
