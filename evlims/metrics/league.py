"""The method league table: per biofluid, the separation methods of the user's labs ranked by spike recovery,
purity and reproducibility, each figure with the number of runs behind it (docs/standardization.md).

- Recovery: the mean spike recovery of the method's readouts with its propagated standard uncertainty
  (``standards.recovery``; spikes of one lot stay correlated), and the runs it rests on.
- Purity: the median particles per µg protein of the method's preparations (Webber & Clayton), and how many
  of them are lipoprotein-confounded: a lipoprotein-rich biofluid without an APOB/APOA1 readout, whose ratio
  metrics does not classify.
- Reproducibility: the CV between runs of the particle yield per mL of input (each run's mean), from 2 runs.

Each method gets a rank per figure (1 is best: highest recovery, highest purity, lowest CV); the table is
ordered by the mean of the ranks it has. A figure with no run behind it is left out, never taken as 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..standards.recovery import user_recoveries
from . import compute
from .selectors import MetricFilters, metrics_frame

COLUMNS = ("preparation", "run", "started_at", "method", "biofluid", "purity_class", "particles_per_ug")
YIELD = "particle_yield_per_ml_input"
NO_METHOD = ""


@dataclass
class LeagueRow:
    biofluid: str
    method: str
    recovery_pct: float | None = None
    recovery_uncertainty_pct: float | None = None
    recovery_runs: int = 0
    purity_particles_per_ug: float | None = None
    purity_runs: int = 0
    lipoprotein_confounded: int = 0
    preparations: int = 0
    yield_cv_pct: float | None = None
    yield_runs: int = 0
    ranks: dict = field(default_factory=dict)
    rank: int = 0

    @property
    def mean_rank(self) -> float:
        return float(np.mean(list(self.ranks.values()))) if self.ranks else float("inf")


def _runs_cv(frame: pd.DataFrame) -> tuple[float | None, int]:
    per_run = frame.dropna(subset=[YIELD]).groupby("run")[YIELD].mean()
    if len(per_run) < 2:
        return None, len(per_run)
    cv = compute.cv_pct(len(per_run), per_run.mean(), per_run.std(ddof=1))
    return (None if np.isnan(cv) else float(cv)), len(per_run)


def _recovery_lines(user, biofluid) -> dict:
    """{(biofluid, method): (mean %, u %, runs)} from the readouts of the user's labs."""
    grouped: dict = {}
    for row in user_recoveries(user, biofluid=biofluid):
        if row.recovery.variable is None:
            continue
        key = (row.preparation.input_aliquot.sample.biofluid, row.run.method or NO_METHOD)
        grouped.setdefault(key, []).append(row)
    lines = {}
    for key, rows in grouped.items():
        values = [row.recovery.variable for row in rows]
        mean = sum(values) / len(values)
        lines[key] = (
            100.0 * float(getattr(mean, "nominal_value", mean)),
            100.0 * float(getattr(mean, "std_dev", 0.0)),
            len({row.run.pk for row in rows}),
        )
    return lines


def _rank(rows: list[LeagueRow], name: str, value, best_high: bool) -> None:
    scored = [row for row in rows if value(row) is not None]
    ordered = sorted(scored, key=lambda row: -value(row) if best_high else value(row))
    for place, row in enumerate(ordered, start=1):
        row.ranks[name] = place


def league_table(user, *, biofluid: str | None = None) -> list[LeagueRow]:
    """The league rows of the user's labs, biofluid by biofluid, best first within each."""
    frame = metrics_frame(user, MetricFilters(biofluid=biofluid or None), columns=(*COLUMNS, YIELD))
    frame["method"] = frame["method"].fillna(NO_METHOD)
    recovery = _recovery_lines(user, biofluid)
    keys = set(map(tuple, frame[["biofluid", "method"]].drop_duplicates().to_numpy().tolist())) | set(recovery)
    rows = []
    for fluid, method in keys:
        row = LeagueRow(fluid, method)
        own = frame.loc[(frame["biofluid"] == fluid) & (frame["method"] == method)]
        row.preparations = len(own)
        purity = own.dropna(subset=["particles_per_ug"])
        if not purity.empty:
            row.purity_particles_per_ug = float(purity["particles_per_ug"].median())
            row.purity_runs = int(purity["run"].nunique())
        row.lipoprotein_confounded = int((own["purity_class"] == compute.NOT_INTERPRETABLE).sum())
        row.yield_cv_pct, row.yield_runs = _runs_cv(own)
        if (fluid, method) in recovery:
            row.recovery_pct, row.recovery_uncertainty_pct, row.recovery_runs = recovery[(fluid, method)]
        rows.append(row)
    table = []
    for fluid in sorted({row.biofluid for row in rows}):
        members = [row for row in rows if row.biofluid == fluid]
        _rank(members, "recovery", lambda row: row.recovery_pct, best_high=True)
        _rank(members, "purity", lambda row: row.purity_particles_per_ug, best_high=True)
        _rank(members, "reproducibility", lambda row: row.yield_cv_pct, best_high=False)
        members.sort(key=lambda row: (row.mean_rank, row.method))
        for place, row in enumerate(members, start=1):
            row.rank = place
        table.extend(members)
    return table
