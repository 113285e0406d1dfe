"""Instrument export parsers (pure Python, no Django).

Public API::

    detect_format(data: bytes) -> str
    parse_bytes(data: bytes, format: str = "auto", **options) -> ParseResult
    evaluate_plate(grid: PlateGrid, plate_map: dict, fit: str | None = None) -> (dict, list[str])

See docs/parsers.md for the formats, options and output shapes.
"""

from .bca import evaluate_plate
from .errors import ParseError
from .registry import FORMATS, detect_format, parse_bytes
from .results import Capture, Histogram, ParseResult, ParticleParseResult, ParticleSample, PlateGrid, PlateParseResult
from .text import DEFAULT_MAX_BYTES

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMATS",
    "Capture",
    "Histogram",
    "ParseError",
    "ParseResult",
    "ParticleParseResult",
    "ParticleSample",
    "PlateGrid",
    "PlateParseResult",
    "detect_format",
    "evaluate_plate",
    "parse_bytes",
]
