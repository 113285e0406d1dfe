"""Particle measurements as every layer reads them: the size figures a particle result carries, and the
dilution between the concentration measured in the cell and the stock.

Pure Python (no Django): the instrument parsers, the file ingestion, the characterization services, the result
forms and pages, the API and the demo builders all take them from here. It sits with the instruments, the
lowest layer that reads particle files, so that the parsers can use it too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SizeFigure:
    key: str  # field of a particle result, of its captures and of a parsed particle sample
    label: str  # the lab's words
    unit: str = "nm"

    @property
    def heading(self) -> str:
        """Label with its unit, as a form field or a table column shows it: "D50 (nm)"."""
        return f"{self.label} ({self.unit})"


# The size figures of a particle result and of each of its captures, in the order they are shown.
SIZE_FIGURES: tuple[SizeFigure, ...] = (
    SizeFigure("size_mean_nm", "Mean size"),
    SizeFigure("size_mode_nm", "Mode"),
    SizeFigure("size_sd_nm", "SD"),
    SizeFigure("d10_nm", "D10"),
    SizeFigure("d50_nm", "D50"),
    SizeFigure("d90_nm", "D90"),
)
SIZE_FIELDS: tuple[str, ...] = tuple(figure.key for figure in SIZE_FIGURES)


def stock_factor(dilution_factor: float | None, *, applied_in_file: bool | None = False) -> float:
    """What a concentration measured in the cell is multiplied by to give the stock's: the dilution factor, or 1
    when it is unknown (the concentration stays as measured) or the instrument already applied it."""
    return float(dilution_factor) if dilution_factor and not applied_in_file else 1.0


def stock_per_ml(
    in_cell_per_ml: float | None, dilution_factor: float | None, *, applied_in_file: bool | None = False
) -> float | None:
    """The stock concentration, per mL of the undiluted preparation, from the concentration measured per mL of
    the diluted sample in the cell (or in the well, for a protein assay): × the dilution factor (volume of the
    diluted sample per volume of stock in it, ≥ 1). Unchanged when the factor is unknown or the instrument
    already applied it (``applied_in_file``); None (nothing measured) stays None."""
    factor = stock_factor(dilution_factor, applied_in_file=applied_in_file)
    if in_cell_per_ml is None or factor == 1.0:
        return in_cell_per_ml
    return in_cell_per_ml * factor


def in_cell_per_ml(stock_per_ml_: float | None, dilution_factor: float | None) -> float | None:
    """The inverse of ``stock_per_ml``: the concentration in the cell (or the well) of a stock concentration
    diluted by ``dilution_factor`` (where a standard curve places a protein sample). None stays None."""
    factor = stock_factor(dilution_factor)
    if stock_per_ml_ is None or factor == 1.0:
        return stock_per_ml_
    return stock_per_ml_ / factor


# How people write a dilution into a sample or file name: 1:2000, 1-2000, 1in2000, 1 to 2000, x2000, d200, _2000_.
_DILUTION_HINTS = (
    re.compile(r"(?<![\d.])1\s*(?::|-|in|to)\s*(\d+(?:\.\d+)?)(?![\d.])", re.IGNORECASE),
    re.compile(r"(?<![A-Za-z\d])[xd]\s?(\d+(?:\.\d+)?)(?![\d.])", re.IGNORECASE),
    re.compile(r"(?:^|_)(\d+)(?=_)"),
)


def dilution_hint(*texts: str) -> tuple[float, str] | None:
    """A dilution factor a name suggests, with the words it was read from: ``EV12_1in2000`` gives (2000.0,
    "1in2000"). Only ever a suggestion, for a person to confirm: names are free text. Factors below 2 are not
    taken for dilutions (``1-1`` is a replicate, ``x1`` a magnification)."""
    for pattern in _DILUTION_HINTS:
        for text in texts:
            for match in pattern.finditer(text or ""):
                factor = float(match.group(1))
                if 2 <= factor <= 1e9:
                    return factor, match.group(0).strip("_")
    return None
