"""Manifest files as bytes: encodings, delimiters, Excel, row numbers, templates and the problem report."""

import codecs
import csv
import datetime as dt
import io

import openpyxl
import pytest

from evlims.core.spreadsheets import neutralise
from evlims.samples.import_columns import COLUMNS
from evlims.samples.import_files import (
    ManifestFileError,
    problems_csv,
    read_manifest,
    template_csv,
    template_xlsx,
)

from .conftest import csv_bytes, xlsx_bytes

HEADER = ["barcode", "biofluid", "volume_ml", "remarks"]
ROW = ["S-1", "urine", "4.5", "Süß µL °C"]


def read(data, max_rows=100):
    return read_manifest(data, max_rows=max_rows)


@pytest.mark.parametrize(
    ("data", "decimal_comma"),
    [
        (csv_bytes([HEADER, ROW]), False),
        (codecs.BOM_UTF8 + csv_bytes([HEADER, ROW]), False),
        (csv_bytes([HEADER, ROW], encoding="cp1252"), False),
        (csv_bytes([HEADER, ROW], delimiter=";", encoding="cp1252"), True),
        (csv_bytes([HEADER, ROW], delimiter="\t", encoding="utf-16"), False),
        (csv_bytes([HEADER, ROW]).replace(b"\r\n", b"\n"), False),
    ],
    ids=["utf8", "utf8-bom", "cp1252", "cp1252-semicolon", "utf16-tab", "lf-endings"],
)
def test_csv_encodings_and_delimiters(data, decimal_comma):
    table = read(data)
    assert table.file_format == "csv"
    assert table.header == HEADER
    assert table.rows == [(2, ROW)]
    assert table.decimal_comma is decimal_comma


def test_quoted_cells_keep_delimiters_and_line_breaks():
    data = b'barcode,remarks\r\nS-1,"two, parts\r\nand a second line"\r\nS-2,plain\r\n'
    assert read(data).rows == [(2, ["S-1", "two, parts\r\nand a second line"]), (3, ["S-2", "plain"])]


def test_row_numbers_count_comment_and_blank_rows_as_the_spreadsheet_shows_them():
    data = b"# guide line one\r\n# guide, line two\r\nbarcode,biofluid\r\nS-1,urine\r\n,\r\n\r\nS-2,serum\r\n"
    table = read(data)
    assert table.header_row == 3
    assert table.rows == [(4, ["S-1", "urine"]), (7, ["S-2", "serum"])]


def test_excel_values_keep_their_types_and_formulas_stay_text():
    collected = dt.datetime(2024, 3, 1, 8, 15)
    data = xlsx_bytes([HEADER + ["collected_at"], ["S-1", "urine", 4.5, "=1+2", collected], [], ["S-2", "serum", 2]])
    table = read(data)
    assert table.file_format == "xlsx" and table.decimal_comma is False
    assert table.rows[0] == (2, ["S-1", "urine", 4.5, "=1+2", collected])
    assert table.rows[1][0] == 4


def test_excel_reads_the_manifest_sheet_when_there_is_one():
    workbook = openpyxl.Workbook()
    workbook.active.title = "Notes"
    workbook.active.append(["not", "the", "manifest"])
    manifest = workbook.create_sheet("Manifest")
    manifest.append(HEADER)
    manifest.append(ROW)
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert read(buffer.getvalue()).header == HEADER


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "Excel 97-2003 (.xls)"),
        (b"PK\x03\x04 not really a zip", "This is not a readable .xlsx workbook."),
        (b"%PDF-1.7\x00\x00\x01binary", "it contains binary data"),
        (b"# only a comment\r\n\r\n", "The file has no header row."),
        (codecs.BOM_UTF8 + b"barcode\r\n\xff\xfe", "declares UTF-8 but byte"),
        (b'barcode,remarks\r\nS-1,"\x00"\r\n', "binary data"),
        (b"barcode,remarks\r\n" + b"S-1,ok\r\n" * 2000 + b'S-2,"x\x00y"\r\n', "binary data"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(data, message):
    with pytest.raises(ManifestFileError) as raised:
        read(data)
    assert message in raised.value.message


def test_a_malformed_record_is_reported_at_its_row():
    data = b"barcode,remarks\r\nS-1,ok\r\nS-2," + b"x" * 200_000 + b"\r\n"
    with pytest.raises(ManifestFileError) as raised:
        read(data)
    assert (raised.value.row, raised.value.message) == (
        3,
        "Row 3 cannot be read as CSV: field larger than field limit (131072).",
    )


def test_row_limit_stops_reading(settings):
    data = csv_bytes([HEADER] + [ROW] * 4)
    assert len(read(data, max_rows=4).rows) == 4
    with pytest.raises(ManifestFileError, match="more than 3 data rows"):
        read(data, max_rows=3)


def test_csv_template_is_a_readable_manifest_with_a_commented_guide():
    data = template_csv()
    assert data.startswith(codecs.BOM_UTF8)
    table = read(data)
    assert table.header == [column.name for column in COLUMNS]
    assert table.header_row == len(COLUMNS) + 2
    assert table.rows == []
    guide = data.decode("utf-8-sig")
    assert "# volume_ml (required): unit mL; number > 0; Volume received." in guide
    assert "anticoagulant: k2_edta, k3_edta, citrate" in guide


def test_excel_template_has_header_comments_and_a_column_guide():
    workbook = openpyxl.load_workbook(io.BytesIO(template_xlsx()))
    assert workbook.sheetnames == ["Manifest", "Columns"]
    header = [cell.value for cell in workbook["Manifest"][1]]
    assert header == [column.name for column in COLUMNS]
    volume = workbook["Manifest"].cell(row=1, column=header.index("volume_ml") + 1)
    assert "Unit: mL" in volume.comment.text and "Required: yes" in volume.comment.text
    guide = list(workbook["Columns"].iter_rows(values_only=True))
    assert guide[0] == ("column", "required", "unit", "allowed values", "description")
    assert ("aliquot_volume_ul", "no", "µL") == guide[1 + header.index("aliquot_volume_ul")][:3]
    assert read(template_xlsx()).header == header


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("plain", "plain"),
        (7, "7"),
        (None, ""),
    ],
)
def test_neutralise(cell, expected):
    assert neutralise(cell) == expected


def test_problem_report_is_excel_friendly_and_neutralised():
    problems = [
        {"row": None, "column": "", "message": "File-level problem.", "severity": "error"},
        {"row": 1, "column": "=cmd|' /C calc'!A0", "message": "Not a manifest column.", "severity": "warning"},
        {"row": 3, "column": "volume_ml", "message": "-1 µL is out of range", "severity": "error"},
    ]
    data = problems_csv(problems)
    assert data.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [
        ["row", "column", "severity", "message"],
        ["", "", "error", "File-level problem."],
        ["1", "'=cmd|' /C calc'!A0", "warning", "Not a manifest column."],
        ["3", "volume_ml", "error", "'-1 µL is out of range"],
    ]
