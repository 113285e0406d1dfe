"""Westgard multi-rules on control series, as Westgard et al. define them (Clin Chem 1981;27:493-501).

A *level* is one control material measured under one protocol (a series, ``group_by``), in the order of
``order_by``. A *run* is the analytical run (``run_by``): the levels measured in the same run are judged
together, and the levels that may be compared with each other share ``across_by``. Without a run column every
point is its own run and only the rules within a level apply.

Each point becomes a z-score against a target mean and SD: assigned ones (a targets table, or target_mean and
target_sd columns) or ones estimated from the first ``baseline_points`` of its level (sample SD, n-1). An
estimate resting on fewer than ``full_baseline_points()`` points (20) is *provisional*. Baseline points are not
judged, but they count as the earlier points of multi-point rules.

On a log scale (``log_scale``: log-normal figures such as particles per µg) everything is computed on log10 of
the values: the mean and SD are those of log10, so the limits 10^(mean ± k·SD) are never negative. Assigned
targets are given in the figure's own units, as an arithmetic mean and SD, and converted (``log10_targets``).

All rules are checked on every judged point (no 1-2s gate); every violation names its rule, its scope and its
points. The rules are data in thresholds.yaml."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .compute import ThresholdConfigError, load_thresholds

WARNING = "warning"
REJECT = "reject"
ACCEPT = "accept"
RULE_KINDS = ("consecutive_beyond", "range")
WITHIN_LEVEL, WITHIN_RUN, ACROSS_LEVELS = "within_level", "within_run", "across_levels"
SCOPES = (WITHIN_LEVEL, WITHIN_RUN, ACROSS_LEVELS)
SCOPE_WORDS = {
    WITHIN_LEVEL: "within one level",
    WITHIN_RUN: "across levels within one run",
    ACROSS_LEVELS: "across levels and runs",
}
OUTPUT_COLUMNS = (
    "target_mean",
    "target_sd",
    "z_score",
    "judged",
    "violated_rules",
    "violations",
    "level",
    "baseline_n",
    "provisional",
    "problem",
)
VIOLATION_COLUMNS = ("rule", "scope", "severity", "run", "points")


@dataclass(frozen=True)
class WestgardRule:
    name: str
    kind: str
    limit_sd: float
    level: str
    count: int = 1
    scopes: tuple[str, ...] = (WITHIN_LEVEL,)


def _rule(entry: Mapping) -> WestgardRule:
    name = entry.get("name")
    if entry.get("kind") not in RULE_KINDS or entry.get("level") not in (WARNING, REJECT):
        raise ThresholdConfigError(
            f"westgard rule {name!r}: kind must be one of {RULE_KINDS}, level {WARNING}/{REJECT}"
        )
    count = int(entry.get("count", 2 if entry["kind"] == "range" else 1))
    scopes = tuple(entry.get("scopes") or (WITHIN_LEVEL,))
    if count < 1:
        raise ThresholdConfigError(f"westgard rule {name!r}: count must be at least 1")
    if set(scopes) - set(SCOPES):
        raise ThresholdConfigError(f"westgard rule {name!r}: scopes must be among {SCOPES}")
    if entry["kind"] == "range" and scopes != (WITHIN_RUN,):
        raise ThresholdConfigError(f"westgard rule {name!r}: a range rule applies within a run only")
    if count == 1 and scopes != (WITHIN_LEVEL,):
        raise ThresholdConfigError(f"westgard rule {name!r}: a one-point rule has the scope within_level only")
    return WestgardRule(str(name), entry["kind"], float(entry["limit_sd"]), entry["level"], count, scopes)


def westgard_rules(config: Mapping | None = None) -> tuple[WestgardRule, ...]:
    config = load_thresholds() if config is None else config
    return tuple(_rule(entry) for entry in config["westgard"]["rules"])


def full_baseline_points(config: Mapping | None = None) -> int:
    """How many points an estimated baseline needs before its limits stop being provisional."""
    config = load_thresholds() if config is None else config
    points = int(config["westgard"]["baseline"]["full_points"])
    if points < 2:
        raise ThresholdConfigError("westgard baseline: full_points must be at least 2")
    return points


def log10_targets(mean, sd):
    """An assigned arithmetic mean and SD of a log-normal figure, as the mean and SD of its log10 (moments):
    s_ln² = ln(1 + (SD/mean)²), m_ln = ln(mean) − s_ln²/2, each divided by ln 10."""
    mean, sd = np.asarray(mean, dtype="float64"), np.asarray(sd, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        variance_ln = np.log1p((sd / mean) ** 2)
        return (np.log(mean) - variance_ln / 2) / np.log(10), np.sqrt(variance_ln) / np.log(10)


class WestgardInputError(ValueError):
    """The control series or its targets cannot be evaluated; the message names the series."""


@dataclass(frozen=True)
class WestgardResult:
    points: pd.DataFrame  # the input, same order, with OUTPUT_COLUMNS
    violations: pd.DataFrame  # VIOLATION_COLUMNS; points are row positions of the input


def _shown(value: object) -> str:
    """repr of a cell, unwrapped from its numpy scalar type so messages read np.int64(1) as 1."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _describe(frame: pd.DataFrame, keys: list[str], row: int) -> str:
    return ", ".join(f"{key}={_shown(frame[key].iloc[row])}" for key in keys)


def _run_lengths(condition: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """For each position, how many consecutive positions of its group (ending here) satisfy ``condition``."""
    size = len(condition)
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.ones(size, dtype=bool)
    starts[1:] = (condition[1:] != condition[:-1]) | (codes[1:] != codes[:-1])
    block = np.cumsum(starts) - 1
    return np.where(condition, np.arange(size) - np.flatnonzero(starts)[block] + 1, 0)


def _block_sums(condition: np.ndarray, weights: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Like _run_lengths, but summing ``weights`` over the consecutive positions instead of counting them."""
    starts = np.ones(len(condition), dtype=bool)
    starts[1:] = (condition[1:] != condition[:-1]) | (codes[1:] != codes[:-1])
    block = np.cumsum(starts) - 1
    totals = np.cumsum(weights)
    before = np.concatenate([[0], totals])[np.flatnonzero(starts)][block]
    return np.where(condition, totals - before, 0)


def _series_targets(ordered, keys, values, position, targets, baseline_points, log_scale, full):
    """Per point: target mean and SD (judging scale), baseline window, points in the baseline, problem text."""
    codes = ordered.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    count = codes.max() + 1 if len(codes) else 0
    window = np.zeros(count, dtype=np.int64)
    mean, sd = np.full(count, np.nan), np.full(count, np.nan)
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    if targets is not None or baseline_points is None:
        table = targets if targets is not None else ordered.iloc[first][[*keys, "target_mean", "target_sd"]]
        missing = [column for column in [*keys, "target_mean", "target_sd"] if column not in table.columns]
        if missing:
            raise WestgardInputError(f"targets are missing column(s): {', '.join(missing)}")
        if targets is not None and table.duplicated(subset=keys).any():
            row = int(np.flatnonzero(table.duplicated(subset=keys).to_numpy())[0])
            raise WestgardInputError(f"targets list the series {_describe(table, keys, row)} more than once")
        columns = [*keys, "target_mean", "target_sd", *(["baseline_points"] if "baseline_points" in table else [])]
        matched = ordered.iloc[first][keys].merge(table[columns], on=keys, how="left")
        mean = pd.to_numeric(matched["target_mean"]).to_numpy(dtype="float64", na_value=np.nan)
        sd = pd.to_numeric(matched["target_sd"]).to_numpy(dtype="float64", na_value=np.nan)
        if "baseline_points" in matched:
            window = pd.to_numeric(matched["baseline_points"]).fillna(0).to_numpy(dtype="int64")
        estimate = np.isnan(mean) & np.isnan(sd) & (window > 0)
        unusable = ~estimate & (~np.isfinite(mean) | ~(sd > 0) | (log_scale & ~(mean > 0)))
        if unusable.any():
            code = int(np.flatnonzero(unusable)[0])
            raise WestgardInputError(
                f"series {_describe(ordered, keys, int(first[code]))} has no usable target "
                f"(mean={mean[code]}, sd={sd[code]}; the SD must be positive)"
            )
        if log_scale:
            log_mean, log_sd = log10_targets(mean, sd)
            mean, sd = np.where(estimate, np.nan, log_mean), np.where(estimate, np.nan, log_sd)
    else:
        if int(baseline_points) < 2:
            raise WestgardInputError("a baseline needs at least 2 points to estimate an SD")
        window[:] = int(baseline_points)
        estimate = np.ones(count, dtype=bool)
    in_baseline = position < window[codes]
    stats = pd.DataFrame({"code": codes, "value": values})[in_baseline].groupby("code")["value"].agg(["mean", "std"])
    stats = stats.reindex(np.arange(count))
    used = np.bincount(codes[in_baseline], minlength=count)
    mean = np.where(estimate, stats["mean"].to_numpy(), mean)
    sd = np.where(estimate, stats["std"].to_numpy(), sd)
    problem = np.full(count, None, dtype=object)
    no_spread = estimate & (used >= 2) & ~(sd > 0)
    problem[no_spread] = "its baseline has no spread (every baseline value is the same), so it has no SD"
    problem[estimate & (used < 2)] = "a baseline needs at least 2 points to estimate an SD"
    provisional = estimate & (used < full)
    return codes, mean[codes], sd[codes], window[codes], np.where(estimate, used, 0)[codes], provisional[codes], problem


def judge_controls(
    series: pd.DataFrame,
    *,
    group_by: Sequence[str] = ("control", "protocol"),
    across_by: Sequence[str] = ("protocol",),
    run_by: str = "run",
    order_by: str = "sequence",
    value_column: str = "value",
    targets: pd.DataFrame | None = None,
    baseline_points: int | None = None,
    rules: Sequence[WestgardRule] | None = None,
    log_scale: bool = False,
    unusable: str = "raise",
) -> WestgardResult:
    """Judge every control point.

    Targets: pass ``targets`` (columns ``group_by`` + target_mean + target_sd, one row per level; a row with
    empty targets and a ``baseline_points`` column is estimated from its first points instead), or
    ``baseline_points`` to estimate every level's, or neither when ``series`` carries target_mean and
    target_sd. A level with fewer points than its baseline is estimated from those it has (provisional).
    ``unusable="raise"`` raises WestgardInputError for a level that cannot be judged (a baseline of fewer than
    2 points or without spread, a value that a log scale cannot take); ``"mark"`` leaves it unjudged with the
    reason in ``problem``. ``level`` is 'reject' if a reject rule fired, else 'warning', else 'accept';
    baseline points have judged=False, no rules and a null level.
    """
    keys, across = list(group_by), list(across_by)
    has_runs = run_by in series.columns
    missing = [column for column in [*keys, order_by, value_column] if column not in series.columns]
    if missing:
        raise WestgardInputError(f"control series are missing column(s): {', '.join(missing)}")
    if set(across) - set(keys):
        raise WestgardInputError("across_by must name columns of group_by")
    has_own_targets = {"target_mean", "target_sd"} <= set(series.columns)
    if sum([targets is not None, baseline_points is not None, has_own_targets]) != 1:
        raise WestgardInputError(
            "give exactly one source of targets: a targets table, baseline_points, or target_mean/target_sd columns"
        )
    rules = westgard_rules() if rules is None else tuple(rules)
    if not rules:
        raise WestgardInputError("no Westgard rules to evaluate")

    ordered = series.reset_index(drop=True).sort_values([*keys, order_by], kind="stable")
    original = ordered.index.to_numpy()
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
    position = ordered.groupby(keys, sort=False, dropna=False).cumcount().to_numpy()
    if log_scale:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(values > 0, np.log10(values), np.nan)
    full = full_baseline_points()
    codes, mean, sd, window, baseline_n, provisional, problems = _series_targets(
        ordered, keys, values, position, targets, baseline_points, log_scale, full
    )
    if log_scale:
        for code in np.unique(codes[np.isnan(values)]):
            problems[code] = "it has a value of 0 or less, which a log scale cannot show"
    bad = np.array([problem is not None for problem in problems], dtype=bool)
    if bad.any() and unusable == "raise":
        code = int(np.flatnonzero(bad)[0])
        raise WestgardInputError(
            f"series {_describe(ordered, keys, int(np.flatnonzero(codes == code)[0]))}: {problems[code]}"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(bad[codes], np.nan, (values - mean) / sd)
    judged = (position >= window) & ~bad[codes]
    run_codes = ordered.groupby([*across, run_by], sort=False, dropna=False).ngroup().to_numpy() if has_runs else None
    context = _Context(ordered, codes, run_codes, judged, across, order_by, run_by if has_runs else None)
    flags, found = _apply_rules(rules, z, context)

    combos, inverse = np.unique(flags, axis=0, return_inverse=True) if len(z) else (flags, np.zeros(0, dtype=int))
    pairs = [(rule, scope) for rule in rules for scope in rule.scopes]
    described = np.empty(len(combos), dtype=object)
    described[:] = [tuple((pairs[i][0].name, pairs[i][1]) for i in np.flatnonzero(combo)) for combo in combos]
    names = np.empty(len(combos), dtype=object)
    names[:] = [tuple(dict.fromkeys(name for name, _ in pair)) for pair in described]
    is_reject = np.array([rule.level == REJECT for rule, _ in pairs], dtype=bool)
    level = np.where(flags[:, is_reject].any(axis=1), REJECT, np.where(flags.any(axis=1), WARNING, ACCEPT))
    computed = {
        "target_mean": mean,
        "target_sd": sd,
        "z_score": z,
        "judged": judged,
        "violated_rules": names[inverse.ravel()] if len(z) else names,
        "violations": described[inverse.ravel()] if len(z) else described,
        "level": np.where(judged, level, None).astype(object),
        "baseline_n": baseline_n,
        "provisional": provisional,
        "problem": problems[codes] if len(z) else np.empty(0, dtype=object),
    }
    result = series.copy()
    for column, ordered_values in computed.items():
        in_input_order = np.empty(len(ordered_values), dtype=ordered_values.dtype)
        in_input_order[original] = ordered_values
        result[column] = in_input_order
    records = [
        {**record, "points": tuple(sorted(int(original[i]) for i in record["points"]))}
        for record in found
        if record["points"]
    ]
    return WestgardResult(result, pd.DataFrame(records, columns=list(VIOLATION_COLUMNS)))


def evaluate_westgard(series: pd.DataFrame, **options) -> pd.DataFrame:
    return judge_controls(series, **options).points  # the judged points alone


@dataclass(frozen=True)
class _Context:
    ordered: pd.DataFrame
    codes: np.ndarray  # level of each point
    run_codes: np.ndarray | None  # run of each point (within its across_by group), None without runs
    judged: np.ndarray
    across: list[str]
    order_by: str
    run_by: str | None

    def record(self, rule: WestgardRule, scope: str, at: int, points) -> dict:
        run = self.ordered[self.run_by].iloc[at] if self.run_by else None
        run = run.item() if isinstance(run, np.generic) else run
        return {"rule": rule.name, "scope": scope, "severity": rule.level, "run": run, "points": list(points)}


def _apply_rules(rules, z, context: _Context):
    """Flags per point and (rule, scope) pair, and the violation records (points as sorted positions)."""
    columns, found = [], []
    for rule in rules:
        high, low = z > rule.limit_sd, z < -rule.limit_sd
        for scope in rule.scopes:
            flag = np.zeros(len(z), dtype=bool)
            if scope == WITHIN_LEVEL:
                for side in (high, low):
                    hit = (_run_lengths(side, context.codes) >= rule.count) & context.judged
                    flag |= hit
                    found += [
                        context.record(rule, scope, i, range(i - rule.count + 1, i + 1)) for i in np.flatnonzero(hit)
                    ]
            elif context.run_by and scope == WITHIN_RUN:
                flag = _within_run(rule, high, low, context, found)
            elif context.run_by and scope == ACROSS_LEVELS:
                flag = _across_levels(rule, high, low, context, found)
            columns.append(flag)
    return np.column_stack(columns), found


def _within_run(rule, high, low, context: _Context, found) -> np.ndarray:
    """2-2s style: ``count`` points of one run beyond the same limit; range: one beyond + and one beyond −."""
    run_codes = context.run_codes
    in_run = pd.DataFrame({"run": run_codes, "high": high, "low": low}).groupby("run")[["high", "low"]]
    in_run = in_run.transform("sum").to_numpy()
    if rule.kind == "range":
        involved = (high | low) & (in_run[:, 0] >= 1) & (in_run[:, 1] >= 1)
    else:
        involved = (high & (in_run[:, 0] >= rule.count)) | (low & (in_run[:, 1] >= rule.count))
    flag = involved & context.judged
    for run in np.unique(run_codes[flag]):
        members = np.flatnonzero(involved & (run_codes == run))
        found.append(context.record(rule, WITHIN_RUN, int(members[0]), members))
    return flag


def _across_levels(rule, high, low, context: _Context, found) -> np.ndarray:
    """``count`` points in consecutive runs, every level of each run beyond the same limit, more than one level."""
    run_codes, ordered = context.run_codes, context.ordered
    frame = pd.DataFrame({"run": run_codes, "high": high, "low": low, "order": ordered[context.order_by].to_numpy()})
    frame["group"] = (
        ordered.groupby(context.across, sort=False, dropna=False).ngroup().to_numpy() if context.across else 0
    )
    runs = frame.groupby("run").agg(
        group=("group", "first"),
        order=("order", "min"),
        size=("high", "size"),
        high=("high", "all"),
        low=("low", "all"),
    )
    runs = runs.sort_values(["group", "order"], kind="stable")
    sizes, groups, run_index = runs["size"].to_numpy(), runs["group"].to_numpy(), runs.index.to_numpy()
    flag = np.zeros(len(high), dtype=bool)
    for side in ("high", "low"):
        chain = _block_sums(runs[side].to_numpy(), sizes, groups)
        for last in np.flatnonzero(chain >= rule.count):
            first, total = last, sizes[last]
            while total < rule.count:
                first -= 1
                total += sizes[first]
            members = np.flatnonzero(np.isin(run_codes, run_index[first : last + 1]))
            firing = np.flatnonzero((run_codes == run_index[last]) & context.judged)
            if len(np.unique(context.codes[members])) < 2 or not len(firing):
                continue
            flag[firing] = True
            found.append(context.record(rule, ACROSS_LEVELS, int(firing[0]), members))
    return flag
