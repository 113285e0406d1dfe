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

import json
import math

import numpy as np
import pandas as pd
from django.core.exceptions import EmptyResultSet
from django.db import connection, connections, transaction
from django.db.models import (
    BooleanField,
    DateField,
    DecimalField,
    F,
    JSONField,
    Lookup,
    TextField,
    TimeField,
    UUIDField,
)
from django.db.models.fields.json import KeyTransform
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


# Django's JSON decoder as json.loads uses it; its scanner decodes one value of a text without json.loads' wrapping.
_SCAN_JSON = json.JSONDecoder().scan_once
# Fields whose converted values are immutable, so one converted value can serve every row that holds the same one.
_SHAREABLE = (DecimalField, DateField, TimeField, UUIDField, BooleanField)


def fetch(queryset) -> list[tuple]:
    """The rows of a ``values_list`` queryset with the values Django gives, read in one ``fetchall``. Django fetches
    100 rows at a time and calls each column's converters row by row: a JSON column through json.loads (whose
    wrapping cost more than the decoding), a decimal column through a Decimal built and quantized for every row.
    Here a JSON text goes straight to the json module's scanner (anything it does not take whole, such as surrounding
    blanks, goes through Django's converter), and an immutable value is converted once per distinct value."""
    compiler = queryset.query.get_compiler(queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return []
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converters = compiler.get_converters([column for column, *_ in compiler.select[: compiler.col_count]])
    if not rows or not converters:
        return rows
    columns = list(zip(*rows, strict=True))
    for position, (functions, expression) in converters.items():
        columns[position] = _converted(columns[position], functions, expression, compiler.connection)
    return list(zip(*columns, strict=True))


def _converted(values, functions, expression, connection) -> list:
    def convert(value):
        for function in functions:
            value = function(value, expression, connection)
        return value

    field = expression.output_field
    plain_json = (
        isinstance(field, JSONField)
        and field.decoder is None
        and not isinstance(expression, KeyTransform)
        and functions == [field.from_db_value]
    )
    if plain_json:
        decoded = []
        for text in values:
            try:
                value, end = _SCAN_JSON(text, 0)
                if end != len(text):
                    raise ValueError
            except (StopIteration, ValueError, TypeError):
                value = convert(text)
            decoded.append(value)
        return decoded
    if not isinstance(field, _SHAREABLE):
        return [convert(value) for value in values]
    seen: dict = {}
    converted = []
    for value in values:
        # Falsy values (None, 0, -0.0, "") are converted each time: 0 and -0.0 are one key of a dict.
        key = (value.__class__, value) if value else None
        if key is None:
            converted.append(convert(value))
            continue
        if (result := seen.get(key, seen)) is seen:
            result = seen[key] = convert(value)
        converted.append(result)
    return converted


def lipoprotein_tested(preparation_ids) -> set[int]:
    queryset = Measurement.objects.filter(
        AmongIds("preparation_id", preparation_ids),
        kind=Measurement.Kind.MARKER,
        marker__protein__in=sorted(marker_vocabulary().symbols_of(LIPOPROTEINS)),
    ).order_by()  # a set: the results' default order would only cost a sort
    return {prep for (prep,) in fetch(queryset.values_list("preparation_id"))}


def input_counts(sample_ids) -> pd.DataFrame:
    rows = fetch(
        Measurement.objects.filter(AmongIds("input_sample_id", sample_ids), kind=Measurement.Kind.PARTICLE).values_list(
            "input_sample_id", "values"
        )
    )
    counts = [
        (sample, v["particles_per_ml"]) for sample, v in rows if isinstance(v.get("particles_per_ml"), int | float)
    ]
    frame = pd.DataFrame(counts, columns=["sample", "input_particles_per_ml"])
    return frame.groupby("sample", as_index=False)["input_particles_per_ml"].mean()


def histograms(preparation_ids) -> pd.DataFrame:
    rows = fetch(
        SizeBin.objects.filter(AmongIds("analysis__measurement__preparation_id", preparation_ids)).values_list(
            "analysis__measurement__preparation_id", "bin_center_nm", "concentration_per_ml"
        )
    )
    columns = ["preparation", "bin_center_nm", "concentration_per_ml"]
    if not rows:
        return pd.DataFrame(rows, columns=columns)
    # One float array in C rather than pandas inferring the type of each of ~90,000 tuples (ids are exact in a float).
    table = np.array(rows, dtype="float64")
    return pd.DataFrame({"preparation": table[:, 0].astype("int64"), columns[1]: table[:, 1], columns[2]: table[:, 2]})


def _present(column: pd.Series) -> list:
    """Python values of a column with NaN as None: a missing figure is stored null, never NaN."""
    values = column.tolist()
    if column.dtype.kind == "f":
        for position in np.flatnonzero(np.isnan(column.to_numpy())).tolist():
            values[position] = None
        return values
    return [None if value is None or (isinstance(value, float) and math.isnan(value)) else value for value in values]


def _key_order(key: str, vendor: str):
    """Where the database puts a key of a JSON object it gives back: PostgreSQL's jsonb, shorter keys first, then
    bytewise; elsewhere (the text as written) no order of its own."""
    return (len(key.encode()), key.encode()) if vendor == "postgresql" else 0


def provenance_text(by_figure: dict[str, list[int]], vendor: str) -> str:
    """The provenance as the database gives it back as text: what ``json.dumps`` writes ({"figure": [id, …]}, the
    separators Python's and PostgreSQL's JSON share), with PostgreSQL's jsonb key order there. Written out directly:
    figure keys are plain names and ids integers, and json.dumps of ten thousand dictionaries cost more than the
    upsert itself. Comparing this text with the stored one tells an unchanged row without decoding it; a difference
    of form alone would only cost a needless write."""
    keys = sorted(by_figure, key=lambda key: _key_order(key, vendor))
    return "{" + ", ".join(f'"{key}": [{", ".join(map(str, by_figure[key]))}]' for key in keys) + "}"


def provenance_texts(provenance: pd.DataFrame, vendor: str) -> dict[int, str]:
    """{preparation: provenance_text of its figures and their measurement ids, in the order the frame lists them}.

    ``metric_provenance`` lists each preparation's rows together and each figure's ids together. The text is then
    written over whole columns, each id with what goes before it (the opening brace and the figure's key, the next
    figure's key, or a comma) and the closing after each preparation's last id, rather than gathered id by id into
    dictionaries of lists (a chunk's provenance has about 56,000 rows). Rows in any other order go that way."""
    if provenance.empty:
        return {}
    preps = provenance["preparation"].to_numpy(dtype="int64")
    codes, names = pd.factorize(provenance["metric"], sort=False)
    order = np.arange(len(preps))
    if vendor == "postgresql":  # each preparation's figures in jsonb's key order, each figure's ids as listed
        blocks = np.cumsum(np.r_[True, preps[1:] != preps[:-1]])
        ranks = np.argsort(sorted(range(len(names)), key=lambda code: _key_order(names[code], vendor)))
        order = np.lexsort((ranks[codes], blocks))
        preps, codes = preps[order], codes[order]
    starts = np.r_[True, preps[1:] != preps[:-1]]
    runs = starts | np.r_[True, codes[1:] != codes[:-1]]
    pairs = set(zip(preps[runs].tolist(), codes[runs].tolist(), strict=True))
    if len(set(preps[starts].tolist())) != starts.sum() or len(pairs) != runs.sum():
        return _gathered_texts(provenance, vendor)
    keys = np.array([f'"{name}": [' for name in names], dtype=object)
    pieces = np.full(len(preps), ", ", dtype=object)
    pieces[runs] = "], " + keys[codes[runs]]
    pieces[starts] = "{" + keys[codes[starts]]
    # Each piece followed by its id, in one list that each preparation's text is joined from.
    ids = provenance["measurement_id"].to_numpy(dtype="int64")[order].tolist()
    text = [""] * (2 * len(ids))
    text[0::2], text[1::2] = pieces.tolist(), map(str, ids)
    bounds = [2 * start for start in np.flatnonzero(starts).tolist()] + [len(text)]
    return {
        prep: "".join(text[start:end]) + "]}"
        for prep, start, end in zip(preps[starts].tolist(), bounds, bounds[1:], strict=False)
    }


def _gathered_texts(provenance: pd.DataFrame, vendor: str) -> dict[int, str]:
    by_prep: dict[int, dict[str, list[int]]] = {}
    preps, ids = (provenance[name].astype("int64").tolist() for name in ("preparation", "measurement_id"))
    # Plain lookups rather than setdefault, which builds a new dict and list for each id.
    for prep, metric, measurement in zip(preps, provenance["metric"].tolist(), ids, strict=True):
        figures = by_prep.get(prep)
        if figures is None:
            figures = by_prep[prep] = {}
        listed = figures.get(metric)
        if listed is None:
            figures[metric] = [measurement]
        else:
            listed.append(measurement)
    return {prep: provenance_text(figures, vendor) for prep, figures in by_prep.items()}


def rows_of(metrics: pd.DataFrame, provenance: pd.DataFrame) -> dict[int, tuple]:
    """{preparation: (lab, figures…, purity class, provenance as text)}, the values of the COMPARED columns, built
    column by column. Provenance is {figure: [measurement ids]} in the order the provenance frame lists them."""
    texts = provenance_texts(provenance, connection.vendor)
    preparations = metrics["preparation"].astype("int64").tolist()
    labs = metrics["lab"].astype("int64").tolist()
    figures = [
        _present(metrics[key]) if key in metrics.columns else [None] * len(metrics)
        for key in (*NUMBER_KEYS, "purity_class")
    ]
    return {
        prep: (lab, *values, texts.get(prep, "{}"))
        for prep, lab, *values in zip(preparations, labs, *figures, strict=True)
    }


def stored_rows(preparation_ids) -> dict[int, tuple]:
    """The stored COMPARED values of these preparations, as ``rows_of`` gives them (the provenance as its text)."""
    rows = PreparationMetrics.objects.filter(AmongIds("preparation_id", preparation_ids)).values_list(
        *WRITTEN[:-2], Cast("provenance", TextField())
    )
    return {prep: tuple(values) for prep, *values in fetch(rows)}


def write(rows: dict[int, tuple], now) -> int:
    """Store the computed rows: upsert the changed and new ones, stamp the unchanged ones; returns how many rows."""
    stored = stored_rows(rows)
    changed = {prep: row for prep, row in rows.items() if stored.get(prep) != row}
    unchanged = [prep for prep in rows if prep not in changed]
    new = {prep: row for prep, row in changed.items() if prep not in stored}
    with transaction.atomic():
        if unchanged:
            PreparationMetrics.objects.filter(AmongIds("preparation_id", unchanged)).update(computed_at=now)
        if len(new) < len(changed):
            _write({prep: row for prep, row in changed.items() if prep in stored}, now)
        if new:
            _insert(new, now)
    return len(rows)


def _insert(rows: dict[int, tuple], now) -> None:
    """The rows of preparations that had none when the stored rows were read: INSERT … ON CONFLICT DO NOTHING, which
    SQLite takes at a third of the cost of the upsert (DO UPDATE). If another recompute stored one of these rows in
    the meantime, fewer rows go in than were given, and then the same rows go through the upsert, as they all did
    before."""
    if _write(rows, now, conflict="DO NOTHING") != len(rows):
        _write(rows, now)


def _write(rows: dict[int, tuple], now, *, conflict: str = "") -> int:
    """INSERT … ON CONFLICT (preparation_id) DO UPDATE (or ``conflict``) for every row, one statement executed row
    after row; returns how many rows it inserted or updated. The provenance goes as its JSON text (the column takes
    text on SQLite, and PostgreSQL casts it to jsonb), the time stamp as the model's field adapts it."""
    meta = PreparationMetrics._meta
    quote = connection.ops.quote_name
    stamp = meta.get_field("computed_at").get_db_prep_save(now, connection)
    key, *others = [quote(meta.get_field(name).column) for name in WRITTEN]
    conflict = conflict or f"DO UPDATE SET {', '.join(f'{column} = EXCLUDED.{column}' for column in others)}"
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join([key, *others])}) VALUES ({', '.join(['%s'] * len(WRITTEN))}) "
        f"ON CONFLICT ({key}) {conflict}"
    )
    params = [(prep, *row[:-1], row[-1], stamp) for prep, row in rows.items()]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
        return cursor.rowcount
