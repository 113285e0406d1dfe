"""Generic tables read through a saved column mapping (CSV with decimal comma, Excel)."""

import io
import json

import pytest
from openpyxl import Workbook

from evlims.instruments.parsers import ParseError, parse_bytes

from .conftest import FIXTURES, fixture_bytes


def _mapping() -> dict:
    return json.loads((FIXTURES / "generic-mapping.json").read_text())


def test_decimal_comma_table_with_mapping():
    result = parse_bytes(fixture_bytes("generic-summary-decimal-comma.csv"), "generic", mapping=_mapping())
    output = result.to_dict()
    assert output["format"] == "generic"
    first, second = output["samples"]
    assert first["name"] == "EV-A"
    assert [capture["name"] for capture in first["captures"]] == ["0,1", "0,5", "0,9"]
    assert [capture["valid"] for capture in first["captures"]] == [True, True, False]
    assert first["captures"][0]["concentration_per_ml"] == 1.5e8
    assert first["captures"][0]["d50_nm"] == 101.3
    assert first["dilution_factor"] == 1000 and first["dilution_applied_in_file"] is False
    assert first["concentration_per_ml"] == pytest.approx(1.6e11)
    assert second["concentration_per_ml"] == pytest.approx(1.0e11)
    assert first["histogram"] == {"bin_center_nm": [], "concentration_per_ml": []}
    assert any("Line 5" in warning for warning in output["warnings"])


def test_auto_format_falls_back_to_generic_when_a_mapping_is_given():
    result = parse_bytes(fixture_bytes("generic-summary-decimal-comma.csv"), mapping=_mapping())
    assert result.format == "generic"


def test_unit_scale_and_dilution_already_applied():
    mapping = _mapping()
    mapping["unit_scale"] = {"concentration_per_ml": 1000}
    mapping["dilution_applied_in_file"] = True
    result = parse_bytes(fixture_bytes("generic-summary-decimal-comma.csv"), "generic", mapping=mapping)
    assert result.samples[0].captures[0].concentration_per_ml == pytest.approx(1.5e11)
    assert result.samples[0].concentration_per_ml == pytest.approx(1.6e11)


def test_excel_workbook_with_mapping():
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Results"
    sheet.append(["Sample", "Particles/mL", "Mean size"])
    sheet.append(["prep-1", 2.5e9, 110.2])
    sheet.append(["prep-1", 3.5e9, 108.0])
    buffer = io.BytesIO()
    workbook.save(buffer)
    mapping = {
        "fields": {"sample_name": "sample", "concentration_per_ml": "PARTICLES/ML", "size_mean_nm": "Mean size"},
        "sheet": "Results",
    }
    result = parse_bytes(buffer.getvalue(), "generic", mapping=mapping)
    assert result.samples[0].concentration_per_ml == pytest.approx(3.0e9)
    assert result.samples[0].captures[1].size_mean_nm == 108.0
    mapping["sheet"] = "Sheet9"
    with pytest.raises(ParseError, match="no sheet 'Sheet9'"):
        parse_bytes(buffer.getvalue(), "generic", mapping=mapping)


@pytest.mark.parametrize(
    ("change", "message", "field"),
    [
        (lambda m: m["fields"].pop("sample_name"), "must name columns for", "mapping.fields"),
        (lambda m: m["fields"].update(colour="Colour"), "unknown fields", "mapping.fields"),
        (lambda m: m["fields"].update(d90_nm="X90 (nm)"), "missing d90_nm", "mapping.fields"),
        (lambda m: m.update(decimal_separator=";"), "decimal_separator", "mapping.decimal_separator"),
        (lambda m: m.update(unit_scale={"concentration_per_ml": -1}), "unit_scale", "mapping.unit_scale"),
        (lambda m: m.update(extra=1), "unknown mapping keys", "mapping"),
    ],
)
def test_mapping_errors_name_the_key(change, message, field):
    mapping = _mapping()
    change(mapping)
    with pytest.raises(ParseError, match=message) as caught:
        parse_bytes(fixture_bytes("generic-summary-decimal-comma.csv"), "generic", mapping=mapping)
    assert caught.value.field == field


def test_bad_cell_names_line_and_column():
    data = fixture_bytes("generic-summary-decimal-comma.csv").replace(b"1,7E+8", b"n.d.x")
    with pytest.raises(ParseError) as caught:
        parse_bytes(data, "generic", mapping=_mapping())
    assert caught.value.line == 4 and caught.value.field == "Conc. (p./mL)"


def test_generic_needs_a_mapping():
    with pytest.raises(ParseError, match="column mapping") as caught:
        parse_bytes(fixture_bytes("generic-summary-decimal-comma.csv"), "generic")
    assert caught.value.field == "mapping"
