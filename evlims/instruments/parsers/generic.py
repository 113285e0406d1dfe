"""Generic particle table (CSV, TSV or Excel) read through a saved column mapping.

A lab saves one mapping per instrument, for example::

    {"fields": {"sample_name": "Sample", "concentration_per_ml": "Conc. (p./mL)", "d50_nm": "X50 (nm)"},
     "decimal_separator": ",", "unit_scale": {"concentration_per_ml": 1000},
     "dilution_applied_in_file": false}

Each data row is one capture; rows sharing ``sample_name`` form a sample.
"""

from __future__ import annotations

from statistics import fmean
from typing import Any

from ..particles import SIZE_FIELDS, stock_per_ml
from .errors import ParseError
from .results import Capture, Histogram, ParticleParseResult, ParticleSample
from .text import Row, normalise_label, parse_number, read_rows

FORMAT = "generic"
OPTIONS = frozenset({"mapping"})
REQUIRED_FIELDS = ("sample_name", "concentration_per_ml")
NUMERIC_FIELDS = ("concentration_per_ml", "dilution_factor", *SIZE_FIELDS)
MAPPABLE_FIELDS = frozenset({*REQUIRED_FIELDS, "capture_name", *NUMERIC_FIELDS})
MAPPING_KEYS = frozenset(
    {
        "name",
        "fields",
        "decimal_separator",
        "unit_scale",
        "dilution_applied_in_file",
        "delimiter",
        "sheet",
        "software_version",
    }
)


def validate_mapping(mapping: Any) -> dict[str, Any]:
    if not isinstance(mapping, dict):
        raise ParseError("the generic format needs a column mapping (an object with 'fields')", field="mapping")
    unknown = set(mapping) - MAPPING_KEYS
    if unknown:
        raise ParseError(f"unknown mapping keys {sorted(unknown)}", field="mapping")
    fields = mapping.get("fields")
    if not isinstance(fields, dict) or not all(isinstance(value, str) and value.strip() for value in fields.values()):
        raise ParseError("'fields' must map our field names to column headers", field="mapping.fields")
    unknown_fields = set(fields) - MAPPABLE_FIELDS
    if unknown_fields:
        raise ParseError(
            f"unknown fields {sorted(unknown_fields)}; known: {sorted(MAPPABLE_FIELDS)}", field="mapping.fields"
        )
    missing = [name for name in REQUIRED_FIELDS if name not in fields]
    if missing:
        raise ParseError(f"the mapping must name columns for {missing}", field="mapping.fields")
    decimal = mapping.get("decimal_separator", ".")
    if decimal not in (".", ","):
        raise ParseError("decimal_separator must be '.' or ','", field="mapping.decimal_separator")
    scale = mapping.get("unit_scale", {})
    if not isinstance(scale, dict) or any(
        name not in NUMERIC_FIELDS or isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
        for name, value in scale.items()
    ):
        raise ParseError("unit_scale must map numeric fields to positive factors", field="mapping.unit_scale")
    delimiter = mapping.get("delimiter")
    if delimiter is not None and delimiter not in (",", ";", "\t"):
        raise ParseError("delimiter must be ',', ';' or a tab", field="mapping.delimiter")
    if decimal == "," and delimiter == ",":
        raise ParseError("a comma cannot be both delimiter and decimal separator", field="mapping.delimiter")
    return mapping


def _header_row(rows: list[Row], wanted: dict[str, str]) -> tuple[int, dict[str, int]]:
    targets = {field: normalise_label(header) for field, header in wanted.items()}
    for position, row in enumerate(rows[:200]):
        index = {normalise_label(cell): column for column, cell in reversed(list(enumerate(row.cells))) if cell}
        if all(target in index for target in targets.values()):
            return position, {field: index[target] for field, target in targets.items()}
    best = max(rows[:200], key=lambda row: sum(normalise_label(c) in targets.values() for c in row.cells), default=None)
    found = {normalise_label(cell) for cell in best.cells} if best else set()
    missing = [f"{field} ('{wanted[field]}')" for field, target in targets.items() if target not in found]
    raise ParseError(f"no header row holds the mapped columns; missing {', '.join(missing)}", field="mapping.fields")


def parse(text: str, *, mapping=None) -> ParticleParseResult:
    mapping = validate_mapping(mapping)
    fields: dict[str, str] = mapping["fields"]
    decimal = mapping.get("decimal_separator", ".")
    scale = mapping.get("unit_scale", {})
    rows, _ = read_rows(text, mapping.get("delimiter") or (";" if decimal == "," and "\t" not in text[:2000] else None))
    header_position, columns = _header_row(rows, fields)
    warnings: list[str] = []
    grouped: dict[str, list[tuple[Capture, float | None, Row]]] = {}
    for row in rows[header_position + 1 :]:
        if row.is_blank:
            continue
        sample = row.cell(columns["sample_name"])
        if not sample:
            raise ParseError("empty sample name", row.line, fields["sample_name"])
        values: dict[str, float | None] = {}
        for name in NUMERIC_FIELDS:
            if name not in columns:
                continue
            cell = row.cell(columns[name])
            value = parse_number(cell, decimal)
            if value is None and (cell or name == "concentration_per_ml"):
                raise ParseError(f"expected a number, found '{cell}'", row.line, fields[name])
            values[name] = value * scale.get(name, 1) if value is not None else None
        concentration = values.pop("concentration_per_ml")
        dilution = values.pop("dilution_factor", None)
        if dilution is not None and dilution <= 0:
            raise ParseError("dilution factor must be positive", row.line, fields["dilution_factor"])
        captures = grouped.setdefault(sample, [])
        name = row.cell(columns["capture_name"]) if "capture_name" in columns else ""
        capture = Capture(name or f"{sample} #{len(captures) + 1}", concentration, concentration > 0, **values)
        if not capture.valid:
            warnings.append(f"Line {row.line}: capture '{capture.name}' has zero concentration and is excluded.")
        captures.append((capture, dilution, row))
    if not grouped:
        raise ParseError("the table has a header but no data rows", rows[header_position].line)

    applied = bool(mapping.get("dilution_applied_in_file", False))
    samples = []
    for sample_name, entries in grouped.items():
        dilutions = {dilution for _, dilution, _ in entries}
        if len(dilutions) > 1:
            raise ParseError(
                f"sample '{sample_name}' has rows with different dilution factors",
                entries[-1][2].line,
                fields.get("dilution_factor"),
            )
        factor = dilutions.pop()
        valid = [capture.concentration_per_ml for capture, _, _ in entries if capture.valid]
        measured = fmean(valid) if valid else None
        stock = stock_per_ml(measured, factor, applied_in_file=applied)
        if factor is None and not applied:
            warnings.append(f"Sample '{sample_name}': no dilution factor in the table; concentration is as measured.")
        samples.append(
            ParticleSample(
                sample_name,
                factor,
                applied,
                stock,
                None,
                [capture for capture, _, _ in entries],
                Histogram(),
                ["concentration_per_ml"],
            )
        )
    metadata = {"mapping_name": mapping.get("name", ""), "columns": dict(fields)}
    return ParticleParseResult(FORMAT, mapping.get("software_version"), warnings, metadata, samples)
