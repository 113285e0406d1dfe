"""The database side of a recompute chunk, apart from the job bookkeeping: the reads besides the preparations and
their headline values, and the write of the computed rows.

The write is where a full recompute spent half its time (docs/performance.md, "Full metric recompute, second
pass"): ten thousand model instances built, then Django compiling an upsert of 71 rows at a time on SQLite (its
999-parameter limit) value by value. Here the stored rows of the chunk are read back once; the rows whose figures
or provenance differ are written by one statement executed for every row (``executemany``: INSERT … ON CONFLICT
(preparation) DO UPDATE, on PostgreSQL and SQLite alike), and the rows that are unchanged get only the new time
stamp, in one UPDATE, so every row of the chunk still says when it was last computed (the preparation page flags
figures computed before its newest result, and the dashboards' cache version is the newest stamp).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import BooleanField, F, Lookup, TextField
from django.db.models.functions import Cast

from ...characterization.models import Measurement, SizeBin
from ...compliance.markers import LIPOPROTEINS, marker_vocabulary
from ..figures import NUMBER_KEYS
from ..models import PreparationMetrics

# Every stored column a recompute writes, in the order of the rows below; the preparation is the conflict key.
WRITTEN = ("preparation_id", "lab_id", *NUMBER_KEYS, "purity_class", "provenance", "computed_at")
# The columns compared with what is stored: everything written but the key and the stamp.
COMPARED = WRITTEN[1:-1]


class AmongIds(Lookup):
    """``column IN (ids)`` for a list of integer ids as they are. Django's ``__in`` prepares and resolves every value
    of the list one by one each time a query is built and compiled: for the seven lists of 5,000 ids of a chunk that
    was an eighth of a full recompute's CPU."""

    lookup_name = "among_ids"
    prepare_rhs = False

    def __init__(self, column: str, ids):
        super().__init__(F(column), [int(pk) for pk in ids if pk is not None])

    @property
    def output_field(self):
        return BooleanField()

    def get_prep_lookup(self):
        return self.rhs

    def as_sql(self, compiler, connection):
        if not self.rhs:
            raise EmptyResultSet
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", (*params, *self.rhs)


def lipoprotein_tested(preparation_ids) -> set[int]:
    return set(
        Measurement.objects.filter(
            AmongIds("preparation_id", preparation_ids),
            kind=Measurement.Kind.MARKER,
            marker__protein__in=sorted(marker_vocabulary().symbols_of(LIPOPROTEINS)),
        )
        .order_by()  # a set: the results' default order would only cost a sort
        .values_list("preparation_id", flat=True)
    )


def input_counts(sample_ids) -> pd.DataFrame:
    rows = Measurement.objects.filter(
        AmongIds("input_sample_id", sample_ids), kind=Measurement.Kind.PARTICLE
    ).values_list("input_sample_id", "values")
    counts = [
        (sample, v["particles_per_ml"]) for sample, v in rows if isinstance(v.get("particles_per_ml"), int | float)
    ]
    frame = pd.DataFrame(counts, columns=["sample", "input_particles_per_ml"])
    return frame.groupby("sample", as_index=False)["input_particles_per_ml"].mean()


def histograms(preparation_ids) -> pd.DataFrame:
    rows = SizeBin.objects.filter(AmongIds("analysis__measurement__preparation_id", preparation_ids)).values_list(
        "analysis__measurement__preparation_id", "bin_center_nm", "concentration_per_ml"
    )
    columns = ["preparation", "bin_center_nm", "concentration_per_ml"]
    rows = list(rows)
    if not rows:
        return pd.DataFrame(rows, columns=columns)
    # One float array in C rather than pandas inferring the type of each of ~90,000 tuples (ids are exact in a float).
    table = np.array(rows, dtype="float64")
    return pd.DataFrame({"preparation": table[:, 0].astype("int64"), columns[1]: table[:, 1], columns[2]: table[:, 2]})


def _present(values: list) -> list:
    """Python values of a column with NaN as None: a missing figure is stored null, never NaN."""
    return [None if value is None or (isinstance(value, float) and math.isnan(value)) else value for value in values]


def provenance_text(by_figure: dict[str, list[int]], vendor: str) -> str:
    """The provenance as the database gives it back as text: what ``json.dumps`` writes ({"figure": [id, …]}, the
    separators Python's and PostgreSQL's JSON share), with PostgreSQL's jsonb key order (shorter keys first, then
    bytewise) there. Written out directly: figure keys are plain names and ids integers, and json.dumps of ten
    thousand dictionaries cost more than the upsert itself. Comparing this text with the stored one tells an
    unchanged row without decoding it; a difference of form alone would only cost a needless write."""
    keys = sorted(by_figure, key=lambda key: (len(key.encode()), key.encode())) if vendor == "postgresql" else by_figure
    return "{" + ", ".join(f'"{key}": [{", ".join(map(str, by_figure[key]))}]' for key in keys) + "}"


def rows_of(metrics: pd.DataFrame, provenance: pd.DataFrame) -> dict[int, tuple]:
    """{preparation: (lab, figures…, purity class, provenance as text)}, the values of the COMPARED columns, built
    column by column. Provenance is {figure: [measurement ids]} in the order the provenance frame lists them."""
    by_prep: dict[int, dict[str, list[int]]] = {}
    preps, ids = (provenance[name].astype("int64").tolist() for name in ("preparation", "measurement_id"))
    # Plain lookups rather than setdefault, which builds a new dict and list for each of the ~70,000 ids.
    for prep, metric, measurement in zip(preps, provenance["metric"].tolist(), ids, strict=True):
        figures = by_prep.get(prep)
        if figures is None:
            figures = by_prep[prep] = {}
        listed = figures.get(metric)
        if listed is None:
            figures[metric] = [measurement]
        else:
            listed.append(measurement)
    preparations = metrics["preparation"].astype("int64").tolist()
    labs = metrics["lab"].astype("int64").tolist()
    figures = [
        _present(metrics[key].tolist()) if key in metrics.columns else [None] * len(metrics)
        for key in (*NUMBER_KEYS, "purity_class")
    ]
    vendor = connection.vendor
    return {
        prep: (lab, *values, provenance_text(by_prep.get(prep, {}), vendor))
        for prep, lab, *values in zip(preparations, labs, *figures, strict=True)
    }


def stored_rows(preparation_ids) -> dict[int, tuple]:
    """The stored COMPARED values of these preparations, as ``rows_of`` gives them (the provenance as its text)."""
    rows = PreparationMetrics.objects.filter(AmongIds("preparation_id", preparation_ids)).values_list(
        *WRITTEN[:-2], Cast("provenance", TextField())
    )
    return {prep: tuple(values) for prep, *values in rows}


def write(rows: dict[int, tuple], now) -> int:
    """Store the computed rows: upsert the changed and new ones, stamp the unchanged ones; returns how many rows."""
    stored = stored_rows(rows)
    changed = {prep: row for prep, row in rows.items() if stored.get(prep) != row}
    unchanged = [prep for prep in rows if prep not in changed]
    with transaction.atomic():
        if unchanged:
            PreparationMetrics.objects.filter(AmongIds("preparation_id", unchanged)).update(computed_at=now)
        if changed:
            _upsert(changed, now)
    return len(rows)


def _upsert(rows: dict[int, tuple], now) -> None:
    """INSERT … ON CONFLICT (preparation_id) DO UPDATE for every row, one statement executed row after row. The
    provenance goes as its JSON text (the column takes text on SQLite, and PostgreSQL casts it to jsonb), the
    time stamp as the model's field adapts it."""
    meta = PreparationMetrics._meta
    quote = connection.ops.quote_name
    stamp = meta.get_field("computed_at").get_db_prep_save(now, connection)
    key, *others = [quote(meta.get_field(name).column) for name in WRITTEN]
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in others)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join([key, *others])}) VALUES ({', '.join(['%s'] * len(WRITTEN))}) "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )
    params = [(prep, *row[:-1], row[-1], stamp) for prep, row in rows.items()]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
