"""Malvern Panalytical NanoSight NTA 3.2-3.4 ``ExperimentSummary.csv``.

Rows are keyed on (section, normalised label) because labels such as ``Completed Tracks`` or
``Concentration`` recur in several sections, and statistics recur once per weighting block. Only
the number-weighted block of ``[Size Data]`` is reported; ``[Diffusion Coefficient Data]`` reuses
the same labels for diffusion coefficients and is only checked for completeness.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from statistics import fmean

from ..particles import stock_factor, stock_per_ml
from .errors import ParseError
from .results import Capture, Histogram, ParticleParseResult, ParticleSample, whole
from .text import Row, normalise_label, parse_number, read_rows, require_number

FORMAT = "nanosight"
OPTIONS = frozenset({"dilution_factor", "grouping"})

_SIGNATURE = "ntaexperimentsummaryfile"
_BLOCK_SECTIONS = {"sizedata": "size", "diffusioncoefficientdata": "diffusion"}
_STATISTIC_ROWS = {
    "size_mean_nm": "mean",
    "size_mode_nm": "mode",
    "size_sd_nm": "sd",
    "d10_nm": "d10",
    "d50_nm": "d50",
    "d90_nm": "d90",
}
# Instrument verdicts that mean "nothing to report" in [Concentration Warnings].
_BENIGN_VERDICTS = {"ok", "no", ""}
_COMBINED_REMARK = re.compile(r"created from combined experiments\s*:\s*(.*)", re.IGNORECASE)
_CAPTURE_INDEX_SUFFIX = re.compile(r"[_ -]?\d+$")
# Setting cells that state nothing.
_NOT_STATED = {"unknown", "notrecorded"}
# Analyser settings carried into each sample: (stored key, section, row labels, how the captures combine).
# "same": carried when every capture of the sample agrees; "valid": the same, over its valid captures only
# (a failed video analyses 0 frames); "mean": the captures' mean (temperature drifts from video to video).
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


@dataclass
class _Block:
    """One weighting block (statistics, graph data, percentiles) of a distribution section."""

    kind: str
    weighting: str
    line: int
    stats: dict[str, Row] = field(default_factory=dict)
    histogram_header: Row | None = None
    histogram: list[Row] = field(default_factory=list)
    histogram_closed: bool = False
    percentiles: list[Row] = field(default_factory=list)


@dataclass
class _Layout:
    rows: list[Row]
    keyed: dict[tuple[str, str], Row] = field(default_factory=dict)
    blocks: dict[tuple[str, str], _Block] = field(default_factory=dict)
    data_included: list[Row] = field(default_factory=list)


def _scan(rows: list[Row], decimal: str) -> _Layout:
    layout = _Layout(rows)
    section = "experimentdetails"
    block: _Block | None = None
    mode: str | None = None
    for row in rows[2:]:
        label = row.label
        if label.startswith("[") and label.endswith("]"):
            section, block, mode = normalise_label(label), None, None
            continue
        key = normalise_label(label)
        if section == "dataincluded":
            if label:
                layout.data_included.append(row)
            continue
        if section not in _BLOCK_SECTIONS:
            if key:
                layout.keyed.setdefault((section, key), row)
            continue
        if mode in ("histogram", "percentile"):
            if parse_number(label, decimal) is not None:
                (block.histogram if mode == "histogram" else block.percentiles).append(row)
                continue
            if mode == "histogram":
                block.histogram_closed = True
            mode = None
        if key == "weighting":
            block = _Block(_BLOCK_SECTIONS[section], normalise_label(row.cell(1)), row.line)
            layout.blocks.setdefault((block.kind, block.weighting), block)
        elif block is None or not key:
            continue
        elif key.startswith("bincentre"):
            block.histogram_header, mode = row, "histogram"
        elif key == "percentile":
            mode = "percentile"
        elif key != "graphdata":
            block.stats.setdefault(key, row)
    return layout


def _check_complete(layout: _Layout) -> None:
    """Reject truncated files: every block the file announces must be present and finished."""
    announced = []
    for row in layout.data_included:
        parts = [normalise_label(part) for part in row.label.split(" - ")]
        kind = "size" if parts[0].startswith("size") else "diffusion"
        weighting = parts[1].removesuffix("weighting") if len(parts) > 1 else "number"
        announced.append((kind, weighting, "withpercentiles" in parts, row.line))
    if not announced:
        announced = [("size", "number", False, None)]
    for kind, weighting, with_percentiles, line in announced:
        block = layout.blocks.get((kind, weighting))
        name = f"{kind} distribution, {weighting} weighting"
        if block is None or not block.histogram:
            raise ParseError(f"the file is truncated: the {name} listed in [Data Included] is missing", line)
        if with_percentiles:
            last = block.percentiles[-1].label if block.percentiles else ""
            if parse_number(last) != 100 or not _percentile_row_whole(block.percentiles):
                raise ParseError(f"the file is truncated inside the {name} percentile table", line)
        elif not block.histogram_closed and (kind, weighting) != announced[-1][:2]:
            raise ParseError(f"the file is truncated inside the {name} graph data", line)


def _percentile_row_whole(percentiles: list[Row]) -> bool:
    """Whether the 100th-percentile row, the last data of the export, was read whole.

    A file cut inside that row still ends on a row labelled 100; what gives the cut away is a missing value
    or a shortened number (1840.0 cut to 18), and percentiles never fall from one row to the next.
    """
    if len(percentiles) < 2:
        return True
    before = [parse_number(cell) for cell in percentiles[-2].cells[1:] if cell.strip()]
    last = [parse_number(cell) for cell in percentiles[-1].cells[1:] if cell.strip()]
    if len(last) != len(before):
        return False
    return all(b is None or a is None or a >= b for b, a in zip(before, last, strict=True))


def _row(layout: _Layout, section: str, *labels: str, required: bool = True) -> Row | None:
    for label in labels:
        wanted = normalise_label(label)
        for (row_section, key), row in layout.keyed.items():
            if row_section == section and key.startswith(wanted):
                return row
    if required:
        raise ParseError(f"the [{section}] row '{labels[0]}' is missing", field=labels[0])
    return None


def _detail(layout: _Layout, *labels: str) -> str:
    row = _row(layout, "experimentdetails", *labels, required=False)
    return row.cell(1) if row else ""


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


def _time_captured(text: str) -> str | None:
    try:
        return datetime.strptime(" ".join(text.split()), "%H:%M:%S %d/%m/%Y").isoformat()
    except ValueError:
        return None


def parse(text: str, *, dilution_factor=None, grouping=None) -> ParticleParseResult:
    rows, delimiter = read_rows(text)
    decimal = "." if delimiter == "," else ","
    if not rows or normalise_label(rows[0].label) != _SIGNATURE:
        raise ParseError("not a NanoSight experiment summary (line 1 must be 'NTA Experiment Summary File')", 1)
    layout = _scan(rows, decimal)
    _check_complete(layout)
    warnings: list[str] = []

    filename_row = _row(layout, "experimentdetails", "Filename")
    names = filename_row.trimmed()[1:]
    if not names or any(not name for name in names):
        raise ParseError("no capture names (or an empty one) in the Filename row", filename_row.line, "Filename:")
    count = len(names)
    if len(set(names)) != count:
        raise ParseError("capture names in the Filename row are not unique", filename_row.line, "Filename:")

    concentration_row = _row(layout, "results", "Concentration (Particles / ml)")
    concentrations = _per_capture_numbers(concentration_row, count, "Concentration (Particles / ml)", decimal)
    instrument_average = parse_number(concentration_row.cell(count + 1), decimal)
    dilution_row = _row(layout, "results", "Dilution factor", required=False)
    recorded_dilutions = _dilutions(dilution_row, count, decimal) if dilution_row else [None] * count
    frames = _optional_numbers(
        _row(layout, "settings", "Total frames analysed", "Total frames analyzed", required=False), count, decimal
    )
    tracks = _optional_numbers(_row(layout, "results", "Completed tracks", required=False), count, decimal)

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
        captures.append(
            Capture(
                name=name,
                concentration_per_ml=concentrations[index],
                valid=not failures,
                **{attribute: values[index] for attribute, values in statistics.items()},
            )
        )
    warnings.extend(_instrument_verdicts(layout, names))
    bins, columns, average_column = _histogram(number_block, count, decimal)

    default_name = (
        _detail(layout, "Sample Description")
        or _detail(layout, "Sample Name")
        or _detail(layout, "Experiment Name").removesuffix(".nano")
        or names[0]
    )
    assignment, combined = _group(names, _detail(layout, "Remarks"), default_name, grouping)
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

    software = _detail(layout, "Software Version")
    created_with = rows[1].label.removeprefix("Created with").strip() if len(rows) > 1 else ""
    if not software or software.lower() == "unknown":
        software = created_with or None
    time_captured = _detail(layout, "Time Captured")
    metadata = {
        "instrument": "NanoSight",
        "experiment_name": _detail(layout, "Experiment Name"),
        "operator": _detail(layout, "Operator Name"),
        "time_captured": _time_captured(time_captured) if time_captured else None,
        "sample_description": _detail(layout, "Sample Description") or _detail(layout, "Sample Name"),
        "diluent": _detail(layout, "Diluent"),
        "remarks": _detail(layout, "Remarks"),
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
    return ParticleParseResult(FORMAT, software, warnings, metadata, samples)


def _capture_settings(layout: _Layout, count: int, decimal: str) -> dict[str, tuple[str, str, list]]:
    """Each setting the file records: stored key -> (how to combine, row label, value per capture)."""
    table = {}
    for key, section, labels, how in _SETTINGS:
        row = _row(layout, section, *labels, required=False)
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
        present = [values[i] for i in indexes if values[i] is not None and (how != "valid" or captures[i].valid)]
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


def _instrument_verdicts(layout: _Layout, names: list[str]) -> list[str]:
    verdicts: dict[str, list[str]] = {name: [] for name in names}
    for (section, _key), row in layout.keyed.items():
        if section != "concentrationwarnings":
            continue
        for index, name in enumerate(names):
            verdict = row.cell(index + 1)
            if normalise_label(verdict) not in _BENIGN_VERDICTS:
                verdicts[name].append(f"{row.label}: {verdict}")
    return [f"Capture '{name}': the instrument warns {'; '.join(items)}." for name, items in verdicts.items() if items]


def _histogram(block: _Block, count: int, decimal: str):
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
