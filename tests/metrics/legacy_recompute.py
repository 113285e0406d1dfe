"""The metric recompute as it was before docs/performance.md's "Full metric recompute, second pass" (commit
4cb54f1), kept verbatim as the reference the equality test compares the current recompute with."""

import math

import pandas as pd
from django.utils import timezone

from evlims.characterization.models import Measurement, SizeBin
from evlims.compliance.markers import LIPOPROTEINS, marker_vocabulary
from evlims.isolation.models import EVPreparation
from evlims.metrics import compute
from evlims.metrics.figures import NUMBER_KEYS
from evlims.metrics.models import PreparationMetrics

CHUNK = 5000


def preparation_frame(preparation_ids) -> pd.DataFrame:
    rows = EVPreparation.objects.filter(pk__in=list(preparation_ids)).values_list(
        "pk",
        "lab_id",
        "run_id",
        "input_aliquot__sample_id",
        "input_aliquot__sample__biofluid",
        "input_volume_ul",
        "final_volume_ul",
        "input_aliquot__sample__volume_ml",
        "input_aliquot__sample__cell_count_at_harvest",
    )
    frame = pd.DataFrame(
        list(rows),
        columns=[
            "preparation",
            "lab",
            "run",
            "sample",
            "biofluid",
            "input_volume_ul",
            "prep_volume_ul",
            "sample_volume_ml",
            "cells_at_harvest",
        ],
    )
    frame["input_volume_ml"] = pd.to_numeric(frame["input_volume_ul"], errors="coerce").astype(float) / 1000
    frame["prep_volume_ml"] = pd.to_numeric(frame["prep_volume_ul"], errors="coerce").astype(float) / 1000
    # Cells behind this preparation: the harvest count scaled by the share of the medium used.
    share = frame["input_volume_ml"] / pd.to_numeric(frame["sample_volume_ml"], errors="coerce").astype(float)
    frame["producing_cells"] = pd.to_numeric(frame["cells_at_harvest"], errors="coerce").astype(float) * share
    return frame


def measurement_frame(preparation_ids) -> pd.DataFrame:
    """Long (measurement_id, preparation, quantity, value) rows from the headline values."""
    rows = Measurement.objects.filter(
        preparation_id__in=list(preparation_ids), kind__in=[Measurement.Kind.PARTICLE, Measurement.Kind.PROTEIN]
    ).values_list("pk", "preparation_id", "values")
    long = [
        (pk, prep, quantity, values[key])
        for pk, prep, values in rows
        for key, quantity in (
            ("particles_per_ml", "particles_per_ml"),
            ("protein_ug_per_ml", "protein_ug_per_ml"),
            ("size_mode_nm", "size_mode_nm"),
            ("d50_nm", "size_median_nm"),
        )
        if isinstance(values.get(key), int | float)
    ]
    return pd.DataFrame(long, columns=["measurement_id", "preparation", "quantity", "value"])


def _lipoprotein_tested(preparation_ids) -> set[int]:
    return set(
        Measurement.objects.filter(
            preparation_id__in=list(preparation_ids),
            kind=Measurement.Kind.MARKER,
            marker__protein__in=sorted(marker_vocabulary().symbols_of(LIPOPROTEINS)),
        ).values_list("preparation_id", flat=True)
    )


def _input_counts(sample_ids) -> pd.DataFrame:
    rows = Measurement.objects.filter(input_sample_id__in=list(sample_ids), kind=Measurement.Kind.PARTICLE).values_list(
        "input_sample_id", "values"
    )
    counts = [
        (sample, v["particles_per_ml"]) for sample, v in rows if isinstance(v.get("particles_per_ml"), int | float)
    ]
    frame = pd.DataFrame(counts, columns=["sample", "input_particles_per_ml"])
    return frame.groupby("sample", as_index=False)["input_particles_per_ml"].mean()


def _histograms(preparation_ids) -> pd.DataFrame:
    rows = SizeBin.objects.filter(analysis__measurement__preparation_id__in=list(preparation_ids)).values_list(
        "analysis__measurement__preparation_id", "bin_center_nm", "concentration_per_ml"
    )
    return pd.DataFrame(list(rows), columns=["preparation", "bin_center_nm", "concentration_per_ml"])


def compute_for(preparation_ids) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(metrics, provenance) for the preparations: pure computation over frames read in six queries."""
    ids = list(preparation_ids)
    preps = preparation_frame(ids)
    values, provenance = compute.collapse_measurements(measurement_frame(ids))
    frame = preps.merge(values, on="preparation", how="left")
    for column in ("particles_per_ml", "protein_ug_per_ml", "size_mode_nm", "size_median_nm"):
        if column not in frame:
            frame[column] = float("nan")
    frame = frame.merge(_input_counts(set(preps["sample"])), on="sample", how="left")
    frame["lipoprotein_readout"] = frame["preparation"].isin(_lipoprotein_tested(ids))
    metrics = compute.preparation_metrics(frame)
    metrics = metrics.merge(compute.small_ev_fraction(_histograms(ids)), on="preparation", how="left")
    return metrics, compute.metric_provenance(metrics, provenance)


def _clean(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def store_metrics(metrics: pd.DataFrame, provenance: pd.DataFrame) -> int:
    """Upsert one PreparationMetrics row per preparation (bulk, idempotent)."""
    by_prep: dict[int, dict[str, list[int]]] = {}
    for prep, metric, measurement in provenance[["preparation", "metric", "measurement_id"]].itertuples(index=False):
        by_prep.setdefault(int(prep), {}).setdefault(metric, []).append(int(measurement))
    now = timezone.now()
    rows = [
        PreparationMetrics(
            preparation_id=int(record["preparation"]),
            lab_id=int(record["lab"]),
            computed_at=now,
            purity_class=_clean(record.get("purity_class")),
            provenance=by_prep.get(int(record["preparation"]), {}),
            **{figure: _clean(record.get(figure)) for figure in NUMBER_KEYS},
        )
        for record in metrics.to_dict("records")
    ]
    PreparationMetrics.objects.bulk_create(
        rows,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["preparation"],
        update_fields=[*NUMBER_KEYS, "purity_class", "provenance", "computed_at", "lab"],
    )
    return len(rows)


def recompute(preparation_ids) -> int:
    ids = list(preparation_ids)
    total = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        metrics, provenance = compute_for(chunk)
        total += store_metrics(metrics, provenance)
    return total
