"""Malvern Panalytical NanoSight NTA 3.2-3.4 ``ExperimentSummary.csv``.

Rows are keyed on (section, normalised label) because labels such as ``Completed Tracks`` or
``Concentration`` recur in several sections, and statistics recur once per weighting block. Only
the number-weighted block of ``[Size Data]`` is reported; ``[Diffusion Coefficient Data]`` reuses
the same labels for diffusion coefficients and is only checked for completeness.
"""

from __future__ import annotations

import re
from statistics import fmean

from ..particles import stock_factor, stock_per_ml
from .errors import ParseError
from .nanosight_captures import instrument_verdicts, name_timestamp, read_time_captured, validity_verdicts
from .nanosight_layout import Block, Layout, check_complete, detail, keyed_row, scan
from .nanosight_rows import GraphRows, read_export_rows
from .results import Capture, Histogram, ParticleParseResult, ParticleSample, whole
from .text import (
    Row,
    normalise_label,
    normalise_newlines,
    number_column,
    parse_number,
    read_rows,
    require_number,
    sniff_delimiter,
)

FORMAT = "nanosight"
OPTIONS = frozenset({"dilution_factor", "grouping"})

_SIGNATURE = "ntaexperimentsummaryfile"
_STATISTIC_ROWS = {
    "size_mean_nm": "mean",
    "size_mode_nm": "mode",
    "size_sd_nm": "sd",
    "d10_nm": "d10",
    "d50_nm": "d50",
    "d90_nm": "d90",
}
_COMBINED_REMARK = re.compile(r"created from combined experiments\s*:\s*(.*)", re.IGNORECASE)
_CAPTURE_INDEX_SUFFIX = re.compile(r"[_ -]?\d+$")
# Setting cells that state nothing.
_NOT_STATED = {"unknown", "notrecorded"}
# Analyser settings carried into each sample: (stored key, section, row labels, how the captures combine).
# "same": carried when every capture of the sample agrees; "valid": the same, over the captures that did not fail
# outright (a failed video analyses 0 frames); "mean": the captures' mean (temperature drifts from video to video).
_SETTINGS = (
    ("camera_level", "conditions", ("Camera Level",), "same"),
    ("detection_threshold", "settings", ("Detection Threshold",), "same"),
    ("shutter", "conditions", ("Slider Shutter",), "same"),
    ("shutter_ms", "conditions", ("Shutter/ms",), "same"),
    ("slider_gain", "conditions", ("Slider Gain",), "same"),
    ("camera_type", "conditions", ("Camera Type",), "same"),
    ("laser_type", "conditions", ("Laser Type",), "same"),
    ("frame_rate_fps", "conditions", ("Frame rate",), "same"),
    ("syringe_pump_speed", "conditions", ("Syringe Pump Speed",), "same"),
    ("frames", "settings", ("Total frames analysed", "Total frames analyzed"), "valid"),
    ("temperature_c", "conditions", ("Temperature",), "mean"),
    ("viscosity_cp", "conditions", ("Viscosity",), "mean"),
)


def sniff(text: str) -> bool:
    for line in text.lstrip("\ufeff").splitlines()[:5]:
        first = re.split(r"[,;\t]", line, maxsplit=1)[0]
        if first.strip().strip('"'):
            return normalise_label(first) == _SIGNATURE
    return False


def _per_capture_numbers(row: Row, count: int, field_name: str, decimal: str) -> list[float]:
    return [
        require_number(row.cell(index + 1), line=row.line, field=f"{field_name} (column {index + 2})", decimal=decimal)
        for index in range(count)
    ]


def _optional_numbers(row: Row | None, count: int, decimal: str) -> list[float | None]:
    if row is None:
        return [None] * count
    return [parse_number(row.cell(index + 1), decimal) for index in range(count)]


def _dilutions(row: Row, count: int, decimal: str) -> list[float | None]:
    factors = []
    for index in range(count):
        cell = row.cell(index + 1)
        value = parse_number(cell, decimal)
        if value is None and normalise_label(cell) != "notrecorded":
            raise ParseError(f"expected a number or 'Not recorded', found '{cell}'", row.line, "Dilution factor")
        if value is not None and value <= 0:
            raise ParseError(f"dilution factor must be positive, found {cell}", row.line, "Dilution factor")
        factors.append(value)
    return factors


def _group(names: list[str], remarks: str, default_name: str, grouping: dict | None) -> tuple[dict, bool]:
    if grouping is not None:
        if not isinstance(grouping, dict):
            raise ParseError("grouping must map capture names to sample names", field="grouping")
        missing = [name for name in names if name not in grouping]
        unknown = sorted(set(grouping) - set(names))
        if missing or unknown:
            detail = f"captures without a sample: {missing}" if missing else f"unknown captures: {unknown}"
            raise ParseError(f"grouping does not match the file's captures ({detail})", field="grouping")
        return {name: str(grouping[name]) for name in names}, False
    combined = _COMBINED_REMARK.search(remarks)
    if not combined:
        return {name: default_name for name in names}, False
    stems = [part.strip().removesuffix(".nano") for part in combined.group(1).split(",") if part.strip()]
    assignment = {}
    for name in names:
        matching = [stem for stem in stems if name.startswith(stem)]
        stem = max(matching, key=len) if matching else _CAPTURE_INDEX_SUFFIX.sub("", name)
        assignment[name] = stem.rstrip("_- ") or name
    return assignment, True


def _dilution_option(option, sample: str) -> float | None:
    value = option.get(sample) if isinstance(option, dict) else option
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ParseError(f"dilution factor for '{sample}' must be a positive number", field="dilution_factor")
    return float(value)


def parse(text: str, *, dilution_factor=None, grouping=None) -> ParticleParseResult:
    text = normalise_newlines(text)
    delimiter = sniff_delimiter(text.split("\n", 40))
    rows = read_export_rows(text, delimiter)
    if rows is None:
        rows, delimiter = read_rows(text, delimiter)
    decimal = "." if delimiter == "," else ","
    if not rows or normalise_label(rows[0].label) != _SIGNATURE:
        raise ParseError("not a NanoSight experiment summary (line 1 must be 'NTA Experiment Summary File')", 1)
    layout = scan(rows, decimal)
    check_complete(layout)
    warnings: list[str] = []

    filename_row = keyed_row(layout, "experimentdetails", "Filename")
    names = filename_row.trimmed()[1:]
    if not names or any(not name for name in names):
        raise ParseError("no capture names (or an empty one) in the Filename row", filename_row.line, "Filename:")
    count = len(names)
    if len(set(names)) != count:
        raise ParseError("capture names in the Filename row are not unique", filename_row.line, "Filename:")

    concentration_row = keyed_row(layout, "results", "Concentration (Particles / ml)")
    concentrations = _per_capture_numbers(concentration_row, count, "Concentration (Particles / ml)", decimal)
    instrument_average = parse_number(concentration_row.cell(count + 1), decimal)
    dilution_row = keyed_row(layout, "results", "Dilution factor", required=False)
    recorded_dilutions = _dilutions(dilution_row, count, decimal) if dilution_row else [None] * count
    frames = _optional_numbers(
        keyed_row(layout, "settings", "Total frames analysed", "Total frames analyzed", required=False), count, decimal
    )
    tracks = _optional_numbers(keyed_row(layout, "results", "Completed tracks", required=False), count, decimal)

    number_block = layout.blocks[("size", "number")]
    statistics = {}
    for attribute, label in _STATISTIC_ROWS.items():
        row = number_block.stats.get(label)
        if row is None:
            raise ParseError(
                f"the number-weighted size statistic '{label.upper()}' is missing", number_block.line, label
            )
        statistics[attribute] = _per_capture_numbers(row, count, row.label, decimal)
    valid_tracks = _optional_numbers(number_block.stats.get("validtracks"), count, decimal)

    verdicts = validity_verdicts(layout, names)
    captures = []
    for index, name in enumerate(names):
        failures = []
        if concentrations[index] <= 0:
            failures.append("zero concentration")
        if frames[index] == 0:
            failures.append("no frames analysed")
        if tracks[index] == 0 or valid_tracks[index] == 0:
            failures.append("no tracks")
        if failures:
            warnings.append(
                f"Capture '{name}' failed ({', '.join(failures)}): flagged invalid and excluded from the "
                "sample concentration; the instrument's own average still includes it."
            )
        reasons = ([f"{verdicts[name]} (instrument)"] if name in verdicts else []) + (
            [f"failed: {', '.join(failures)}"] if failures else []
        )
        captures.append(
            Capture(
                name=name,
                concentration_per_ml=concentrations[index],
                valid=not reasons,
                invalid_reason="; ".join(reasons),
                **{attribute: values[index] for attribute, values in statistics.items()},
            )
        )
    warnings.extend(instrument_verdicts(layout, names))
    bins, columns, average_column = _histogram(number_block, count, decimal)

    default_name = (
        detail(layout, "Sample Description")
        or detail(layout, "Sample Name")
        or detail(layout, "Experiment Name").removesuffix(".nano")
        or names[0]
    )
    assignment, combined = _group(names, detail(layout, "Remarks"), default_name, grouping)
    sample_names = list(dict.fromkeys(assignment.values()))
    if combined:
        warnings.append(
            f"Combined experiment: {count} captures grouped into {len(sample_names)} samples by the .nano files "
            "named in Remarks; confirm the grouping. The instrument's Average column spans all samples and is "
            "not attributed to any of them."
        )
    settings = _capture_settings(layout, count, decimal)
    samples = []
    for sample_name in sample_names:
        indexes = [index for index, name in enumerate(names) if assignment[name] == sample_name]
        sample = _build_sample(
            sample_name,
            indexes,
            captures,
            recorded_dilutions,
            _dilution_option(dilution_factor, sample_name),
            instrument_average if len(sample_names) == 1 else None,
            bins,
            columns,
            average_column if len(sample_names) == 1 else None,
            warnings,
        )
        sample.settings = _sample_settings(sample_name, indexes, captures, settings, warnings)
        samples.append(sample)

    software = detail(layout, "Software Version")
    created_with = rows[1].label.removeprefix("Created with").strip() if len(rows) > 1 else ""
    if not software or software.lower() == "unknown":
        software = created_with or None
    time_captured = detail(layout, "Time Captured")
    metadata = {
        "instrument": "NanoSight",
        "experiment_name": detail(layout, "Experiment Name"),
        "operator": detail(layout, "Operator Name"),
        "time_captured": read_time_captured(time_captured) if time_captured else None,
        "sample_description": detail(layout, "Sample Description") or detail(layout, "Sample Name"),
        "diluent": detail(layout, "Diluent"),
        "remarks": detail(layout, "Remarks"),
        "combined_experiment": combined,
        "grouping": assignment,
        "captures": {
            name: {
                "total_frames_analysed": frames[index],
                "completed_tracks": tracks[index],
                "valid_tracks": valid_tracks[index],
                "dilution_factor_recorded": recorded_dilutions[index],
            }
            for index, name in enumerate(names)
        },
    }
    if time_captured and metadata["time_captured"] is None:
        warnings.append(f"Time Captured '{time_captured}' is not in the expected 'HH:MM:SS DD/MM/YYYY' form.")
    acquired_at = metadata["time_captured"] or name_timestamp(detail(layout, "Experiment Name"), *names)
    if acquired_at is None:
        warnings.append("The file states no acquisition time (Time Captured is empty and no name carries one).")
    return ParticleParseResult(FORMAT, software, warnings, metadata, samples, acquired_at)


def _capture_settings(layout: Layout, count: int, decimal: str) -> dict[str, tuple[str, str, list]]:
    """Each setting the file records: stored key -> (how to combine, row label, value per capture)."""
    table = {}
    for key, section, labels, how in _SETTINGS:
        row = keyed_row(layout, section, *labels, required=False)
        if row is None:
            continue
        values = []
        for index in range(count):
            cell = row.cell(index + 1)
            number = parse_number(cell, decimal)
            text = None if normalise_label(cell) in _NOT_STATED else cell or None
            values.append(whole(number) if number is not None else text)
        table[key] = (how, row.label, values)
    return table


def _sample_settings(name: str, indexes: list[int], captures: list[Capture], table: dict, warnings: list) -> dict:
    settings: dict = {"videos": len(indexes)}
    for key, (how, label, values) in table.items():
        present = [values[i] for i in indexes if values[i] is not None and (how != "valid" or _analysed(captures[i]))]
        if how == "mean":
            numbers = [value for value in present if not isinstance(value, str)]
            if numbers:
                settings[key] = round(fmean(numbers), 6)
        elif len(set(present)) == 1:
            settings[key] = present[0]
        elif present:
            differing = ", ".join(str(value) for value in dict.fromkeys(present))
            warnings.append(
                f"Sample '{name}': its captures differ in {label} ({differing}); the setting is not carried."
            )
    return settings


def _analysed(capture: Capture) -> bool:
    """False for a capture that failed outright (no frames or tracks); one the instrument rates unreliable was
    still analysed, so its settings count."""
    return "failed:" not in capture.invalid_reason


def _histogram(block: Block, count: int, decimal: str):
    """Bin centres, one column per capture and the instrument's average column (None when a cell is empty).

    Each column is read whole (``number_column``); only a column with a cell that is not a plain number is read
    cell by cell, which reads the same values and names the cell that is wrong."""
    rows = block.histogram
    width = count + 2
    if isinstance(rows, GraphRows):
        table = rows.columns(width)
    else:
        cells = [row.cells[:width] if len(row.cells) >= width else [row.cell(i) for i in range(width)] for row in rows]
        table = [list(column) for column in zip(*cells, strict=True)] if cells else None
    read = [number_column(column, decimal) for column in table] if table else []
    if read and all(column is not None for column in read[: count + 1]):
        average = read[count + 1]
        if average is None:
            cells = [parse_number(row.cell(count + 1), decimal) for row in rows]
            average = cells if all(value is not None for value in cells) else None
        return read[0], read[1 : count + 1], average
    return _histogram_by_cell(block, count, decimal)


def _histogram_by_cell(block: Block, count: int, decimal: str):
    bins, columns, average = [], [[] for _ in range(count)], []
    for row in block.histogram:
        field_name = f"size graph data at {row.label} nm"
        bins.append(require_number(row.label, line=row.line, field="Bin centre (nm)", decimal=decimal))
        for index in range(count):
            columns[index].append(require_number(row.cell(index + 1), line=row.line, field=field_name, decimal=decimal))
        average.append(parse_number(row.cell(count + 1), decimal))
    return bins, columns, (average if all(value is not None for value in average) else None)


def _build_sample(
    name, indexes, captures, recorded, supplied_dilution, instrument_average, bins, columns, average_column, warnings
) -> ParticleSample:
    group = [captures[index] for index in indexes]
    valid = [index for index in indexes if captures[index].valid]
    recorded_values = {recorded[index] for index in indexes}
    computed = ["concentration_per_ml"]
    measured = fmean(captures[index].concentration_per_ml for index in valid) if valid else None
    if not valid:
        warnings.append(f"Sample '{name}': no valid capture, so no concentration is reported.")

    if recorded_values == {None}:
        applied_in_file, factor = False, supplied_dilution
        if factor is None:
            warnings.append(
                f"Sample '{name}': the file says the dilution factor was 'Not recorded'; concentrations are as "
                "measured in the cell. Supply the dilution factor to obtain the stock concentration."
            )
    elif None in recorded_values or len(recorded_values) > 1:
        applied_in_file, factor, measured = True, None, None
        warnings.append(
            f"Sample '{name}': its captures record different dilution factors {sorted(map(str, recorded_values))}; "
            "no sample concentration is reported. Regroup the captures."
        )
    else:
        applied_in_file, factor = True, recorded_values.pop()
        if supplied_dilution is not None and supplied_dilution != factor:
            warnings.append(
                f"Sample '{name}': the file already applied its recorded dilution factor {factor:g}; the supplied "
                f"factor {supplied_dilution:g} was ignored."
            )
    scale = stock_factor(factor, applied_in_file=applied_in_file)
    stock = stock_per_ml(measured, factor, applied_in_file=applied_in_file)

    if average_column is not None and len(valid) == len(captures) == len(indexes):
        values = list(average_column)
    else:
        computed.append("histogram")
        values = [fmean(columns[index][position] for index in valid) for position in range(len(bins))] if valid else []
    if scale != 1.0:
        values = [value * scale for value in values]
        if "histogram" not in computed:
            computed.append("histogram")
    histogram = Histogram(list(bins) if values else [], values)
    return ParticleSample(name, factor, applied_in_file, stock, instrument_average, group, histogram, computed)
