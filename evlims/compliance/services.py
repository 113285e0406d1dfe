"""Evaluating preparations against the rule sets and storing the verdicts (``ComplianceEvaluation``).

The QA review that signs these verdicts lives in ``evlims.review``.
"""

from django.db import transaction
from django.utils import timezone

from ..core import canonical as core_canonical
from . import evaluation_rows, selectors
from .document_rows import preparation_documents
from .evaluation_rows import EvaluationRow
from .evaluator import MANDATORY_LEVELS as MANDATORY_LEVELS  # re-exported: callers read the levels here too
from .evaluator import ComponentState, EvaluationReport, Status, collector_paused, evaluate_many
from .models import ComplianceEvaluation
from .rulesets import default_rulesets
from .stored_reports import compact_report


def canonical_hash(content) -> str:
    """The hash of an experiment document (an evaluation's evidence) or of what a signature covers."""
    return core_canonical.canonical_hash(content)


def _summary(report: EvaluationReport) -> tuple[int | None, int, list[str]]:
    """(EV-METRIC %, mandatory MISEV failures, every failed rule or unmet EV-METRIC component as "set:id").

    "Mandatory MISEV failures" counts failed mandatory and mandatory-if-applicable rules of the two MISEV
    rule sets: the figure the QA queue shows at a glance. Read from the verdicts (the stored report is compact).
    """
    ev_metric = report.ev_metric
    failed = []
    if ev_metric is not None:
        failed = [f"ev_metric:{key}" for key, state in ev_metric.components.items() if state is ComponentState.NOT_MET]
    mandatory_failed = 0
    for key, part in report.rulesets.items():
        if key in report.scores:
            continue
        failed.extend(f"{key}:{verdict.rule.id}" for verdict in part.verdicts if verdict.status is Status.FAIL)
        if key in selectors.MISEV_REPORT_KEYS:
            mandatory_failed += len(part.mandatory_failed)  # the evaluator's own reading of the levels
    return (ev_metric.score_pct if ev_metric is not None else None), mandatory_failed, failed


def evaluate_preparations(preparation_ids, *, force: bool = False) -> int:
    """Refresh stored evaluations; preparations whose evidence did not change are skipped. Returns the count
    re-evaluated. Queries: a fixed handful per call, however many preparations.

    Only produced preparations (their run completed) are evaluated: one of a planned, in-progress or aborted run
    is not material yet and counts nowhere, so it is skipped, and an evaluation stored for it earlier is removed
    (evaluations are derived from the records and made again when the run completes; docs/runs.md)."""
    # The batch's model instances, documents and reports live until it is written; the cyclic collector would
    # only walk them again and again (evaluator.collector_paused).
    with collector_paused():
        return _evaluate_preparations(preparation_ids, force=force)


def _evaluate_preparations(preparation_ids, *, force: bool) -> int:
    # Built from narrow rows, not model instances (document_rows; equal to evidence.experiment_documents).
    documents, labs, existing, unproduced = preparation_documents(preparation_ids)
    if unproduced:
        ComplianceEvaluation.objects.filter(preparation_id__in=unproduced).delete()
    hashes = {pk: canonical_hash(document) for pk, document in documents.items()}
    stale = [pk for pk in documents if force or existing.get(pk) != hashes[pk]]
    if not stale:
        return 0
    reports = evaluate_many([documents[pk] for pk in stale])
    versions = {ruleset.name: ruleset.version for ruleset in default_rulesets()}
    rows = []
    for pk, report in zip(stale, reports, strict=True):
        ev_metric, mandatory_failed, failed = _summary(report)
        # Only what differs between preparations; the rule sets' text is added back when it is read.
        compact = compact_report(report)
        rows.append(
            EvaluationRow(pk, labs[pk], compact, documents[pk], hashes[pk], ev_metric, mandatory_failed, failed)
        )
    # Plain rows, one statement per 500 (evaluation_rows): a stored evaluation keeps its id and creation time and
    # takes the new verdicts; one made from the same evidence keeps its stored document (docs/performance.md).
    with transaction.atomic():
        evaluation_rows.write(rows, existing, versions, timezone.now())
    return len(stale)
