"""Levey–Jennings series of control materials: the control's preparations judged by the Westgard rules.

A series (a *level*) is one control material under one protocol (version), for one figure, in run order (the
run's start, then the run and preparation ids). The control materials of a lab measured in the same isolation
run are the levels of that analytical run, so every material of the lab is judged together: the rules that
look across levels (2-2s and R-4s within a run, 4-1s and 10x across levels and runs) see all of them.

Targets come from the material when it has an assigned mean and SD (these are given for particles per µg only),
otherwise from its first ``baseline_points`` points; an estimate from fewer than 20 points (or from the points
there are so far) gives provisional limits, flagged as such. Log-normal figures (``Figure.log_normal``) are
judged on log10 and their limits are geometric. A series whose limits cannot be estimated is shown without
judgement and says why, rather than being judged against made-up limits.

All materials of a user's labs are read in four queries (materials, their links, their preparations, and the
other materials of their labs); the judging is pure pandas (``westgard.judge_controls``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db.models import F, Value
from django.db.models.functions import Coalesce

from ..core.errors import NotFound
from ..core.tenancy import visible_lab_ids
from ..isolation.models import EVPreparation, IsolationRun
from ..standards.recovery import preparation_recovery_means
from .figures import BY_KEY, PURITY, SPIKE_RECOVERY, YIELD
from .models import ControlMaterial
from .selectors import protocol_label
from .westgard import (
    ACCEPT,
    REJECT,
    SCOPE_WORDS,
    WARNING,
    WestgardInputError,
    full_baseline_points,
    judge_controls,
    westgard_rules,
)

# Purity first: it is the figure a material can carry assigned targets for. The spike recovery (the mean of a
# preparation's tracer readouts) is charted for the series that have one.
RECOVERY = SPIKE_RECOVERY.key
CHART_FIGURES = {PURITY: BY_KEY[PURITY], YIELD: BY_KEY[YIELD], RECOVERY: SPIKE_RECOVERY}
CHARTED_FIGURES = tuple(CHART_FIGURES)
STORED_FIGURES = (PURITY, YIELD)
NO_PROTOCOL = "(no protocol recorded)"
SERIES_COLUMNS = (
    "control",
    "preparation",
    "barcode",
    "run",
    "run_code",
    "started_at",
    "protocol",
    *CHARTED_FIGURES,
)
POINT_COLUMNS = (
    "sequence",
    "preparation",
    "barcode",
    "run",
    "run_code",
    "started_at",
    "value",
    "z_score",
    "judged",
    "violated_rules",
    "violations",
    "level",
    "provisional",
)
LIMIT_KS = (-3, -2, -1, 0, 1, 2, 3)


@dataclass
class ControlChart:
    """One judged series; ``problem`` says why it could not be judged (then z_score/level are empty).

    On a log scale (``log_scale``) target_mean and target_sd are the mean and SD of log10 of the values and
    ``limits`` are 10^(mean ± k·SD), in the figure's units; otherwise the mean ± k·SD."""

    material: ControlMaterial
    protocol: str
    figure: str
    points: pd.DataFrame
    target_mean: float | None = None
    target_sd: float | None = None
    target_source: str = ""
    problem: str | None = None
    missing_figure: int = 0
    limits: dict = field(default_factory=dict)
    log_scale: bool = False
    provisional: bool = False
    baseline_n: int = 0
    baseline_runs: int = 0
    violations: list[dict] = field(default_factory=list)

    @property
    def figure_label(self) -> str:
        return CHART_FIGURES[self.figure].short_label

    @property
    def latest(self) -> dict | None:
        return None if self.points.empty else self.points.iloc[-1].to_dict()

    @property
    def flagged(self) -> pd.DataFrame:
        return self.points.loc[self.points["level"].isin([WARNING, REJECT])]

    @property
    def provisional_note(self) -> str:
        """The lab's words for provisional limits, or "" when the limits are final."""
        if not self.provisional:
            return ""
        runs = f"{self.baseline_runs} run{'s' if self.baseline_runs != 1 else ''}"
        if self.baseline_n != self.baseline_runs:
            runs = f"{self.baseline_n} points ({runs})"
        return f"Provisional limits: estimated from {runs}; {full_baseline_points()} are needed."


def materials_for(user):
    return ControlMaterial.objects.filter(lab_id__in=visible_lab_ids(user)).select_related("lab")


def material_get(user, pk) -> ControlMaterial:
    material = materials_for(user).prefetch_related("samples").filter(pk=pk).first()
    if material is None:
        raise NotFound
    return material


def control_series(materials) -> pd.DataFrame:
    """Every produced preparation made from a sample linked to one of the materials, in the material's own lab,
    one row per (material, preparation), ordered in run order; ``order`` ranks the points of all materials in
    run order (the run's start, the run, the preparation).

    The links are read first and the preparations by their samples after: joined in one query, the database
    walked every preparation of the lab to find the few made from control samples."""
    links = pd.DataFrame(
        list(
            ControlMaterial.samples.through.objects.filter(
                controlmaterial_id__in=[m.pk for m in materials]
            ).values_list("controlmaterial_id", "sample_id", "controlmaterial__lab_id")
        ),
        columns=["control", "sample", "lab"],
    )
    rows = (
        EVPreparation.objects.filter(
            input_aliquot__sample_id__in=links["sample"].unique().tolist(), run__status=IsolationRun.Status.COMPLETED
        )
        .annotate(
            sample=F("input_aliquot__sample_id"),
            run_code=F("run__code"),
            started_at=F("run__started_at"),
            protocol=Coalesce(protocol_label("run__"), Value(NO_PROTOCOL)),
            **{figure: F(f"metrics__{figure}") for figure in STORED_FIGURES},
        )
        .values_list(
            "sample", "lab_id", "id", "barcode", "run_id", "run_code", "started_at", "protocol", *STORED_FIGURES
        )
    )
    found = pd.DataFrame(list(rows), columns=["sample", "lab", *SERIES_COLUMNS[1:-1]])
    found[RECOVERY] = found["preparation"].map(preparation_recovery_means(found["preparation"].tolist()))
    frame = links.merge(found, on=["sample", "lab"])
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    frame = frame.sort_values(["started_at", "run", "preparation", "control"], na_position="last", kind="stable")
    frame["order"] = np.arange(len(frame))
    frame = frame.sort_values(["control", "order"], kind="stable")
    frame = frame[[*SERIES_COLUMNS, "order"]].reset_index(drop=True)
    for figure in CHARTED_FIGURES:
        frame[figure] = pd.to_numeric(frame[figure], errors="coerce").astype("float64")
    return frame


def _targets(material: ControlMaterial, figure: str) -> tuple[float, float] | None:
    assigned = (material.target_mean_particles_per_ug, material.target_sd_particles_per_ug)
    if figure == PURITY and None not in assigned:
        return float(assigned[0]), float(assigned[1])
    return None


@dataclass
class _Judged:
    points: pd.DataFrame
    violations: pd.DataFrame
    problem: str | None = None


def judge_figure(materials: dict, frame: pd.DataFrame, figure: str) -> _Judged:
    """Every level of the materials for one figure, judged together (the run links their levels)."""
    measured = frame.loc[frame[figure].notna()].rename(columns={figure: "value"})
    measured = measured[["control", "protocol", "run", "order", "value"]].reset_index()
    if measured.empty:
        return _Judged(measured, pd.DataFrame())
    levels = measured[["control", "protocol"]].drop_duplicates()
    targets = [_targets(materials[control], figure) for control in levels["control"]]
    table = levels.assign(
        target_mean=[t[0] if t else np.nan for t in targets],
        target_sd=[t[1] if t else np.nan for t in targets],
        baseline_points=[
            0 if t else int(materials[c].baseline_points) for c, t in zip(levels["control"], targets, strict=True)
        ],
    )
    try:
        result = judge_controls(
            measured,
            order_by="order",
            targets=table,
            log_scale=CHART_FIGURES[figure].log_normal,
            unusable="mark",
        )
    except WestgardInputError as error:
        return _Judged(measured, pd.DataFrame(), f"Not judged: {error}.")
    return _Judged(result.points, result.violations)


def _violation_words(violations: pd.DataFrame, points: pd.DataFrame) -> list[dict]:
    """The violations that involve a point of this series: rule, where it was seen, and the preparations."""
    if violations.empty or points.empty:
        return []
    barcode_of = dict(zip(points["row"], points["barcode"], strict=True))
    shown = []
    for record in violations.to_dict("records"):
        if any(row in barcode_of for row in record["points"]):
            shown.append(
                {
                    "rule": record["rule"],
                    "scope": SCOPE_WORDS[record["scope"]],
                    "scope_key": record["scope"],
                    "severity": "Reject" if record["severity"] == REJECT else "Warning",
                    "run_code": record["run_code"],
                    "preparations": ", ".join(record["barcodes"]),
                    "barcodes": list(record["barcodes"]),
                }
            )
    return shown


def _chart(material, protocol, figure, rows: pd.DataFrame, judged: _Judged) -> ControlChart:
    measured = rows.loc[rows[figure].notna()]
    own = judged.points.set_index("index").loc[measured.index] if not measured.empty else judged.points.iloc[0:0]
    points = pd.DataFrame(
        {
            "sequence": np.arange(1, len(measured) + 1),
            **{column: measured[column].to_numpy() for column in POINT_COLUMNS[1:6]},
            "value": measured[figure].to_numpy(dtype="float64"),
            "row": own["row"].to_numpy(),
        }
    )
    log_scale = CHART_FIGURES[figure].log_normal
    chart = ControlChart(material, protocol, figure, points, missing_figure=len(rows) - len(measured))
    chart.log_scale = log_scale
    problem = None if measured.empty else (judged.problem or own["problem"].iloc[0])
    baseline = int(material.baseline_points)
    if measured.empty:
        chart.problem = "No preparation of this material has the figure yet."
    elif problem and "at least 2 points" in problem:
        chart.problem = f"Collecting the baseline: {len(points)} of {baseline} points; limits follow from 2 points."
    elif problem:
        chart.problem = problem if problem.startswith("Not judged") else f"Not judged: {problem}."
    else:
        for column in ("z_score", "judged", "violated_rules", "violations", "level", "provisional"):
            chart.points[column] = own[column].to_numpy()
        chart.target_mean = float(own["target_mean"].iloc[0])
        chart.target_sd = float(own["target_sd"].iloc[0])
        chart.baseline_n = int(own["baseline_n"].iloc[0])
        chart.provisional = bool(own["provisional"].iloc[0])
        chart.baseline_runs = int(points["run"].iloc[: chart.baseline_n].nunique())
        assigned = _targets(material, figure) is not None
        chart.target_source = (
            "assigned to the material" if assigned else f"estimated from the first {chart.baseline_n} points"
        )
        centre = {k: chart.target_mean + k * chart.target_sd for k in LIMIT_KS}
        chart.limits = {k: 10.0**value for k, value in centre.items()} if log_scale else centre
        chart.violations = _violation_words(judged.violations, points)
    for column in ("z_score", "judged", "violated_rules", "violations", "level", "provisional"):
        if column not in chart.points:
            chart.points[column] = None
    # Baseline points have no verdict: None, not the NaN pandas may store for it.
    chart.points["level"] = pd.Series(
        [level if isinstance(level, str) else None for level in chart.points["level"]], dtype=object
    )
    return chart


def _label_violations(judged: _Judged, frame: pd.DataFrame) -> None:
    """Name the run and preparations of every violation, from the rows of ``frame`` its points are."""
    if judged.violations.empty:
        return
    rows = judged.points["index"].to_numpy()
    violations = judged.violations
    violations["run_code"] = [frame["run_code"].iloc[rows[points[0]]] for points in violations["points"]]
    violations["barcodes"] = [[frame["barcode"].iloc[rows[i]] for i in points] for points in violations["points"]]


def charts_for(materials, figures=CHARTED_FIGURES) -> list[ControlChart]:
    """Every (material, protocol, figure) series of the materials, protocols in order of first use; each is
    judged together with the other control materials of its lab, its fellow levels of the same runs."""
    materials = list(materials)
    everyone = {m.pk: m for m in ControlMaterial.objects.filter(lab_id__in={m.lab_id for m in materials})}
    everyone |= {m.pk: m for m in materials}
    frame = control_series(list(everyone.values()))
    judged = {}
    for figure in figures:
        judged[figure] = judge_figure(everyone, frame, figure)
        judged[figure].points["row"] = np.arange(len(judged[figure].points))
        _label_violations(judged[figure], frame)
    charts = []
    for material in materials:
        own = frame.loc[frame["control"] == material.pk]
        for protocol, rows in own.groupby("protocol", sort=False):
            charts.extend(
                _chart(material, protocol, figure, rows, judged[figure])
                for figure in figures
                if figure != RECOVERY or rows[figure].notna().any()
            )
    return charts


def drift_alerts(user) -> list[ControlChart]:
    """Series of the user's control materials whose latest point broke a rule, rejects first."""
    flagged = [
        chart
        for chart in charts_for(materials_for(user))
        if chart.latest is not None and chart.latest["level"] in (WARNING, REJECT)
    ]
    return sorted(flagged, key=lambda chart: (chart.latest["level"] != REJECT, chart.material.name, chart.protocol))


def level_label(level) -> str:
    return {REJECT: "Reject", WARNING: "Warning", ACCEPT: "In control"}.get(level, "Baseline")


def violation_label(violations) -> str | None:
    """A point's broken rules in the lab's words: "1-2s, 2-2s (across levels within one run)"; a one-point rule
    needs no scope."""
    single = {rule.name for rule in westgard_rules() if rule.count == 1}
    return (
        ", ".join(rule if rule in single else f"{rule} ({SCOPE_WORDS[scope]})" for rule, scope in violations or ())
        or None
    )
