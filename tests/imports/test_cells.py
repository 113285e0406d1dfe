"""Reading single cells: types, units, allowed values, and text that is never evaluated."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from evlims.samples.import_columns import COLUMNS, COLUMNS_BY_NAME, CellError, header_key, parse_cell


def parse(name, value, **options):
    return parse_cell(COLUMNS_BY_NAME[name], value, **options)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("volume_ml", "4.5", Decimal("4.5")),
        ("volume_ml", 4, Decimal(4)),
        ("volume_ml", 0.1, Decimal("0.1")),
        ("volume_ml", " 1e1 ", Decimal("1E+1")),
        ("needle_gauge", "21", 21),
        ("needle_gauge", 21.0, 21),
        ("cell_count_at_harvest", "2e6", 2_000_000),
        ("fasting", "Yes", True),
        ("fasting", "0", False),
        ("fasting", False, False),
        ("biofluid", "Blood plasma", "blood_plasma"),
        ("biofluid", "SERUM", "serum"),
        ("anticoagulant", "K2-EDTA", "k2_edta"),
        ("urine_collection", "first_morning", "first_morning"),
        ("remarks", "=1+2", "=1+2"),
        ("remarks", "@SUM(A1)", "@SUM(A1)"),
        ("remarks", "-80 °C freezer", "-80 °C freezer"),
        ("external_id", 1234.0, "1234"),
        ("cell_line_cellosaurus", "CVCL_0030", "CVCL_0030"),
    ],
)
def test_values_are_typed(name, value, expected):
    assert parse(name, value) == expected


def test_decimal_comma_only_where_the_file_uses_semicolons():
    assert parse("volume_ml", "4,5", decimal_comma=True) == Decimal("4.5")
    with pytest.raises(CellError, match="use a dot as decimal separator"):
        parse("volume_ml", "4,5")
    with pytest.raises(CellError, match="no thousands separators"):
        parse("residual_platelets_per_ul", "1,000,000", decimal_comma=True)


def test_dates_are_iso_and_made_aware_in_the_lab_time_zone(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    moment = parse("collected_at", "2024-03-01 08:15")
    assert moment == dt.datetime(2024, 3, 1, 7, 15, tzinfo=dt.UTC)
    assert parse("collected_at", "2024-03-01T08:15:00+02:00") == dt.datetime(2024, 3, 1, 6, 15, tzinfo=dt.UTC)
    assert parse("collected_at", "2024-03-01") == timezone.make_aware(dt.datetime(2024, 3, 1))
    assert parse("collected_at", dt.datetime(2024, 3, 1, 8, 15)) == moment
    assert parse("collected_at", dt.date(2024, 3, 1)) == timezone.make_aware(dt.datetime(2024, 3, 1))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("volume_ml", "abc", "'abc' is not a number."),
        ("volume_ml", "NaN", "'NaN' is not a number."),
        ("volume_ml", "=4+1", "'=4+1' is a formula; enter the value itself."),
        ("volume_ml", True, "'True' is not a number."),
        ("volume_ml", "0", "'0' is out of range: must be more than 0 mL."),
        ("volume_ml", "-2", "'-2' is out of range: must be more than 0 mL."),
        ("volume_ml", "1.23456", "'1.23456': Ensure that there are no more than 3 decimal places."),
        ("processing_delay_min", "-5", "'-5' is out of range: must be at least 0 min."),
        ("needle_gauge", "21.5", "'21.5' is not a whole number."),
        ("needle_gauge", "60", "'60' is out of range: must be at most 34 G."),
        ("viability_pct_at_harvest", "101", "'101' is out of range: must be at most 100 %."),
        ("fasting", "maybe", "'maybe' is not yes or no."),
        (
            "anticoagulant",
            "heparine",
            "'heparine' is not an allowed value; use one of: K2-EDTA, K3-EDTA, Sodium citrate 3.2%, "
            "ACD-A, Heparin, Serum clot activator, No anticoagulant.",
        ),
        ("collected_at", "01/03/2024", "'01/03/2024' is not a date: write YYYY-MM-DD or YYYY-MM-DD HH:MM."),
        ("collected_at", "2024-02-30", "'2024-02-30' is not a real date or time."),
        ("barcode", "=cmd|' /C calc'!A0", "is not a usable barcode"),
        ("barcode", "AB 12", "is not a usable barcode"),
        ("barcode", "X" * 41, "Ensure this value has at most 40 characters (it has 41)."),
        ("donor_code", "D" * 41, "is longer than 40 characters."),
        ("cell_line_cellosaurus", "HEK293", "'HEK293' is not a Cellosaurus accession like CVCL_0030."),
        ("remarks", "bell\x07here", "'bell\\x07here' contains control characters; retype the value."),
    ],
)
def test_bad_values_say_what_is_wrong(name, value, message):
    with pytest.raises(CellError) as raised:
        parse(name, value)
    assert message in str(raised.value)


def test_long_values_are_shortened_in_messages():
    with pytest.raises(CellError) as raised:
        parse("volume_ml", "x" * 500)
    assert len(str(raised.value)) < 80


def test_headers_match_whatever_their_case_and_spacing():
    assert header_key(" Volume ML ") == "volume_ml"
    assert header_key("aliquot-count") == "aliquot_count"
    assert header_key(None) == ""


def test_every_column_describes_its_allowed_values():
    assert all(column.allowed and column.description for column in COLUMNS)
    assert COLUMNS_BY_NAME["volume_ml"].allowed == "number > 0"
    assert COLUMNS_BY_NAME["external_id"].allowed == "text up to 80 characters"
    assert COLUMNS_BY_NAME["biofluid"].allowed.startswith("blood_plasma, serum")


def test_the_documentation_lists_every_column_as_the_template_describes_it():
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "bulk-import.md").read_text(encoding="utf-8")
    for column in COLUMNS:
        required = "yes" if column.required else "no"
        assert f"| `{column.name}` | {required} | {column.unit} | {column.allowed} | {column.description} |" in guide
