"""Size statistics computed from a binned number distribution.

Used where an export gives a histogram but not the statistics (ZetaView reports only D50).
Percentiles interpolate linearly inside the bin in which the cumulative count crosses the
target, the usual convention for binned particle-size data (ISO 9276-2 describes the same
piecewise-linear cumulative curve).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SizeStatistics:
    mean_nm: float
    mode_nm: float
    sd_nm: float
    d10_nm: float
    d50_nm: float
    d90_nm: float


def bin_edges(centres: list[float]) -> list[float]:
    """Edges halfway between neighbouring centres; the outer edges mirror the first/last half-width.

    Midpoints rather than a fixed width because exported centres are rounded to four significant
    digits at the top end of the range.
    """
    if len(centres) == 1:
        return [centres[0] * 0.5, centres[0] * 1.5]
    inner = [(left + right) / 2 for left, right in zip(centres, centres[1:], strict=False)]
    first = centres[0] - (inner[0] - centres[0])
    last = centres[-1] + (centres[-1] - inner[-1])
    return [max(first, 0.0), *inner, last]


def percentile(centres: list[float], counts: list[float], fraction: float) -> float:
    edges = bin_edges(centres)
    total = sum(counts)
    target = fraction * total
    cumulative = 0.0
    for index, count in enumerate(counts):
        if count > 0 and cumulative + count >= target:
            within = (target - cumulative) / count
            return edges[index] + within * (edges[index + 1] - edges[index])
        cumulative += count
    return edges[-1]


def size_statistics(centres: list[float], counts: list[float]) -> SizeStatistics | None:
    """Statistics of a number histogram, or None when it holds no particles."""
    if len(centres) != len(counts):
        raise ValueError("centres and counts differ in length")
    total = sum(counts)
    if not centres or total <= 0:
        return None
    mean = sum(c * n for c, n in zip(centres, counts, strict=True)) / total
    variance = sum(n * (c - mean) ** 2 for c, n in zip(centres, counts, strict=True)) / total
    mode = centres[max(range(len(counts)), key=lambda index: counts[index])]
    return SizeStatistics(
        mean_nm=mean,
        mode_nm=mode,
        sd_nm=math.sqrt(variance),
        d10_nm=percentile(centres, counts, 0.10),
        d50_nm=percentile(centres, counts, 0.50),
        d90_nm=percentile(centres, counts, 0.90),
    )
