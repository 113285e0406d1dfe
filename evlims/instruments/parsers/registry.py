"""Format detection and dispatch: the single entry point for turning uploaded bytes into results."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from . import bca, ensight, envision, gen5, generic, nanosight, softmax, zetaview
from .errors import ParseError
from .results import ParseResult, PlateParseResult
from .spreadsheet import workbook_to_csv
from .text import DEFAULT_MAX_BYTES, ZIP_MAGIC, check_size, decode_text

PARSERS: dict[str, ModuleType] = {
    module.FORMAT: module for module in (nanosight, zetaview, softmax, ensight, gen5, envision, generic)
}
FORMATS = tuple(PARSERS)
# Tried in this order by detection; generic files carry no signature and are never detected.
# EnVision before EnSight: both begin with 'Plate information'; EnVision's header row tells them apart.
_DETECTABLE = (nanosight, zetaview, softmax, gen5, envision, ensight)
_PLATE_FORMATS = {softmax.FORMAT, ensight.FORMAT, gen5.FORMAT, envision.FORMAT}


def _to_text(data: bytes, max_bytes: int, sheet: str | None = None) -> str:
    check_size(data, max_bytes)
    if bytes(data[:4]) == ZIP_MAGIC:
        return workbook_to_csv(bytes(data), sheet)
    return decode_text(data)


def _detect_text(text: str) -> str:
    for module in _DETECTABLE:
        if module.sniff(text):
            return module.FORMAT
    raise ParseError(
        "unrecognised file: not a NanoSight, ZetaView, SoftMax Pro, EnSight, Gen5 or EnVision export; "
        "for other tables use format 'generic' with a column mapping",
        field="format",
    )


def detect_format(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Name of the format of ``data``, decided from its content (never from a file name)."""
    return _detect_text(_to_text(data, max_bytes))


def parse_bytes(
    data: bytes, format: str = "auto", *, max_bytes: int = DEFAULT_MAX_BYTES, **options: Any
) -> ParseResult:
    """Parse an instrument export; every failure is a :class:`ParseError`.

    Options: ``dilution_factor`` (number, or per-sample dict for NanoSight) and ``grouping``
    (capture name -> sample name, NanoSight); ``plate_map`` and ``fit`` (plate readers);
    ``mapping`` (generic). With ``format="auto"`` and a ``mapping``, a file no vendor parser
    recognises is read as generic.
    """
    if format != "auto" and format not in PARSERS:
        raise ParseError(f"unknown format '{format}'; choose auto or one of {', '.join(FORMATS)}", field="format")
    mapping = options.get("mapping")
    sheet = mapping.get("sheet") if isinstance(mapping, dict) else None
    text = _to_text(data, max_bytes, sheet)
    if format == "auto":
        try:
            format = _detect_text(text)
        except ParseError:
            if mapping is None:
                raise
            format = generic.FORMAT
    module = PARSERS[format]
    unknown = sorted(set(options) - module.OPTIONS)
    if unknown:
        raise ParseError(f"option '{unknown[0]}' does not apply to {format} files", field=unknown[0])
    plate_map = options.pop("plate_map", None)
    fit = options.pop("fit", None)
    if fit is not None and plate_map is None:
        raise ParseError("a standard-curve fit needs a plate map", field="fit")
    try:
        result = module.parse(text, **options)
        if isinstance(result, PlateParseResult) and plate_map is not None:
            result.assay, warnings = bca.evaluate_plate(result.plate, plate_map, fit)
            result.warnings.extend(warnings)
    except ParseError:
        raise
    except Exception as error:  # noqa: BLE001 - an upload must never surface as a server error
        raise ParseError(f"the file could not be read as {format} ({type(error).__name__}: {error})")
    return result
