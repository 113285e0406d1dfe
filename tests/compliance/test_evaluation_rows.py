"""Stored evaluations written as plain rows (compliance/evaluation_rows.py): what is stored equals, column by
column, what ``bulk_create(update_conflicts=True)`` stored before; a forced refresh of unchanged evidence keeps the
stored document and replaces the rest; changed evidence and evaluations removed meanwhile are upserted whole."""

import datetime
import hashlib
import json

import pytest
from django.db import connection, transaction
from django.utils import timezone

from evlims.compliance import evaluation_rows, services
from evlims.compliance.evaluator import evaluate_many
from evlims.compliance.models import ComplianceEvaluation
from evlims.compliance.stored_reports import compact_report, full_report

from .test_batch_refresh import run  # noqa: F401 (the fixture)
from .test_document_rows import exact
from .test_stored_reports import DOCUMENTS

pytestmark = pytest.mark.django_db
COLUMNS = [field.column for field in ComplianceEvaluation._meta.concrete_fields]


def raw_rows(ids) -> dict:
    """Every column as the database holds it (JSON as its text on SQLite), by preparation."""
    table = ComplianceEvaluation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(COLUMNS)} FROM {table} WHERE preparation_id IN ({', '.join(['%s'] * len(ids))})", ids
        )
        return {row[COLUMNS.index("preparation_id")]: dict(zip(COLUMNS, row, strict=True)) for row in cursor}


def orm_write(rows, versions, now):
    """How the batch was stored before evaluation_rows: bulk_create with update_conflicts."""
    ComplianceEvaluation.objects.bulk_create(
        [
            ComplianceEvaluation(
                preparation_id=row.preparation_id,
                lab_id=row.lab_id,
                rulesets=versions,
                report=row.report,
                report_digest=evaluation_rows.report_digest(evaluation_rows.report_text(row.report)),
                document=row.document,
                evidence_hash=row.evidence_hash,
                ev_metric_pct=row.ev_metric_pct,
                mandatory_failed=row.mandatory_failed,
                failed_rules=row.failed_rules,
                evaluated_at=now,
            )
            for row in rows
        ],
        update_conflicts=True,
        unique_fields=["preparation"],
        update_fields=evaluation_rows.UPDATED_FIELDS,
    )


def captured_rows(monkeypatch, ids, *, force=False):
    """The rows and rule-set versions evaluate_preparations hands to the writer (and writes)."""
    seen = {}
    write = evaluation_rows.write

    def spy(rows, stored_hashes, versions, now):
        seen.update(rows=rows, hashes=dict(stored_hashes), versions=versions, now=now)
        write(rows, stored_hashes, versions, now)

    monkeypatch.setattr(evaluation_rows, "write", spy)
    services.evaluate_preparations(ids, force=force)
    monkeypatch.undo()
    return seen


JSON_COLUMNS = ("rulesets", "report", "document", "failed_rules")


def read_back(rows: dict, *, times: bool = True) -> dict:
    """The rows with their JSON read back (the report's text is orjson's, not json.dumps's), each scalar with
    its type; without the id and the creation and change times unless ``times``."""
    left_out = () if times else ("id", "created_at", "updated_at")
    return {
        pk: {
            key: exact(json.loads(value)) if key in JSON_COLUMNS and isinstance(value, str) else exact(value)
            for key, value in row.items()
            if key not in left_out
        }
        for pk, row in rows.items()
    }


def test_new_and_forced_rows_are_stored_as_bulk_create_stored_them(run, monkeypatch):  # noqa: F811
    ids = sorted(run.preparations.values_list("pk", flat=True))
    seen = captured_rows(monkeypatch, ids)  # all new: upserted
    assert set(seen["hashes"].values()) == {None}
    written = raw_rows(ids)
    ComplianceEvaluation.objects.filter(preparation_id__in=ids).delete()
    with transaction.atomic():
        orm_write(seen["rows"], seen["versions"], seen["now"])
    by_orm = raw_rows(ids)
    assert read_back(written, times=False) == read_back(by_orm, times=False)
    for row in written.values():
        assert row["created_at"] == row["updated_at"] == row["evaluated_at"]

    # Forced, unchanged evidence: the stored document is kept, every other field replaced; ids, creation and
    # change times stay, as bulk_create(update_conflicts=True) left them.
    seen = captured_rows(monkeypatch, ids, force=True)
    assert all(seen["hashes"][row.preparation_id] == row.evidence_hash for row in seen["rows"])
    forced = raw_rows(ids)
    with transaction.atomic():
        orm_write(seen["rows"], seen["versions"], seen["now"])
    assert read_back(forced) == read_back(raw_rows(ids))
    for pk in ids:
        assert forced[pk]["evaluated_at"] != by_orm[pk]["evaluated_at"]
        assert (forced[pk]["id"], forced[pk]["created_at"], forced[pk]["updated_at"]) == (
            by_orm[pk]["id"],
            by_orm[pk]["created_at"],
            by_orm[pk]["updated_at"],
        )


def evaluation_row(pk, **changes):
    stored = ComplianceEvaluation.objects.get(preparation_id=pk)
    fields = {name: getattr(stored, name) for name in evaluation_rows.EvaluationRow._fields}
    return evaluation_rows.EvaluationRow(**{**fields, **changes}), stored


def test_a_kept_document_is_the_stored_one_and_changed_evidence_writes_the_new_document(run):  # noqa: F811
    first, second = sorted(run.preparations.values_list("pk", flat=True))[:2]
    services.evaluate_preparations([first, second])
    now = timezone.now() + datetime.timedelta(minutes=1)
    same, stored = evaluation_row(first, document={"not": "written"}, report={"format": "x"}, failed_rules=["a:b"])
    changed, _ = evaluation_row(second, document={"new": "document"}, evidence_hash="f" * 64)
    with transaction.atomic():
        evaluation_rows.write([same, changed], {first: stored.evidence_hash, second: "0" * 64}, {"misev2018": 1}, now)
    kept = ComplianceEvaluation.objects.get(preparation_id=first)
    assert kept.document == stored.document  # unchanged evidence: the stored document stays
    assert (kept.report, kept.failed_rules, kept.rulesets, kept.evaluated_at) == (
        {"format": "x"},
        ["a:b"],
        {"misev2018": 1},
        now,
    )
    rewritten = ComplianceEvaluation.objects.get(preparation_id=second)
    assert (rewritten.document, rewritten.evidence_hash) == ({"new": "document"}, "f" * 64)


def test_an_evaluation_removed_meanwhile_is_written_again_whole(run):  # noqa: F811
    pk = sorted(run.preparations.values_list("pk", flat=True))[0]
    services.evaluate_preparations([pk])
    row, stored = evaluation_row(pk)
    ComplianceEvaluation.objects.filter(pk=stored.pk).delete()
    with transaction.atomic():
        evaluation_rows.write([row], {pk: stored.evidence_hash}, stored.rulesets, stored.evaluated_at)
    again = ComplianceEvaluation.objects.get(preparation_id=pk)
    assert (again.document, again.report, again.evidence_hash) == (stored.document, stored.report, stored.evidence_hash)
    assert again.created_at == again.evaluated_at == stored.evaluated_at


def test_report_text_reads_back_as_json_dumps_text_does():
    reports = [compact_report(report) for report in evaluate_many(DOCUMENTS)]
    reports.append({"format": "x", "text": "°C × µL \u2028 \x7f \U0001f600", "n": [0, -1, 2**63 - 1, None, True]})
    for report in reports:
        text = evaluation_rows.report_text(report)
        assert exact(json.loads(text)) == exact(json.loads(json.dumps(report)))


@pytest.mark.parametrize("value", [{1: "a key that is not text"}, {"big": 2**70}, {"when": datetime.date(2024, 1, 2)}])
def test_what_orjson_would_write_otherwise_is_left_to_json_dumps(value):
    try:
        expected = json.dumps(value)
    except TypeError:
        with pytest.raises(TypeError):
            evaluation_rows.report_text(value)
    else:
        assert evaluation_rows.report_text(value) == expected


def test_a_report_equal_to_the_stored_one_reads_back_the_same_and_another_replaces_it(run):  # noqa: F811
    pk = sorted(run.preparations.values_list("pk", flat=True))[0]
    services.evaluate_preparations([pk])
    _, stored = evaluation_row(pk)
    reordered = dict(reversed(list(stored.report.items())))  # an equal value in another key order
    for report in (reordered, {**stored.report, "experiment_id": "another"}):
        row, _ = evaluation_row(pk, report=report)
        with transaction.atomic():
            evaluation_rows.write([row], {pk: stored.evidence_hash}, stored.rulesets, timezone.now())
        again = ComplianceEvaluation.objects.get(preparation_id=pk)
        assert again.report == report
        assert exact(again.full_report) == exact(full_report(report))
    assert again.full_report["experiment_id"] == "another"


def test_every_written_report_keeps_the_digest_of_its_text(run, monkeypatch):  # noqa: F811
    """The digest names the text as written (jsonb keeps no key order, so not the text of the value read back)."""
    ids = sorted(run.preparations.values_list("pk", flat=True))
    for force in (False, True):  # new rows, then the kept-document path
        seen = captured_rows(monkeypatch, ids, force=force)
        stored = dict(
            ComplianceEvaluation.objects.filter(preparation_id__in=ids).values_list("preparation_id", "report_digest")
        )
        for row in seen["rows"]:
            text = evaluation_rows.report_text(row.report)
            assert stored[row.preparation_id] == hashlib.sha256(text.encode()).hexdigest()


def test_an_evaluation_stored_without_a_digest_is_compared_by_its_report_and_gets_one(run):  # noqa: F811
    pk = sorted(run.preparations.values_list("pk", flat=True))[0]
    services.evaluate_preparations([pk])
    ComplianceEvaluation.objects.filter(preparation_id=pk).update(report_digest="")
    _, stored = evaluation_row(pk)
    for report in (stored.report, {**stored.report, "experiment_id": "another"}):
        ComplianceEvaluation.objects.filter(preparation_id=pk).update(report_digest="")
        row, _ = evaluation_row(pk, report=report)
        with transaction.atomic():
            evaluation_rows.write([row], {pk: stored.evidence_hash}, stored.rulesets, timezone.now())
        again = ComplianceEvaluation.objects.get(preparation_id=pk)
        assert again.report == report
        assert again.report_digest == evaluation_rows.report_digest(evaluation_rows.report_text(report))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the digest decides the kept report on PostgreSQL")
def test_on_postgresql_an_equal_digest_keeps_the_stored_report_without_reading_it(run, monkeypatch):  # noqa: F811
    """The server trusts the digest: the report and its digest are written together, by this module alone. A
    report changed behind its back (which no code path does) shows that the new report was not even compared."""
    pk = sorted(run.preparations.values_list("pk", flat=True))[0]
    (row,) = captured_rows(monkeypatch, [pk])["rows"]
    stored = ComplianceEvaluation.objects.get(preparation_id=pk)
    ComplianceEvaluation.objects.filter(preparation_id=pk).update(report={"changed": "behind its back"})
    with transaction.atomic():
        evaluation_rows.write([row], {pk: stored.evidence_hash}, stored.rulesets, timezone.now())
    assert ComplianceEvaluation.objects.get(preparation_id=pk).report == {"changed": "behind its back"}
    other, _ = evaluation_row(pk, report={**row.report, "experiment_id": "another"})
    with transaction.atomic():
        evaluation_rows.write([other], {pk: stored.evidence_hash}, stored.rulesets, timezone.now())
    assert ComplianceEvaluation.objects.get(preparation_id=pk).report == other.report
