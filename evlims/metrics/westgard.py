"""Westgard multi-rules on control-sample series (for example a reference EV material counted each run).

Every series is one control measured under one protocol, ordered by ``order_by``. Each point is turned
into a z-score against a target mean and SD, which come either from a targets table (an assigned value
for the control) or from the first ``baseline_points`` of the series itself (sample SD, n-1). Points used
to estimate the baseline are not judged, but they do count as the earlier points of multi-point rules.

All rules are checked on every judged point (no 1-2s gate), fully vectorised over all series at once.
The rule set, limits and levels are data in thresholds.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .compute import ThresholdConfigError, load_thresholds

WARNING = "warning"
REJECT = "reject"
ACCEPT = "accept"
RULE_KINDS = ("consecutive_beyond", "opposite_pair")
OUTPUT_COLUMNS = ("target_mean", "target_sd", "z_score", "judged", "violated_rules", "level")


@dataclass(frozen=True)
class WestgardRule:
    name: str
    kind: str
    limit_sd: float
    level: str
    count: int = 1


def westgard_rules(config: Mapping | None = None) -> tuple[WestgardRule, ...]:
    config = load_thresholds() if config is None else config
    rules = []
    for entry in config["westgard"]["rules"]:
        name = entry.get("name")
        if entry.get("kind") not in RULE_KINDS or entry.get("level") not in (WARNING, REJECT):
            raise ThresholdConfigError(
                f"westgard rule {name!r}: kind must be one of {RULE_KINDS}, level {WARNING}/{REJECT}"
            )
        count = int(entry.get("count", 1))
        if count < 1:
            raise ThresholdConfigError(f"westgard rule {name!r}: count must be at least 1")
        rules.append(
            WestgardRule(
                name=str(name), kind=entry["kind"], limit_sd=float(entry["limit_sd"]), level=entry["level"], count=count
            )
        )
    return tuple(rules)


class WestgardInputError(ValueError):
    """The control series or its targets cannot be evaluated; the message names the series."""


def _run_lengths(condition: np.ndarray, series_codes: np.ndarray) -> np.ndarray:
    """For each point, how many consecutive points of its series (ending here) satisfy ``condition``."""
    size = len(condition)
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    block_starts = np.ones(size, dtype=bool)
    block_starts[1:] = (condition[1:] != condition[:-1]) | (series_codes[1:] != series_codes[:-1])
    block_id = np.cumsum(block_starts) - 1
    position_in_block = np.arange(size) - np.flatnonzero(block_starts)[block_id]
    return np.where(condition, position_in_block + 1, 0)


def _previous_in_series(values: np.ndarray, series_codes: np.ndarray) -> np.ndarray:
    previous = np.full(len(values), np.nan)
    if len(values) > 1:
        same_series = series_codes[1:] == series_codes[:-1]
        previous[1:] = np.where(same_series, values[:-1], np.nan)
    return previous


def _rule_flags(rule: WestgardRule, z: np.ndarray, series_codes: np.ndarray) -> np.ndarray:
    high, low = z > rule.limit_sd, z < -rule.limit_sd
    if rule.kind == "consecutive_beyond":
        return (_run_lengths(high, series_codes) >= rule.count) | (_run_lengths(low, series_codes) >= rule.count)
    previous = _previous_in_series(z, series_codes)
    return (high & (previous < -rule.limit_sd)) | (low & (previous > rule.limit_sd))


def _shown(value: object) -> str:
    """repr of a cell, unwrapped from its numpy scalar type so messages read np.int64(1) as 1."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _describe(series: pd.DataFrame, keys: list[str], row: int) -> str:
    return ", ".join(f"{key}={_shown(series[key].iloc[row])}" for key in keys)


def _targets_from_table(ordered: pd.DataFrame, keys: list[str], targets: pd.DataFrame) -> pd.DataFrame:
    missing = [column for column in [*keys, "target_mean", "target_sd"] if column not in targets.columns]
    if missing:
        raise WestgardInputError(f"targets are missing column(s): {', '.join(missing)}")
    if targets.duplicated(subset=keys).any():
        row = int(np.flatnonzero(targets.duplicated(subset=keys).to_numpy())[0])
        raise WestgardInputError(f"targets list the series {_describe(targets, keys, row)} more than once")
    matched = ordered[keys].merge(targets[[*keys, "target_mean", "target_sd"]], on=keys, how="left")
    return matched[["target_mean", "target_sd"]]


def _targets_from_baseline(
    ordered: pd.DataFrame, keys: list[str], value_column: str, position: np.ndarray, baseline_points: int
) -> pd.DataFrame:
    if baseline_points < 2:
        raise WestgardInputError("a baseline needs at least 2 points to estimate an SD")
    series_codes = ordered.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    baseline = pd.DataFrame({"series": series_codes, "value": ordered[value_column].to_numpy()})
    estimates = baseline[position < baseline_points].groupby("series")["value"].agg(["mean", "std", "count"])
    estimates = estimates.reindex(np.arange(series_codes.max() + 1 if len(series_codes) else 0))
    short = estimates["count"].fillna(0) < baseline_points
    if short.any():
        row = int(np.flatnonzero(series_codes == short.index[short.to_numpy()][0])[0])
        raise WestgardInputError(
            f"series {_describe(ordered, keys, row)} has fewer than {baseline_points} baseline points"
        )
    return pd.DataFrame(
        {
            "target_mean": estimates["mean"].to_numpy()[series_codes],
            "target_sd": estimates["std"].to_numpy()[series_codes],
        }
    )


def evaluate_westgard(
    series: pd.DataFrame,
    *,
    group_by: Sequence[str] = ("control", "protocol"),
    order_by: str = "sequence",
    value_column: str = "value",
    targets: pd.DataFrame | None = None,
    baseline_points: int | None = None,
    rules: Sequence[WestgardRule] | None = None,
) -> pd.DataFrame:
    """Judge every control point; returns a copy of ``series`` (same order) with OUTPUT_COLUMNS appended.

    Targets: pass ``targets`` (columns ``group_by`` + target_mean + target_sd, one row per series), or
    ``baseline_points`` to estimate them from the start of each series, or neither when ``series`` already
    carries target_mean and target_sd columns. ``violated_rules`` is a tuple of rule names; ``level`` is
    'reject' if a reject rule fired, else 'warning' if a warning rule fired, else 'accept'; baseline
    points have judged=False, no rules and a null level.
    """
    keys = list(group_by)
    missing = [column for column in [*keys, order_by, value_column] if column not in series.columns]
    if missing:
        raise WestgardInputError(f"control series are missing column(s): {', '.join(missing)}")
    has_own_targets = {"target_mean", "target_sd"} <= set(series.columns)
    if sum([targets is not None, baseline_points is not None, has_own_targets]) != 1:
        raise WestgardInputError(
            "give exactly one source of targets: a targets table, baseline_points, or target_mean/target_sd columns"
        )
    rules = westgard_rules() if rules is None else tuple(rules)
    if not rules:
        raise WestgardInputError("no Westgard rules to evaluate")

    ordered = series.reset_index(drop=True).sort_values([*keys, order_by], kind="stable")
    original_position = ordered.index.to_numpy()
    ordered = ordered.reset_index(drop=True)
    if ordered.duplicated(subset=[*keys, order_by]).any():
        row = int(np.flatnonzero(ordered.duplicated(subset=[*keys, order_by]).to_numpy())[0])
        raise WestgardInputError(
            f"series {_describe(ordered, keys, row)} has two points at {order_by}={_shown(ordered[order_by].iloc[row])}"
        )
    values = pd.to_numeric(ordered[value_column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if np.isnan(values).any():
        row = int(np.flatnonzero(np.isnan(values))[0])
        raise WestgardInputError(
            f"series {_describe(ordered, keys, row)} has no numeric {value_column} at "
            f"{order_by}={_shown(ordered[order_by].iloc[row])}"
        )
    series_codes = ordered.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    position = ordered.groupby(keys, sort=False, dropna=False).cumcount().to_numpy()

    if targets is not None:
        target = _targets_from_table(ordered, keys, targets)
    elif baseline_points is not None:
        target = _targets_from_baseline(ordered, keys, value_column, position, int(baseline_points))
    else:
        target = ordered[["target_mean", "target_sd"]]
    target_mean = pd.to_numeric(target["target_mean"]).to_numpy(dtype="float64", na_value=np.nan)
    target_sd = pd.to_numeric(target["target_sd"]).to_numpy(dtype="float64", na_value=np.nan)
    unusable = ~np.isfinite(target_mean) | ~(target_sd > 0)
    if unusable.any():
        row = int(np.flatnonzero(unusable)[0])
        raise WestgardInputError(
            f"series {_describe(ordered, keys, row)} has no usable target "
            f"(mean={target_mean[row]}, sd={target_sd[row]}; the SD must be positive)"
        )

    z = (values - target_mean) / target_sd
    judged = position >= (baseline_points or 0)
    flags = np.column_stack([_rule_flags(rule, z, series_codes) for rule in rules]) & judged[:, None]
    # Each combination of fired rules maps to one shared tuple, so no per-point Python work is needed.
    bitmask = flags.astype(np.int64) @ (1 << np.arange(len(rules), dtype=np.int64))
    combinations = np.empty(1 << len(rules), dtype=object)
    combinations[:] = [
        tuple(rule.name for bit, rule in enumerate(rules) if mask >> bit & 1) for mask in range(1 << len(rules))
    ]
    is_reject = np.array([rule.level == REJECT for rule in rules], dtype=bool)
    level = np.where(flags[:, is_reject].any(axis=1), REJECT, np.where(flags.any(axis=1), WARNING, ACCEPT))

    computed = {
        "target_mean": target_mean,
        "target_sd": target_sd,
        "z_score": z,
        "judged": judged,
        "violated_rules": combinations[bitmask],
        "level": np.where(judged, level, None).astype(object),
    }
    result = series.copy()
    for column, ordered_values in computed.items():
        in_input_order = np.empty(len(ordered_values), dtype=ordered_values.dtype)
        in_input_order[original_position] = ordered_values
        result[column] = in_input_order
    return result
