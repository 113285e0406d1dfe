"""Particle measurements as every layer reads them: the size figures a particle result carries.

Pure Python (no Django): the instrument parsers, the file ingestion, the characterization services, the result
forms and pages, the API and the demo builders all take the size fields from here. It sits with the
instruments, the lowest layer that reads particle files, so that the parsers can use it too.
"""

from __future__ import annotations

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
