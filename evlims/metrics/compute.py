"""Yield, purity and recovery figures for EV preparations, and their summaries over groups of preparations.

Pure pandas/numpy (no Django): a DataFrame goes in, a DataFrame comes out, and every figure is computed
column-wise so the same code serves one CSV file and a million stored measurements. Definitions follow
the project's research notes (ev-standards section 4); the literature thresholds live in thresholds.yaml.

A figure whose input is missing is NaN (or a null class), never zero: a zero would read as "measured and
found nothing". Provenance (which measurement ids fed each figure) is a separate long frame, see
``metric_provenance``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import figures

THRESHOLDS_PATH = Path(__file__).with_name("thresholds.yaml")

INDETERMINATE = "indeterminate"
NOT_INTERPRETABLE = "not_interpretable"
# The vocabulary's code for conditioned medium (evlims/samples/data/biofluids.yaml, the entry with culture: true).
CONDITIONED_MEDIUM = "cell_culture_medium"
CELLS_PER_YIELD_UNIT = 1e6

REQUIRED_PREPARATION_COLUMNS = (
    "preparation",
    "biofluid",
    "input_volume_ml",
    "prep_volume_ml",
    "particles_per_ml",
    "protein_ug_per_ml",
)
OPTIONAL_NUMERIC_COLUMNS = ("producing_cells", "input_particles_per_ml", "size_mode_nm", "size_median_nm")

# The figures computed from a preparation's measured values, and the measured quantities behind each (the
# catalogue in figures.py owns both). Volumes are not listed: they are recorded on the preparation itself, not
# produced by a measurement.
NUMERIC_METRICS = tuple(figure.key for figure in figures.FROM_VALUES)
METRIC_COLUMNS = (*NUMERIC_METRICS, figures.PURITY_CLASS.key)
METRIC_INPUTS: Mapping[str, tuple[str, ...]] = figures.INPUTS

STANDARD_GROUPINGS = ("protocol_version", "method", "biofluid", "operator", "instrument", "month")
SUMMARY_COLUMNS = ("metric", "n", "mean", "sd", "cv_pct")


class ThresholdConfigError(ValueError):
    """thresholds.yaml is malformed; the message names the section and entry."""


@dataclass(frozen=True)
class PurityBand:
    """One particles-per-µg class as a half-open or closed interval."""

    purity_class: str
    lower: float = -np.inf
    lower_inclusive: bool = False
    upper: float = np.inf
    upper_inclusive: bool = False

    def contains(self, values: np.ndarray) -> np.ndarray:
        above_lower = values >= self.lower if self.lower_inclusive else values > self.lower
        below_upper = values <= self.upper if self.upper_inclusive else values < self.upper
        return above_lower & below_upper


@lru_cache(maxsize=8)
def load_thresholds(path: Path = THRESHOLDS_PATH) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _threshold_number(section: str, entry: Mapping, key: str) -> float:
    try:
        return float(entry[key])
    except (TypeError, ValueError):
        raise ThresholdConfigError(f"{section}: {key}={entry[key]!r} is not a number") from None


_BOUND_KEYS = {"above": ("lower", False), "at_least": ("lower", True), "below": ("upper", False)}
_BOUND_KEYS["at_most"] = ("upper", True)


def purity_bands(config: Mapping | None = None) -> tuple[PurityBand, ...]:
    """The particles-per-µg classes from the config, checked to be non-overlapping."""
    config = load_thresholds() if config is None else config
    section = "particles_per_ug_purity"
    bands = []
    for entry in config[section]["bands"]:
        unknown = set(entry) - set(_BOUND_KEYS) - {"class"}
        if unknown or "class" not in entry:
            raise ThresholdConfigError(f"{section}: band {entry!r} needs 'class' and only bounds {_BOUND_KEYS}")
        bounds: dict = {}
        for key, (side, inclusive) in _BOUND_KEYS.items():
            if key in entry:
                if side in bounds:
                    raise ThresholdConfigError(f"{section}: band {entry['class']!r} has two {side} bounds")
                bounds[side] = _threshold_number(section, entry, key)
                bounds[f"{side}_inclusive"] = inclusive
        bands.append(PurityBand(purity_class=str(entry["class"]), **bounds))
    ordered = sorted(bands, key=lambda band: band.lower)
    for below, above in zip(ordered, ordered[1:], strict=False):
        touching_both_closed = below.upper == above.lower and below.upper_inclusive and above.lower_inclusive
        if below.upper > above.lower or touching_both_closed:
            raise ThresholdConfigError(f"{section}: bands {below.purity_class} and {above.purity_class} overlap")
    return tuple(bands)


def lipoprotein_confounded_biofluids(config: Mapping | None = None) -> frozenset[str]:
    config = load_thresholds() if config is None else config
    return frozenset(str(code) for code in config["lipoprotein_confounded_biofluids"]["codes"])


def small_ev_upper_nm(config: Mapping | None = None) -> float:
    config = load_thresholds() if config is None else config
    return _threshold_number("small_ev_window", config["small_ev_window"], "below_nm")


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing required column(s): {', '.join(missing)}")


def _numeric(frame: pd.DataFrame, column: str, label_column: str = "preparation") -> np.ndarray:
    """The column as float64 with NaN for missing; absent columns read as all-missing."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    try:
        values = pd.to_numeric(frame[column], errors="raise").to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise ValueError(f"column {column!r} holds a non-numeric value: {error}") from None
    negative = values < 0
    if negative.any():
        first = int(np.flatnonzero(negative)[0])
        label = frame[label_column].iloc[first] if label_column in frame.columns else first
        raise ValueError(f"column {column!r} is negative ({values[first]}) for {label_column} {label!r}")
    return values


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where either is missing or the denominator is not positive."""
    usable = np.isfinite(numerator) & np.isfinite(denominator) & (denominator > 0)
    safe_denominator = np.where(usable, denominator, 1.0)
    return np.where(usable, numerator / safe_denominator, np.nan)


def _true_flags(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].eq(True).fillna(False).to_numpy(dtype=bool)


def classify_purity(
    particles_per_ug: pd.Series | np.ndarray,
    biofluid: pd.Series | np.ndarray | None = None,
    lipoprotein_readout: pd.Series | np.ndarray | None = None,
    *,
    bands: Sequence[PurityBand] | None = None,
    confounded_biofluids: Iterable[str] | None = None,
) -> np.ndarray:
    """Webber & Clayton class per value: a band name, 'indeterminate' in the gaps between bands,
    'not_interpretable' for lipoprotein-rich biofluids without a lipoprotein readout, None when missing."""
    ratios = np.asarray(particles_per_ug, dtype="float64")
    bands = purity_bands() if bands is None else bands
    confounded = lipoprotein_confounded_biofluids() if confounded_biofluids is None else confounded_biofluids
    classes = np.select(
        [band.contains(ratios) for band in bands],
        [band.purity_class for band in bands],
        default=INDETERMINATE,
    ).astype(object)
    if biofluid is not None:
        readout = (
            np.zeros(len(ratios), dtype=bool)
            if lipoprotein_readout is None
            else pd.Series(lipoprotein_readout).eq(True).fillna(False).to_numpy(dtype=bool)
        )
        lipoprotein_rich = pd.Series(biofluid).isin(list(confounded)).to_numpy(dtype=bool)
        classes[lipoprotein_rich & ~readout] = NOT_INTERPRETABLE
    classes[~np.isfinite(ratios)] = None
    return classes


def preparation_metrics(preparations: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``preparations`` (one row per preparation) with the METRIC_COLUMNS appended.

    Required columns: REQUIRED_PREPARATION_COLUMNS. Optional: producing_cells (cells at harvest,
    conditioned medium), input_particles_per_ml (the input fluid counted the same way),
    input_measured_same_way (bool; when present, recovery is only given where it is True),
    lipoprotein_readout (bool), size_mode_nm, size_median_nm. Numeric inputs must be non-negative.
    """
    _require_columns(preparations, REQUIRED_PREPARATION_COLUMNS, "preparations")
    input_volume = _numeric(preparations, "input_volume_ml")
    prep_volume = _numeric(preparations, "prep_volume_ml")
    particles_per_ml = _numeric(preparations, "particles_per_ml")
    protein_per_ml = _numeric(preparations, "protein_ug_per_ml")
    producing_cells = _numeric(preparations, "producing_cells")
    input_particles_per_ml = _numeric(preparations, "input_particles_per_ml")

    particles_in_prep = particles_per_ml * prep_volume
    protein_in_prep = protein_per_ml * prep_volume
    is_conditioned_medium = preparations["biofluid"].eq(CONDITIONED_MEDIUM).fillna(False).to_numpy(dtype=bool)
    per_cell = _ratio(particles_in_prep, producing_cells) * CELLS_PER_YIELD_UNIT
    recovery = 100.0 * _ratio(particles_in_prep, input_particles_per_ml * input_volume)
    if "input_measured_same_way" in preparations.columns:
        recovery = np.where(_true_flags(preparations, "input_measured_same_way"), recovery, np.nan)
    particles_per_ug = _ratio(particles_per_ml, protein_per_ml)
    lipoprotein_readout = preparations["lipoprotein_readout"] if "lipoprotein_readout" in preparations.columns else None

    result = preparations.copy()
    result["particle_yield_per_ml_input"] = _ratio(particles_in_prep, input_volume)
    result["particle_yield_per_million_cells"] = np.where(is_conditioned_medium, per_cell, np.nan)
    result["protein_yield_ug_per_ml_input"] = _ratio(protein_in_prep, input_volume)
    result["particles_per_ug"] = particles_per_ug
    result["recovery_pct"] = recovery
    result["size_mode_nm"] = _numeric(preparations, "size_mode_nm")
    result["size_median_nm"] = _numeric(preparations, "size_median_nm")
    result["purity_class"] = pd.Series(
        classify_purity(particles_per_ug, preparations["biofluid"].to_numpy(), lipoprotein_readout),
        index=preparations.index,
        dtype="str",
    )
    return result


def collapse_measurements(measurements: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long measurements (measurement_id, preparation, quantity, value) to one row per preparation.

    Replicate measurements of the same quantity are averaged. Returns ``(values, provenance)``: values
    has a ``preparation`` column plus one column per quantity; provenance has columns
    (preparation, quantity, measurement_id) listing every measurement that fed each value. Rows with a
    missing value are ignored (not measured).
    """
    _require_columns(measurements, ("measurement_id", "preparation", "quantity", "value"), "measurements")
    measured = measurements.loc[measurements["value"].notna()]
    _numeric(measured, "value", label_column="measurement_id")
    values = measured.pivot_table(index="preparation", columns="quantity", values="value", aggfunc="mean", sort=False)
    values.columns.name = None
    provenance = measured[["preparation", "quantity", "measurement_id"]].reset_index(drop=True)
    return values.reset_index(), provenance


def metric_provenance(metrics: pd.DataFrame, input_provenance: pd.DataFrame) -> pd.DataFrame:
    """Which measurements fed each present figure: columns (preparation, metric, quantity, measurement_id).

    ``input_provenance`` is the second frame from ``collapse_measurements`` (or any frame with columns
    preparation, quantity, measurement_id). A figure that is missing contributes no rows.
    """
    _require_columns(input_provenance, ("preparation", "quantity", "measurement_id"), "input provenance")
    figure_columns = [column for column in METRIC_INPUTS if column in metrics.columns]
    present = metrics[figure_columns].notna()
    present.index = pd.Index(metrics["preparation"], name="preparation")
    present.columns = pd.Index(figure_columns, name="metric")
    stacked = present.stack()
    present_figures = stacked[stacked].index.to_frame(index=False)
    inputs = pd.DataFrame(
        [(metric, quantity) for metric, quantities in METRIC_INPUTS.items() for quantity in quantities],
        columns=["metric", "quantity"],
    )
    linked = present_figures.merge(inputs, on="metric").merge(input_provenance, on=["preparation", "quantity"])
    return linked[["preparation", "metric", "quantity", "measurement_id"]]


def small_ev_fraction(histogram: pd.DataFrame, below_nm: float | None = None) -> pd.DataFrame:
    """Fraction of particles in bins centred below the small-EV cut-off, per preparation.

    ``histogram`` columns: preparation, bin_center_nm, concentration_per_ml. Returns columns
    (preparation, small_ev_fraction); the fraction is NaN when a histogram counts no particles.
    """
    _require_columns(histogram, ("preparation", "bin_center_nm", "concentration_per_ml"), "histogram")
    cutoff = small_ev_upper_nm() if below_nm is None else float(below_nm)
    centres = _numeric(histogram, "bin_center_nm")
    concentration = _numeric(histogram, "concentration_per_ml")
    unusable = np.isnan(centres) | np.isnan(concentration)
    if unusable.any():
        first = int(np.flatnonzero(unusable)[0])
        raise ValueError(
            f"histogram row {first} of preparation {histogram['preparation'].iloc[first]!r} "
            "has no bin centre or concentration"
        )
    totals = (
        pd.DataFrame(
            {
                "preparation": histogram["preparation"].to_numpy(),
                "small": np.where(centres < cutoff, concentration, 0.0),
                "total": concentration,
            }
        )
        .groupby("preparation", sort=False)[["small", "total"]]
        .sum()
    )
    fraction = _ratio(totals["small"].to_numpy(), totals["total"].to_numpy())
    return pd.DataFrame({"preparation": totals.index.to_numpy(), "small_ev_fraction": fraction})


def marker_enrichment(markers: pd.DataFrame) -> pd.DataFrame:
    """Fold enrichment of each marker in the preparation over its source (ev-standards section 4.3).

    ``markers`` columns: preparation, marker, prep_signal_per_ug and source_signal_per_ug (signal per µg
    of total protein loaded). Returns a copy with ``enrichment_fold`` appended; NaN where the source was
    not measured or gave no signal. Measurement-id columns, if present, ride along as the provenance.
    """
    _require_columns(markers, ("preparation", "marker", "prep_signal_per_ug", "source_signal_per_ug"), "markers")
    result = markers.copy()
    result["enrichment_fold"] = _ratio(
        _numeric(markers, "prep_signal_per_ug"), _numeric(markers, "source_signal_per_ug")
    )
    return result


def summarise(frame: pd.DataFrame, by: Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """n, mean, sample SD and CV% of each metric per group, in long form.

    Columns: the ``by`` keys, then metric, n, mean, sd, cv_pct. Groups keep first-appearance order and a
    missing key forms its own group. ``n`` counts rows with the figure; sd uses n-1; cv_pct is
    100·sd/|mean| and is NaN for n < 2 or mean 0.
    """
    by, metrics = list(by), list(metrics)
    if not by:
        raise ValueError("summarise needs at least one grouping column")
    _require_columns(frame, [*by, *metrics], "frame to summarise")
    non_numeric = [metric for metric in metrics if not pd.api.types.is_numeric_dtype(frame[metric])]
    if non_numeric:
        raise ValueError(f"cannot summarise non-numeric column(s): {', '.join(non_numeric)}")
    grouped = frame.groupby(by, sort=False, dropna=False)[metrics]
    columns = {"n": grouped.count(), "mean": grouped.mean(), "sd": grouped.std(ddof=1)}
    long = pd.DataFrame({name: table.stack() for name, table in columns.items()})
    long.index = long.index.set_names([*by, "metric"])
    long = long.reset_index()
    long["cv_pct"] = cv_pct(long["n"], long["mean"], long["sd"])
    long["n"] = long["n"].astype("int64")
    return long[[*by, *SUMMARY_COLUMNS]]


def cv_pct(n, mean, sd) -> np.ndarray:
    """100·sd/|mean| per group; NaN for n < 2 or a mean of 0 (also for summaries computed by a database)."""
    n = np.asarray(n, dtype="float64")
    mean = np.asarray(mean, dtype="float64")
    cv_defined = (n >= 2) & np.isfinite(mean) & (mean != 0)
    safe_mean = np.where(cv_defined, np.abs(mean), 1.0)
    return np.where(cv_defined, 100.0 * np.asarray(sd, dtype="float64") / safe_mean, np.nan)


def run_summary(metrics: pd.DataFrame, metric_columns: Sequence[str] = NUMERIC_METRICS) -> pd.DataFrame:
    """``summarise`` per run (batch)."""
    return summarise(metrics, by=["run"], metrics=metric_columns)


def compare_methods(
    metrics: pd.DataFrame, metric_columns: Sequence[str] = NUMERIC_METRICS, biofluid: str | None = None
) -> pd.DataFrame:
    """Summaries per isolation method within each biofluid, so methods are only set side by side on
    the same starting material. ``biofluid`` narrows the comparison to one biofluid."""
    _require_columns(metrics, ("biofluid", "method"), "metrics")
    selected = metrics if biofluid is None else metrics.loc[metrics["biofluid"].eq(biofluid).fillna(False)]
    return summarise(selected, by=["biofluid", "method"], metrics=metric_columns)


def with_month(frame: pd.DataFrame, date_column: str, into: str = "month") -> pd.DataFrame:
    """A copy with ``into`` holding the calendar month (YYYY-MM) of ``date_column``, for grouping."""
    _require_columns(frame, [date_column], "frame")
    dates = pd.to_datetime(frame[date_column], utc=True)
    result = frame.copy()
    result[into] = dates.dt.strftime("%Y-%m")
    return result
