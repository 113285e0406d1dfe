"""Result objects returned by the parsers and their JSON-ready dictionaries.

Particle files (NanoSight, ZetaView, generic mappings) produce :class:`ParticleParseResult`, plate
readers produce :class:`PlateParseResult`; both are :class:`ParseResult`. The ``to_dict`` shapes are
the contract documented in docs/parsers.md.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from ..particles import SIZE_FIELDS


@dataclass
class Capture:
    """One video (NanoSight), one measurement (ZetaView) or one row (generic mapping).

    ``computed`` lists the fields this parser derived rather than read from the file. ``valid`` is False for a
    capture the instrument marked invalid (``invalid_reason`` quotes its verdict) or that failed outright (no
    particles, frames or tracks); such captures are left out of the sample's mean.
    """

    name: str
    concentration_per_ml: float | None
    valid: bool = True
    invalid_reason: str = ""
    size_mean_nm: float | None = None
    size_mode_nm: float | None = None
    size_sd_nm: float | None = None
    d10_nm: float | None = None
    d50_nm: float | None = None
    d90_nm: float | None = None
    computed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "concentration_per_ml": self.concentration_per_ml,
            "valid": self.valid,
            "invalid_reason": self.invalid_reason,
            **{name: getattr(self, name) for name in SIZE_FIELDS},
            "computed": list(self.computed),
        }


@dataclass
class Histogram:
    bin_center_nm: list[float] = field(default_factory=list)
    concentration_per_ml: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[float]]:
        return {"bin_center_nm": list(self.bin_center_nm), "concentration_per_ml": list(self.concentration_per_ml)}


@dataclass
class ParticleSample:
    """A group of captures of one sample.

    ``concentration_per_ml`` is the stock concentration: the mean of valid captures, multiplied by
    ``dilution_factor`` unless the file already applied it. When no dilution is known
    (``dilution_factor`` is None) it is the concentration as measured.

    ``settings`` holds the analyser settings the file records for these captures, under the keys
    particle results store them (``camera_level`` or ``sensitivity``, ``detection_threshold``,
    ``shutter``, ``frames``, ``videos``, ``temperature_c``, plus instrument-specific ones); values are
    numbers or text, never lists, and a setting the file does not state is absent.
    """

    name: str
    dilution_factor: float | None
    dilution_applied_in_file: bool
    concentration_per_ml: float | None
    instrument_average_concentration_per_ml: float | None
    captures: list[Capture]
    histogram: Histogram
    computed: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dilution_factor": self.dilution_factor,
            "dilution_applied_in_file": self.dilution_applied_in_file,
            "concentration_per_ml": self.concentration_per_ml,
            "instrument_average_concentration_per_ml": self.instrument_average_concentration_per_ml,
            "captures": [capture.to_dict() for capture in self.captures],
            "histogram": self.histogram.to_dict(),
            "computed": list(self.computed),
            "settings": dict(self.settings),
        }


def whole(value: float | None) -> float | int | None:
    """A level, count or threshold as the instrument shows it: 14, not 14.0."""
    return int(value) if value is not None and float(value).is_integer() else value


@dataclass
class ParseResult(ABC):
    """Common part of every parse: the format name, software version, warnings and metadata.

    ``metadata`` holds descriptive header values (operator, timestamps, serial numbers, settings)
    for callers that store them; it is not part of ``to_dict`` for particle files, whose shape is
    fixed.
    """

    format: str
    software_version: str | None
    warnings: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary; the shape depends on the kind of file."""


@dataclass
class ParticleParseResult(ParseResult):
    """``acquired_at`` is when the instrument acquired the captures, as the file states it: ISO 8601 local
    wall-clock time of the instrument PC without an offset (the file records none), or None when unreadable."""

    samples: list[ParticleSample] = field(default_factory=list)
    acquired_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "software_version": self.software_version,
            "acquired_at": self.acquired_at,
            "samples": [sample.to_dict() for sample in self.samples],
            "warnings": list(self.warnings),
        }


@dataclass
class PlateGrid:
    """Raw readings of one plate; ``values`` maps well names (``A1``) to a reading or None (not read)."""

    rows: list[str]
    columns: list[int]
    values: dict[str, float | None]
    wavelength_nm: float | None = None
    read_type: str | None = None

    def value(self, well: str) -> float | None:
        return self.values.get(well)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": list(self.rows),
            "columns": list(self.columns),
            "wavelength_nm": self.wavelength_nm,
            "read_type": self.read_type,
            "absorbance": dict(self.values),
        }


@dataclass
class PlateParseResult(ParseResult):
    plate: PlateGrid | None = None
    # Filled by evlims.instruments.parsers.bca.evaluate_plate when a plate map is supplied.
    assay: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "format": self.format,
            "software_version": self.software_version,
            "plate": self.plate.to_dict() if self.plate else None,
            "metadata": dict(self.metadata),
            "warnings": list(self.warnings),
        }
        if self.assay is not None:
            result.update(self.assay)
        return result
