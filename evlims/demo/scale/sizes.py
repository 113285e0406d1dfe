"""Sizes of a generated load, their defaults and the arithmetic that shares counts out."""

import math
from dataclasses import dataclass

from ..builder import split as split_weighted  # whole counts in proportion, as the demo shares them out

DEFAULT_SEED = 2027
DEFAULT_PREPARATIONS = 100_000
DEFAULT_SAMPLES = 100_000
DEFAULT_MEASUREMENTS = 1_000_000
DEFAULT_RUNS = 10_000
DEFAULT_HISTOGRAM_BINS = 12
BATCH = 2000  # rows per INSERT statement of the bench's plain bulk_create baseline
CHUNK = 5000  # rows built in memory, then written, at a time


@dataclass(frozen=True)
class ScaleSize:
    preparations: int = DEFAULT_PREPARATIONS
    samples: int = DEFAULT_SAMPLES
    measurements: int = DEFAULT_MEASUREMENTS
    runs: int = DEFAULT_RUNS
    labs: int = 1
    seed: int = DEFAULT_SEED
    histogram_bins: int = DEFAULT_HISTOGRAM_BINS

    def __post_init__(self):
        if min(self.preparations, self.samples, self.runs, self.labs, self.histogram_bins) < 1:
            raise ValueError("preparations, samples, runs, labs and histogram bins must be at least 1.")
        if self.measurements < 0:
            raise ValueError("measurements cannot be negative.")
        if self.runs > self.preparations:
            raise ValueError("every run needs at least one preparation: runs cannot exceed preparations.")

    @classmethod
    def from_preparations(cls, preparations: int, **overrides) -> "ScaleSize":
        """Sizes in the default proportions (1 sample and 10 measurements per preparation, 10 per run)."""
        values = {
            "preparations": preparations,
            "samples": preparations,
            "measurements": preparations * 10,
            "runs": max(1, preparations // 10),
        }
        return cls(**(values | {key: value for key, value in overrides.items() if value is not None}))


__all__ = ["ScaleSize", "log_uniform", "significant", "split", "split_weighted"]


def split(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` nearly equal whole counts."""
    base, extra = divmod(total, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]


def log_uniform(rng, low, high):
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def significant(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}")
