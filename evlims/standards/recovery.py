"""Spike recovery of tracer readouts, one by one and summarised per run, method and operator.

Each readout's recovery is computed with ``uncertainty.recovery``; the readouts of one lot share one uncertain
assigned value, so a mean over spikes of the same lot keeps their correlation. A summary says how many runs
stand behind each figure, the mean recovery with its propagated standard uncertainty, and the spread between
runs (SD and CV: the reproducibility).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..isolation.models import IsolationRun
from .models import TracerReadout
from .selectors import readouts_for
from .uncertainty import Recovery, lot_value, mean_recovery, relative
from .uncertainty import recovery as compute_recovery

GROUPS = {"run": "Run", "method": "Separation method", "operator": "Operator"}


@dataclass
class RecoveryRow:
    readout: TracerReadout
    recovery: Recovery

    @property
    def preparation(self):
        return self.readout.preparation

    @property
    def run(self):
        return self.readout.preparation.run


def recoveries(readouts) -> list[RecoveryRow]:
    """Every readout with its recovery. Shared acts are shared uncertain numbers: a lot's assigned value, the
    pipetting of a spike into one preparation's input, one preparation's final volume."""
    lots, pipetting, volumes, rows = {}, {}, {}, []
    for readout in readouts:
        spike = readout.spike
        lot = spike.lot
        if lot.pk not in lots:
            lots[lot.pk] = lot_value(lot.assigned_value, lot.assigned_uncertainty, tag=f"lot {lot.pk}")
        volume = readout.preparation.final_volume_ul
        volume = None if volume is None else float(volume)
        act = (spike.pk, readout.preparation_id)
        if act not in pipetting:
            pipetting[act] = relative(spike.amount, spike.amount_uncertainty, f"spike {spike.pk}")
        measured = (readout.preparation_id, readout.volume_uncertainty_ul)
        if measured not in volumes:
            volumes[measured] = relative(volume, readout.volume_uncertainty_ul, f"volume {readout.preparation_id}")
        result = compute_recovery(
            lot=lots[lot.pk],
            lot_unit=lot.unit,
            amount=spike.amount,
            amount_unit=spike.amount_unit,
            readout=readout.value,
            readout_uncertainty=readout.standard_uncertainty,
            readout_unit=readout.unit,
            volume_ul=volume,
            dilution_factor=readout.dilution_factor,
            dilution_uncertainty=readout.dilution_uncertainty,
            pipetting=pipetting[act],
            volume_factor=volumes[measured],
        )
        rows.append(RecoveryRow(readout, result))
    return rows


def with_related(queryset):
    return queryset.select_related(
        "spike__lot", "spike__aliquot", "spike__run", "preparation__run__operator", "preparation__input_aliquot__sample"
    )


def preparation_recoveries(preparation) -> list[RecoveryRow]:
    return recoveries(with_related(TracerReadout.objects.filter(preparation=preparation)).order_by("measured_at"))


def _key(row: RecoveryRow, by: str):
    run = row.run
    if by == "run":
        return run.code
    if by == "method":
        return run.method or ""
    return run.operator.get_username()


def summarise(rows: list[RecoveryRow], by: str) -> list[dict]:
    """One line per run, method or operator: runs, readouts, mean recovery ± its propagated standard
    uncertainty, SD and CV of the runs' recoveries (a run's recovery is the mean of its readouts)."""
    if by not in GROUPS:
        raise ValueError(f"group by one of {', '.join(GROUPS)}")
    groups: dict = {}
    for row in rows:
        if row.recovery.value is not None:
            groups.setdefault(_key(row, by), []).append(row)
    lines = []
    for key, members in sorted(groups.items(), key=lambda item: str(item[0])):
        per_run: dict = {}
        for row in members:
            per_run.setdefault(row.run.pk, []).append(row.recovery.value)
        run_means = np.array([np.mean(values) for values in per_run.values()], dtype=float)
        mean, uncertainty = mean_recovery([row.recovery for row in members])
        sd = float(run_means.std(ddof=1)) if len(run_means) > 1 else None
        lines.append(
            {
                "group": key,
                "runs": len(per_run),
                "readouts": len(members),
                "recovery_pct": 100.0 * mean,
                "uncertainty_pct": 100.0 * uncertainty,
                "sd_pct": None if sd is None else 100.0 * sd,
                "cv_pct": None if sd is None or not run_means.mean() else 100.0 * sd / float(run_means.mean()),
            }
        )
    return lines


def user_recoveries(user, *, biofluid: str | None = None) -> list[RecoveryRow]:
    readouts = with_related(readouts_for(user)).filter(preparation__run__status=IsolationRun.Status.COMPLETED)
    if biofluid:
        readouts = readouts.filter(preparation__input_aliquot__sample__biofluid=biofluid)
    return recoveries(readouts.order_by("measured_at", "id"))


def preparation_recovery_means(preparation_ids) -> dict:
    """{preparation id: mean spike recovery in %} of those of the preparations that have a recovery."""
    readouts = with_related(TracerReadout.objects.filter(preparation_id__in=list(preparation_ids)))
    found: dict = {}
    for row in recoveries(readouts.order_by("id")):
        if row.recovery.value is not None:
            found.setdefault(row.readout.preparation_id, []).append(row.recovery.value)
    return {pk: 100.0 * float(np.mean(values)) for pk, values in found.items()}
