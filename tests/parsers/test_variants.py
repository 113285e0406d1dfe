"""Every export (in-repo, and the real ones when present) parses to the same result after the transformations
files suffer in labs: re-encoding, other line endings, trailing delimiters, quoting spreadsheet re-saves, decimal commas
and Excel workbooks."""

import codecs
import csv
import io
import re

import pytest
from openpyxl import Workbook

from evlims.instruments.parsers import parse_bytes
from evlims.instruments.parsers.text import decode_text
from tests.shared_samples import REAL_SOFTMAX_BCA, REAL_ZETAVIEW_SAMPLE1

from .conftest import ALL_EXPORTS, NANOSIGHT_BEADS_DILUTED, SOFTMAX_BCA, ZETAVIEW, export_bytes, fixture_bytes


def _lines(data: bytes) -> list[str]:
    return re.split(r"\r\n|\r|\n", decode_text(data))


def _delimiter(relative: str) -> str:
    return "\t" if relative.startswith("zetaview") else ","


def reencode_cp1252(relative, data):
    return decode_text(data).encode("cp1252")


def reencode_utf8_bom(relative, data):
    return codecs.BOM_UTF8 + decode_text(data).encode("utf-8")


def reencode_utf8(relative, data):
    return decode_text(data).encode("utf-8")


def cr_only(relative, data):
    return "\r".join(_lines(data)).encode("utf-8")


def crlf(relative, data):
    return "\r\n".join(_lines(data)).encode("utf-8")


def lf(relative, data):
    return "\n".join(_lines(data)).encode("utf-8")


def trailing_delimiters(relative, data):
    return "\n".join(line + _delimiter(relative) * 2 for line in _lines(data)).encode("utf-8")


def quoted_resave(relative, data):
    delimiter = _delimiter(relative)
    output = io.StringIO()
    writer = csv.writer(output, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    for row in csv.reader(io.StringIO("\n".join(_lines(data))), delimiter=delimiter):
        writer.writerow(row)
    return output.getvalue().encode("utf-8")


NUMERIC_CELL = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
VARIANTS = [reencode_cp1252, reencode_utf8_bom, reencode_utf8, cr_only, crlf, lf, trailing_delimiters, quoted_resave]


@pytest.mark.parametrize(("origin", "relative"), ALL_EXPORTS)
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda variant: variant.__name__)
def test_variant_parses_identically(origin, relative, variant):
    original = export_bytes(origin, relative)
    assert parse_bytes(variant(relative, original)).to_dict() == parse_bytes(original).to_dict()


def test_nanosight_semicolon_decimal_comma_resave():
    original = export_bytes("repo", NANOSIGHT_BEADS_DILUTED)
    rows = csv.reader(io.StringIO("\n".join(_lines(original))))
    resaved = "\r\n".join(
        ";".join(re.sub(r"^(-?\d+)\.(\d+(e[+-]\d+)?)$", r"\1,\2", cell) for cell in row) for row in rows
    )
    assert "5,91e+12" in resaved
    assert parse_bytes(resaved.encode("cp1252")).to_dict() == parse_bytes(original).to_dict()


@pytest.mark.parametrize(("origin", "relative"), [("repo", ZETAVIEW), ("shared", REAL_ZETAVIEW_SAMPLE1)])
def test_zetaview_decimal_point_variant_matches_decimal_comma_original(origin, relative):
    original = export_bytes(origin, relative)
    with_points = decode_text(original).replace(",", ".").encode("cp1252")
    assert parse_bytes(with_points).to_dict() == parse_bytes(original).to_dict()


def test_softmax_tab_decimal_comma_fixture_matches_the_comma_export():
    variant = parse_bytes(fixture_bytes("softmax-tab-decimal-comma.txt"))
    original = parse_bytes(export_bytes("repo", SOFTMAX_BCA))
    assert variant.plate.value("A1") is None
    assert any("A1" in warning and "Range?" in warning for warning in variant.warnings)
    assert {well: value for well, value in variant.plate.values.items() if well != "A1"} == {
        well: value for well, value in original.plate.values.items() if well != "A1"
    }
    assert variant.metadata["temperature_c"] == 25.8


def _as_workbook(relative: str, data: bytes) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in csv.reader(io.StringIO("\n".join(_lines(data))), delimiter=_delimiter(relative)):
        cells = []
        for cell in row:
            number = cell.replace(",", ".") if relative.startswith("zetaview") else cell
            cells.append(float(number) if NUMERIC_CELL.fullmatch(number) else cell)
        sheet.append(cells)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


@pytest.mark.parametrize(
    ("origin", "relative"),
    [
        ("repo", NANOSIGHT_BEADS_DILUTED),
        ("repo", ZETAVIEW),
        ("repo", SOFTMAX_BCA),
        ("shared", REAL_ZETAVIEW_SAMPLE1),
        ("shared", REAL_SOFTMAX_BCA),
    ],
)
def test_export_resaved_as_excel_workbook(origin, relative):
    original = export_bytes(origin, relative)
    workbook = _as_workbook(relative, original)
    assert workbook[:4] == b"PK\x03\x04"
    assert parse_bytes(workbook).to_dict() == parse_bytes(original).to_dict()
