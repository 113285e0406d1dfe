"""The preparations and samples results are recorded for, read in one statement each, checked before anything is
written: unknown barcodes, preparations their run has not produced, and whether an approval locks them.

The preparations are read with one hand-written SELECT (their columns, their run's status and code, and whether an
approved review covers them directly or through their run). It replaces three ORM queries (the rows with their
run, then the two halves of ``core.locks.preparations_locked``); building the ORM's single-query equivalent with
two ``Exists`` annotations cost about 30 times the statement's own execution in CPU, on the hot path of every
instrument post (docs/performance.md, "One result per post, second pass"). What a lock is stays the QA review's
definition: ``tests/api/test_result_post_paths.py`` holds ``locked`` equal to ``core.locks.preparations_locked``.
The rows become instances through ``core.rows`` (the ORM's converters, then ``from_db``), not ``Manager.raw``, whose
set-up per call (the columns matched to fields, the converters looked up) cost more than the statement; the same
test holds them equal to the ORM's, field by field.
"""

from functools import cache

from django.core.exceptions import ValidationError
from django.db import connection

from ..core.rows import instance_from_row, model_columns
from ..isolation.models import EVPreparation, IsolationRun
from ..samples.models import Sample


@cache
def _preparations_statement() -> tuple[str, str, tuple]:
    """(SELECT … WHERE lab and barcode IN, the approved state, the preparation columns' layout for
    ``core.rows.instance_from_row``), the IN list's placeholders added per call.

    The review model belongs to the QA review, above this domain: it is reached through the preparation's
    reverse relation (``reviews``), never imported."""
    quote = connection.ops.quote_name
    prep = EVPreparation._meta
    run = IsolationRun._meta
    review_model = prep.get_field("reviews").related_model
    review = review_model._meta
    columns, layout = model_columns(EVPreparation, "p")
    review_table = quote(review.db_table)
    state = quote(review.get_field("state").column)
    by_preparation = quote(review.get_field("preparation").column)
    by_run = quote(review.get_field("run").column)
    run_column = quote(prep.get_field("run").column)
    statement = (
        f"SELECT {', '.join(columns)}, r.{quote(run.get_field('status').column)} AS run_status, "
        f"r.{quote(run.get_field('code').column)} AS run_code, "
        f"(EXISTS (SELECT 1 FROM {review_table} v WHERE v.{by_preparation} = p.{quote(prep.pk.column)} "
        f"AND v.{state} = %s) "
        f"OR EXISTS (SELECT 1 FROM {review_table} v WHERE v.{by_run} = p.{run_column} AND v.{state} = %s)) AS locked "
        f"FROM {quote(prep.db_table)} p "
        f"INNER JOIN {quote(run.db_table)} r ON r.{quote(run.pk.column)} = p.{run_column} "
        f"WHERE p.{quote(prep.get_field('lab').column)} = %s AND p.{quote(prep.get_field('barcode').column)} IN "
    )
    return statement, review_model.State.APPROVED, layout


def preparations_read(lab_id: int, barcodes) -> dict[str, EVPreparation]:
    """{barcode: preparation} of the lab, each with ``run_status``, ``run_code`` and ``locked`` (an approved review
    covers it, directly or through its run)."""
    barcodes = sorted(set(barcodes))
    if not barcodes:
        return {}
    statement, approved, layout = _preparations_statement()
    sql = statement + "(" + ", ".join(["%s"] * len(barcodes)) + ")"
    with connection.cursor() as cursor:
        cursor.execute(sql, [approved, approved, lab_id, *barcodes])
        rows = cursor.fetchall()
    preparations, width = {}, len(layout[0])
    for row in rows:
        preparation = instance_from_row(EVPreparation, layout, row[:width])
        preparation.run_status, preparation.run_code, locked = row[width:]
        preparation.locked = bool(locked)
        preparations[preparation.barcode] = preparation
    return preparations


def subjects_read(lab_id, results):
    """Resolve preparation and sample barcodes of the lab; unknown ones are errors, and so are preparations their
    run has not produced: a preparation exists once its run is completed (a planned or in-progress run's barcodes
    are issued for labels only; an aborted run produced nothing). Returns ({barcode: preparation}, {barcode:
    sample}); each preparation carries ``locked``."""
    preps = preparations_read(lab_id, (r["preparation"] for r in results if r.get("preparation")))
    sample_codes = {r["input_sample"] for r in results if r.get("input_sample")}
    samples = (
        {s.barcode: s for s in Sample.objects.filter(lab_id=lab_id, barcode__in=sample_codes)} if sample_codes else {}
    )
    errors = {}
    for index, result in enumerate(results):
        prep = preps.get(result.get("preparation"))
        if result.get("preparation") and prep is None:
            errors[f"results[{index}].preparation"] = f"No preparation {result['preparation']} in this lab."
        elif prep is not None and prep.run_status == IsolationRun.Status.ABORTED:
            errors[f"results[{index}].preparation"] = (
                f"{prep.barcode} belongs to run {prep.run_code} which is aborted: it produced no preparation."
            )
        elif prep is not None and prep.run_status != IsolationRun.Status.COMPLETED:
            errors[f"results[{index}].preparation"] = (
                f"{prep.barcode} belongs to run {prep.run_code} which is not completed yet: "
                "complete the run before recording results."
            )
        if result.get("input_sample") and result["input_sample"] not in samples:
            errors[f"results[{index}].input_sample"] = f"No sample {result['input_sample']} in this lab."
    if errors:
        raise ValidationError(errors)
    return preps, samples
