"""Particle Metrix ZetaView size-distribution ``.txt`` export (software 8.0x).

The header is ``key:<TAB>value`` pairs, several per line in places (``Number of Traces`` also
carries ``Average Number of Particles`` and ``Dilution::``), with key spellings that change
between versions (``ZetaView S/N`` / ``ZetaVIEW S/N``), so it is read generically into a dict of
normalised keys. The table holds a linear histogram, a ``-1`` separator row and a log histogram
of the same particles; only the linear one is used. Concentrations are in-cell values that the
instrument has NOT multiplied by ``Dilution::``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from ..particles import SIZE_FIELDS, stock_factor, stock_per_ml
from .errors import ParseError
from .results import Capture, Histogram, ParticleParseResult, ParticleSample, whole
from .size_stats import size_statistics
from .text import Row, normalise_label, normalise_newlines, parse_number, read_rows, require_number

FORMAT = "zetaview"
OPTIONS = frozenset({"dilution_factor"})

_TABLE_HEADER = "sizenm"
_SEPARATOR_VALUE = -1.0
_SPAN_FRACTION = 0.99
_SOFTWARE_VERSION = re.compile(r"version\s+([^)]+)\)", re.IGNORECASE)
# "Camera:  FpSec 30 #Cycles 2 FRate 30,000000": frames per second, cycles per position, frame rate.
_CAMERA = re.compile(r"fpsec\s+(?P<fpsec>\S+)|#cycles\s+(?P<cycles>\S+)|frate\s+(?P<frate>\S+)", re.IGNORECASE)
# Analyser settings carried into the sample: stored key -> header key. Sensitivity is ZetaView's camera level.
_SETTINGS = {
    "sensitivity": "Sensitivity",
    "shutter": "Shutter",
    "gain": "Gain",
    "temperature_c": "Temperature",
    "viscosity_mpa_s": "Viscosity",
    "laser_wavelength_nm": "Laser Wavelength nm",
    "minimum_brightness": "Minimum Brightness",
    "minimum_area": "Minimum Area",
    "maximum_area": "Maximum Area",
    "minimum_trace_length": "Minimum Tracelength",
}
_MEASURED_SETTINGS = {"temperature_c", "viscosity_mpa_s"}


def sniff(text: str) -> bool:
    head = text.lstrip("\ufeff")[:4000].lower()
    first = head.split("\n", 1)[0].strip().strip('"')
    return first.startswith("original file") and "zetaview" in head or "zetaview s/n" in head


def _header(rows: list[Row]) -> dict[str, tuple[list[str], int]]:
    """Map normalised keys to (values, line); cells ending in ':' are keys, the rest their values."""
    header: dict[str, tuple[list[str], int]] = {}
    for row in rows:
        key = None
        for cell in row.cells:
            if cell.endswith(":"):
                key = normalise_label(cell)
                if key:
                    header.setdefault(key, ([], row.line))
            elif key and cell:
                header[key][0].append(cell)
    return header


def _value(header: dict, *keys: str) -> str:
    for key in keys:
        values = header.get(normalise_label(key))
        if values and values[0]:
            return values[0][0]
    return ""


def _decimal_separator(table_rows: list[Row], delimiter: str) -> str:
    if delimiter == ",":
        return "."
    for row in table_rows:
        joined = "".join(row.cells)
        if "," in joined:
            return ","
        if "." in joined:
            return "."
    return "."


def _numeric_header(header: dict, key: str, decimal: str) -> float | None:
    values = header.get(normalise_label(key))
    if not values or not values[0]:
        return None
    number = parse_number(values[0][0], decimal)
    if number is None and values[0][0].lower() != "nan":
        raise ParseError(f"expected a number, found '{values[0][0]}'", values[1], key)
    return number


def _table(rows: list[Row], decimal: str) -> tuple[list[list[float]], list[list[float]], bool]:
    linear: list[list[float]] = []
    logarithmic: list[list[float]] = []
    target, separated = linear, False
    for row in rows:
        cells = row.trimmed()
        if not cells:
            continue
        if len(cells) < 3:
            raise ParseError(f"expected at least 3 columns, found {len(cells)}", row.line, "Size Distribution")
        values = [
            require_number(cell, line=row.line, field=f"Size Distribution column {index + 1}", decimal=decimal)
            for index, cell in enumerate(cells)
        ]
        if values[0] == _SEPARATOR_VALUE:
            if separated:
                raise ParseError("a second -1 separator row", row.line, "Size Distribution")
            target, separated = logarithmic, True
            continue
        if values[0] <= 0 or any(value < 0 for value in values[1:3]):
            raise ParseError("negative size, count or concentration", row.line, "Size Distribution")
        target.append(values)
    return linear, logarithmic, separated


def _rounding_slack(counts: list[float]) -> float:
    """Largest total error four-significant-digit printing can put into a sum of particle counts."""
    slack = 0.5
    for count in counts:
        if count >= 10_000:
            slack += 0.5 * 10 ** (math.floor(math.log10(count)) - 3)
    return slack


def _close(first: list[float], second: list[float] | float) -> bool:
    other = second if isinstance(second, float | int) else sum(second)
    slack = _rounding_slack(first) + (0 if isinstance(second, float | int) else _rounding_slack(second))
    return abs(sum(first) - other) <= slack


def _delimiter(text: str) -> str:
    """Tab in instrument output; ';' or ',' only after a spreadsheet re-save. Decided on the table header."""
    for line in normalise_newlines(text).split("\n"):
        if normalise_label(line).startswith(_TABLE_HEADER):
            return "\t" if "\t" in line else ";" if ";" in line else ","
    return "\t"


def parse(text: str, *, dilution_factor=None) -> ParticleParseResult:
    rows, delimiter = read_rows(text, _delimiter(text))
    header_index = next(
        (index for index, row in enumerate(rows) if normalise_label(row.label).startswith(_TABLE_HEADER)), None
    )
    if not rows or not sniff("\n".join("\t".join(row.cells) for row in rows[:60])):
        raise ParseError("not a ZetaView export (expected 'Original File:' and a ZetaView serial/software line)", 1)
    if header_index is None:
        raise ParseError("the 'Size / nm' table header is missing; the file is truncated", field="Size Distribution")
    header = _header(rows[:header_index])
    decimal = _decimal_separator(rows[header_index + 1 : header_index + 40], delimiter)
    linear, logarithmic, separated = _table(rows[header_index + 1 :], decimal)
    if not linear:
        raise ParseError("the size distribution table has no rows; the file is truncated", field="Size Distribution")
    warnings: list[str] = []

    traces = _numeric_header(header, "Number of Traces", decimal)
    linear_counts = [row[1] for row in linear]
    counted = sum(linear_counts)
    if separated and not _close(linear_counts, [row[1] for row in logarithmic]):
        raise ParseError("the log histogram does not account for all particles; the file is truncated")
    if not separated:
        raise ParseError("the linear histogram is not followed by the -1 separator row; the file is truncated")
    # Both histograms span the same size range, so a log section that stops short was cut off.
    if not logarithmic or logarithmic[-1][0] < _SPAN_FRACTION * linear[-1][0]:
        raise ParseError("the log histogram stops short of the linear one; the file is truncated")
    if traces is not None and not _close(linear_counts, traces):
        warnings.append(f"The histogram counts {counted:g} particles but 'Number of Traces' says {traces:g}.")

    centres = [row[0] for row in linear]
    counts = [row[1] for row in linear]
    cell_concentrations = [row[2] for row in linear]
    in_cell = sum(cell_concentrations)
    computed_capture = ["concentration_per_ml"]
    statistics = size_statistics(centres, counts)
    reported_d50 = _numeric_header(header, "Median Number (D50)", decimal)
    if statistics is None:
        sizes = dict.fromkeys(SIZE_FIELDS)
    else:
        sizes = {
            "size_mean_nm": statistics.mean_nm,
            "size_mode_nm": statistics.mode_nm,
            "size_sd_nm": statistics.sd_nm,
            "d10_nm": statistics.d10_nm,
            "d50_nm": statistics.d50_nm,
            "d90_nm": statistics.d90_nm,
        }
        computed_capture += list(sizes)
    if reported_d50 is not None:
        if statistics is not None and abs(statistics.d50_nm - reported_d50) > _bin_width(centres):
            warnings.append(
                f"D50 computed from the histogram ({statistics.d50_nm:.1f} nm) differs from the reported "
                f"Median Number (D50) {reported_d50:g} nm by more than one bin."
            )
        sizes["d50_nm"] = reported_d50
        if "d50_nm" in computed_capture:
            computed_capture.remove("d50_nm")

    valid = in_cell > 0 and counted > 0
    experiment = _value(header, "Experiment")
    original_file = _value(header, "Original File")
    capture_name = experiment or re.split(r"[\\/]", original_file)[-1] or "measurement"
    if not valid:
        warnings.append(f"Capture '{capture_name}' recorded no particles: flagged invalid.")
    reason = "" if valid else "failed: no particles recorded"
    capture = Capture(capture_name, in_cell, valid, reason, **sizes, computed=computed_capture)

    file_dilution = _numeric_header(header, "Dilution", decimal)
    factor = _supplied_dilution(dilution_factor)
    if factor is not None and file_dilution is not None and factor != file_dilution:
        warnings.append(f"The supplied dilution factor {factor:g} replaces the file's Dilution:: {file_dilution:g}.")
    factor = factor if factor is not None else file_dilution
    if factor is not None and factor <= 0:
        raise ParseError(f"dilution factor must be positive, found {factor:g}", header["dilution"][1], "Dilution::")
    if factor is None:
        warnings.append("The file records no dilution factor; concentrations are as measured in the cell.")
    scale = stock_factor(factor)
    sample_name = _value(header, "Sample") or experiment or capture_name
    sample = ParticleSample(
        name=sample_name,
        dilution_factor=factor,
        dilution_applied_in_file=False,
        concentration_per_ml=stock_per_ml(in_cell, factor) if valid else None,
        instrument_average_concentration_per_ml=None,
        captures=[capture],
        histogram=Histogram(centres, [value * scale for value in cell_concentrations]),
        computed=["concentration_per_ml", "histogram"],
        settings=_settings(header, decimal, traces),
    )
    software = _value(header, "Software") or _value(header, "Analyze") or None
    metadata = _metadata(header, decimal, traces)
    if metadata["measured_at"] is None:
        warnings.append("The file states no readable acquisition time (its Date: and Time: lines).")
    return ParticleParseResult(FORMAT, software, warnings, metadata, [sample], metadata["measured_at"])


def _bin_width(centres: list[float]) -> float:
    return centres[1] - centres[0] if len(centres) > 1 else centres[0]


def _supplied_dilution(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ParseError("dilution factor must be a positive number", field="dilution_factor")
    return float(value)


def _header_number(header: dict, key: str, decimal: str) -> float | None:
    """A header value as a number, or None when it is absent or not a number (NaN)."""
    values = header.get(normalise_label(key))
    return parse_number(values[0][0], decimal) if values and values[0] else None


def _settings(header: dict, decimal: str, traces: float | None) -> dict:
    """The analyser settings the header records, under the keys particle results store them."""
    settings: dict = {}
    for key, label in _SETTINGS.items():
        value = _header_number(header, label, decimal)
        if value is not None:
            settings[key] = value if key in _MEASURED_SETTINGS else whole(value)
    if traces is not None:
        settings["number_of_traces"] = whole(traces)
    camera = {
        name: parse_number(value, decimal)
        for match in _CAMERA.finditer(_value(header, "Camera"))
        for name, value in match.groupdict().items()
        if value is not None
    }
    frame_rate = camera.get("frate") if camera.get("frate") is not None else camera.get("fpsec")
    if frame_rate is not None:
        settings["frame_rate_fps"] = whole(frame_rate)
    if camera.get("cycles") is not None:
        settings["cycles"] = whole(camera["cycles"])
    return settings


def _metadata(header: dict, decimal: str, traces: float | None) -> dict:
    date, time = _value(header, "Date"), _value(header, "Time")
    try:
        measured_at = datetime.fromisoformat(f"{date}T{time}").isoformat() if date and time else None
    except ValueError:
        measured_at = None
    software = _value(header, "Software")
    version = _SOFTWARE_VERSION.search(software)

    def number(key: str) -> float | None:
        return _header_number(header, key, decimal)

    return {
        "instrument": "ZetaView",
        "serial_number": _value(header, "ZetaView S/N"),
        "cell_serial_number": _value(header, "Cell S/N"),
        "software_version_number": version.group(1).strip() if version else _value(header, "Analyze"),
        "sop": _value(header, "SOP"),
        "operator": _value(header, "Operator"),
        "experiment": _value(header, "Experiment"),
        "original_file": _value(header, "Original File"),
        "measured_at": measured_at,
        "electrolyte": _value(header, "Electrolyte"),
        "decimal_separator": decimal,
        "number_of_traces": traces,
        "average_number_of_particles": number("Average Number of Particles"),
        "temperature_c": number("Temperature"),
        "viscosity_mpa_s": number("Viscosity"),
        "ph": number("pH"),
        "conductivity_us_cm": number("Conductivity"),
        "sensitivity": number("Sensitivity"),
        "shutter": number("Shutter"),
        "laser_wavelength_nm": number("Laser Wavelength nm"),
        "concentration_correction_factor": number("Concentration Correction Factor"),
        "cell_check_result": _value(header, "Cell Check Result"),
        "particle_drift_check_result": _value(header, "Particle Drift Check Result"),
        "reported_median_number_d50_nm": number("Median Number (D50)"),
    }
