"""Levey–Jennings series of control materials: the control's preparations judged by the Westgard rules.

A series is one control material under one protocol (version), for one figure, in run order (the run's
start, then the run and preparation ids). Targets come from the material when it has an assigned mean
and SD (these are given for particles per µg only), otherwise from its first ``baseline_points`` points.
A series too short for its baseline, or whose baseline has no spread, is shown without judgement and
says why, rather than being judged against made-up limits.

All materials of a user's labs are read in three queries (materials, their samples, their preparations);
the judging is pure pandas (``westgard.evaluate_westgard``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db.models import F, Value
from django.db.models.functions import Coalesce

from ..core.errors import NotFound
from ..core.tenancy import visible_lab_ids
from ..isolation.models import EVPreparation
from .figures import PURITY, YIELD, short_label
from .models import ControlMaterial
from .selectors import protocol_label
from .westgard import ACCEPT, REJECT, WARNING, WestgardInputError, evaluate_westgard

# Purity first: it is the figure a material can carry assigned targets for.
CHARTED_FIGURES = (PURITY, YIELD)
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
    "level",
)


@dataclass
class ControlChart:
    """One judged series; ``problem`` says why it could not be judged (then z_score/level are empty)."""

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

    @property
    def figure_label(self) -> str:
        return short_label(self.figure)

    @property
    def latest(self) -> dict | None:
        return None if self.points.empty else self.points.iloc[-1].to_dict()

    @property
    def flagged(self) -> pd.DataFrame:
        return self.points.loc[self.points["level"].isin([WARNING, REJECT])]


def materials_for(user):
    return ControlMaterial.objects.filter(lab_id__in=visible_lab_ids(user)).select_related("lab")


def material_get(user, pk) -> ControlMaterial:
    material = materials_for(user).prefetch_related("samples").filter(pk=pk).first()
    if material is None:
        raise NotFound
    return material


def control_series(materials) -> pd.DataFrame:
    """Every preparation made from a sample linked to one of the materials, in the material's own lab,
    one row per (material, preparation), ordered in run order.

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
        EVPreparation.objects.filter(input_aliquot__sample_id__in=links["sample"].unique().tolist())
        .annotate(
            sample=F("input_aliquot__sample_id"),
            run_code=F("run__code"),
            started_at=F("run__started_at"),
            protocol=Coalesce(protocol_label("run__"), Value(NO_PROTOCOL)),
            **{figure: F(f"metrics__{figure}") for figure in CHARTED_FIGURES},
        )
        .values_list(
            "sample", "lab_id", "id", "barcode", "run_id", "run_code", "started_at", "protocol", *CHARTED_FIGURES
        )
    )
    found = pd.DataFrame(list(rows), columns=["sample", "lab", *SERIES_COLUMNS[1:]])
    frame = links.merge(found, on=["sample", "lab"])
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    frame = frame.sort_values(["control", "started_at", "run", "preparation"], na_position="last", kind="stable")
    frame = frame[list(SERIES_COLUMNS)].reset_index(drop=True)
    for figure in CHARTED_FIGURES:
        frame[figure] = pd.to_numeric(frame[figure], errors="coerce").astype("float64")
    return frame


def _targets(material: ControlMaterial, figure: str) -> tuple[float, float] | None:
    assigned = (material.target_mean_particles_per_ug, material.target_sd_particles_per_ug)
    if figure == PURITY and None not in assigned:
        return float(assigned[0]), float(assigned[1])
    return None


def judge_series(material: ControlMaterial, protocol: str, figure: str, rows: pd.DataFrame) -> ControlChart:
    """The Westgard judgement of one series (``rows`` in run order, as from ``control_series``)."""
    measured = rows.loc[rows[figure].notna()]
    points = pd.DataFrame(
        {
            "sequence": np.arange(1, len(measured) + 1),
            **{column: measured[column].to_numpy() for column in POINT_COLUMNS[1:6]},
            "value": measured[figure].to_numpy(dtype="float64"),
        }
    )
    chart = ControlChart(material, protocol, figure, points, missing_figure=len(rows) - len(measured))
    targets = _targets(material, figure)
    baseline = int(material.baseline_points)
    if points.empty:
        chart.problem = "No preparation of this material has the figure yet."
    elif targets is None and len(points) < baseline:
        chart.problem = f"Collecting the baseline: {len(points)} of {baseline} points; limits follow from then."
    else:
        judged = _evaluate(points, targets, baseline)
        if isinstance(judged, str):
            chart.problem = judged
        else:
            chart.points = judged
            chart.target_mean = float(judged["target_mean"].iloc[0])
            chart.target_sd = float(judged["target_sd"].iloc[0])
            chart.target_source = (
                "assigned to the material" if targets else f"estimated from the first {baseline} points"
            )
            chart.limits = {k: chart.target_mean + k * chart.target_sd for k in (-3, -2, -1, 0, 1, 2, 3)}
    for column in ("z_score", "judged", "violated_rules", "level"):
        if column not in chart.points:
            chart.points[column] = None
    # Baseline points have no verdict: None, not the NaN pandas may store for it.
    chart.points["level"] = pd.Series(
        [level if isinstance(level, str) else None for level in chart.points["level"]], dtype=object
    )
    return chart


def _evaluate(points: pd.DataFrame, targets, baseline: int) -> pd.DataFrame | str:
    series = points.assign(control=0, protocol=0)
    try:
        if targets is not None:
            table = pd.DataFrame(
                {"control": [0], "protocol": [0], "target_mean": [targets[0]], "target_sd": [targets[1]]}
            )
            return evaluate_westgard(series, value_column="value", targets=table)
        return evaluate_westgard(series, value_column="value", baseline_points=baseline)
    except WestgardInputError as error:
        # The rules cannot be applied (e.g. a baseline of identical values has no SD); say so on the page.
        return f"Not judged: {error}."


def charts_for(materials, figures=CHARTED_FIGURES) -> list[ControlChart]:
    """Every (material, protocol, figure) series of the materials, protocols in order of first use."""
    materials = list(materials)
    frame = control_series(materials)
    charts = []
    for material in materials:
        own = frame.loc[frame["control"] == material.pk]
        for protocol, rows in own.groupby("protocol", sort=False):
            charts.extend(judge_series(material, protocol, figure, rows) for figure in figures)
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
