"""Writing a batch of stored evaluations (``ComplianceEvaluation``) as plain rows of prepared JSON text.

``services.evaluate_preparations`` stores up to thousands of evaluations at once. Through ``bulk_create`` each
row became a model instance whose every field Django prepared again (about a second of CPU for 10,000 rows on
top of the JSON); here the JSON is encoded once (the report by orjson, the rest as Django encodes it,
``json.dumps``), and the rows go to the database through one statement per 500 (on PostgreSQL the
updates through ``COPY``):

- a preparation whose stored evaluation was made from the same evidence (the same ``evidence_hash``, so the
  same document: a forced re-evaluation, or new rule sets) keeps its stored document: an ``UPDATE`` of the
  other fields, so neither the client encodes nor the server parses and compresses the document again;
- any other (new, or its evidence changed) is upserted: ``INSERT … ON CONFLICT (preparation) DO UPDATE``, as
  ``bulk_create(update_conflicts=True)`` wrote it, keeping an existing evaluation's id and creation time.

A row the ``UPDATE`` did not find (its evaluation was removed meanwhile) is upserted with its document. Every
row stores its report's digest (``report_digest``) with the report: nothing else writes either, so on PostgreSQL
an equal digest keeps the stored report without the server parsing the new one.
What is stored is what ``bulk_create`` stored, field by field (``tests/compliance/test_evaluation_rows.py``).
"""

import hashlib
import json
from typing import NamedTuple

import orjson
from django.db import connection

from .models import ComplianceEvaluation

BATCH = 500
# What a new evaluation replaces in a stored one (its id, lab, preparation and creation time stay; as
# bulk_create(update_conflicts=True) wrote it, the time of the last change, updated_at, stays too).
UPDATED_FIELDS = (
    "rulesets",
    "report",
    "report_digest",
    "document",
    "evidence_hash",
    "ev_metric_pct",
    "mandatory_failed",
    "failed_rules",
    "evaluated_at",
)
_KEPT_DOCUMENT = tuple(name for name in UPDATED_FIELDS if name != "document")
_INSERTED = ("created_at", "updated_at", *UPDATED_FIELDS, "lab", "preparation")


class EvaluationRow(NamedTuple):
    """One preparation's new evaluation; ``report`` and ``failed_rules`` as stored (JSON-ready values)."""

    preparation_id: int
    lab_id: int
    report: dict
    document: dict
    evidence_hash: str
    ev_metric_pct: int | None
    mandatory_failed: int
    failed_rules: list


def _column(name: str) -> str:
    return connection.ops.quote_name(ComplianceEvaluation._meta.get_field(name).column)


def _placeholder(name: str) -> str:
    # On PostgreSQL each value is cast to its column's type: a column of VALUES that holds only NULL is text.
    if connection.vendor == "postgresql":
        return f"%s::{ComplianceEvaluation._meta.get_field(name).db_type(connection)}"
    return "%s"


def write(rows: list[EvaluationRow], stored_hashes: dict, rulesets: dict, now) -> None:
    """Store ``rows``; ``stored_hashes``: {preparation id: evidence hash of its stored evaluation or None}.
    Run it inside a transaction."""
    when = connection.ops.adapt_datetimefield_value(now)
    rulesets_text = json.dumps(rulesets)
    kept = [row for row in rows if stored_hashes.get(row.preparation_id) == row.evidence_hash]
    missing = []
    if kept:
        if connection.vendor == "postgresql":
            updated = _update_copied(kept, rulesets_text, when)
        else:
            updated = sum(_update(kept[at : at + BATCH], rulesets_text, when) for at in range(0, len(kept), BATCH))
        if updated != len(kept):
            ids = [row.preparation_id for row in kept]
            found = set(
                ComplianceEvaluation.objects.filter(preparation_id__in=ids).values_list("preparation_id", flat=True)
            )
            missing = [row for row in kept if row.preparation_id not in found]
    kept_ids = {row.preparation_id for row in kept}
    upserted = [row for row in rows if row.preparation_id not in kept_ids] + missing
    for start in range(0, len(upserted), BATCH):
        _upsert(upserted[start : start + BATCH], rulesets_text, when)


# What orjson would write differently from json.dumps is left to json.dumps: dates, data classes (json.dumps
# refuses them), keys that are not text, integers beyond 64 bits.
_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def report_text(report: dict) -> str:
    """The stored report as JSON text: orjson's, which reads back as the very value json.dumps's text does
    (``tests/compliance/test_evaluation_rows.py``) at a fifth of its CPU time (~11 kB per report); json.dumps
    for anything orjson would write otherwise. A compact report holds text, whole numbers and None."""
    try:
        return orjson.dumps(report, option=_STRICT).decode()
    except orjson.JSONEncodeError:
        return json.dumps(report)


def report_digest(text: str) -> str:
    """SHA-256 (hex) of a stored report's JSON text as written (``report_text``): the same report gives the same
    text, so an equal digest means the stored report is the one about to be written."""
    return hashlib.sha256(text.encode()).hexdigest()


def _values(row: EvaluationRow, rulesets_text: str, when, *, document: bool) -> list:
    text = report_text(row.report)
    values = [rulesets_text, text, report_digest(text)]
    if document:
        values.append(json.dumps(row.document))
    values += [row.evidence_hash, row.ev_metric_pct, row.mandatory_failed, json.dumps(row.failed_rules), when]
    return values


def _assignments(table: str, values: dict[str, str]) -> str:
    """``column = value, …`` for {field name: value expression}. A report equal to the stored one keeps the stored
    value (its compressed out-of-line copy is not written again: a forced refresh of unchanged verdicts writes
    little more than the time of evaluation). Equal digests tell it without parsing the new report's JSON; a
    stored evaluation without a digest (written before it was kept) is compared by jsonb's equality, that of the
    values, so what is read is the same either way. The expressions read the row as it was before the update."""
    assignments = []
    for name, value in values.items():
        column = _column(name)
        if name == "report":
            digest = _column("report_digest")
            value = (
                f"CASE WHEN {table}.{digest} = {values['report_digest']} THEN {table}.{column} "
                f"WHEN {table}.{digest} = '' AND {table}.{column} = {value} THEN {table}.{column} ELSE {value} END"
            )
        assignments.append(f"{column} = {value}")
    return ", ".join(assignments)


def _update(batch: list[EvaluationRow], rulesets_text: str, when) -> int:
    """SQLite: executemany of one UPDATE."""
    table = connection.ops.quote_name(ComplianceEvaluation._meta.db_table)
    assignments = ", ".join(f"{_column(name)} = %s" for name in _KEPT_DOCUMENT)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {assignments} WHERE {_column('preparation')} = %s",
            [(*_values(row, rulesets_text, when, document=False), row.preparation_id) for row in batch],
        )
        return cursor.rowcount


def _update_copied(rows: list[EvaluationRow], rulesets_text: str, when) -> int:
    """PostgreSQL: the rows copied (``COPY``) into a temporary table, then one ``UPDATE … FROM`` it. Half the
    client's CPU of an ``UPDATE … FROM (VALUES …)`` per 500, whose statements psycopg composes with every value
    quoted in. The JSON stays text there, stored uncompressed (``EXTERNAL``), and is parsed once, by the UPDATE."""
    table = connection.ops.quote_name(ComplianceEvaluation._meta.db_table)
    names = (*_KEPT_DOCUMENT, "preparation")
    types = [ComplianceEvaluation._meta.get_field(name).db_type(connection) for name in names]
    batch = connection.ops.quote_name("evlims_evaluation_batch")
    text = [at for at, db_type in enumerate(types) if db_type == "jsonb"]
    with connection.cursor() as cursor:
        columns = ", ".join(f"v{at} {'text' if at in text else db_type}" for at, db_type in enumerate(types))
        cursor.execute(f"CREATE TEMPORARY TABLE {batch} ({columns}) ON COMMIT DROP")
        cursor.execute(f"ALTER TABLE {batch} " + ", ".join(f"ALTER COLUMN v{at} SET STORAGE EXTERNAL" for at in text))
        with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {batch} FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*_values(row, rulesets_text, when, document=False), row.preparation_id))
        assignments = _assignments(
            table, {name: f"v.v{at}::jsonb" if at in text else f"v.v{at}" for at, name in enumerate(_KEPT_DOCUMENT)}
        )
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM {batch} AS v "
            f"WHERE {table}.{_column('preparation')} = v.v{len(names) - 1}"
        )
        updated = cursor.rowcount
        cursor.execute(f"DROP TABLE {batch}")
    return updated


def _upsert(batch: list[EvaluationRow], rulesets_text: str, when) -> None:
    """One INSERT of many rows on PostgreSQL, executemany of a one-row INSERT on SQLite (no limit on the
    number of parameters to mind); ON CONFLICT (preparation) DO UPDATE on both."""
    table = connection.ops.quote_name(ComplianceEvaluation._meta.db_table)
    columns = ", ".join(_column(name) for name in _INSERTED)
    row_sql = "(" + ", ".join(_placeholder(name) for name in _INSERTED) + ")"
    rows = [
        [when, when, *_values(row, rulesets_text, when, document=True), row.lab_id, row.preparation_id] for row in batch
    ]
    updates = ", ".join(f"{_column(name)} = EXCLUDED.{_column(name)}" for name in UPDATED_FIELDS)
    conflict = f"ON CONFLICT ({_column('preparation')}) DO UPDATE SET {updates}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            values = ", ".join([row_sql] * len(rows))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values} {conflict}", [value for row in rows for value in row]
            )
        else:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES {row_sql} {conflict}", rows)
