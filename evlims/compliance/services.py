"""Evaluating preparations against the rule sets and storing the verdicts (``ComplianceEvaluation``).

The QA review that signs these verdicts lives in ``evlims.review``.
"""

from django.db import transaction
from django.utils import timezone

from ..core import canonical as core_canonical
from . import selectors
from .evaluator import MANDATORY_LEVELS as MANDATORY_LEVELS  # re-exported: callers read the levels here too
from .evaluator import collector_paused, evaluate_many
from .evidence import experiment_documents, preparations_with_evidence
from .models import ComplianceEvaluation
from .rulesets import default_rulesets

# What a new evaluation replaces in a stored one (its id, lab, preparation and creation time stay).
UPDATED_FIELDS = (
    "rulesets",
    "report",
    "document",
    "evidence_hash",
    "ev_metric_pct",
    "mandatory_failed",
    "failed_rules",
    "evaluated_at",
)


def canonical_hash(content) -> str:
    """The hash of an experiment document (an evaluation's evidence) or of what a signature covers."""
    return core_canonical.canonical_hash(content)


def _summary(report: dict) -> tuple[int | None, int, list[str]]:
    """(EV-METRIC %, mandatory MISEV failures, every failed rule or unmet EV-METRIC component as "set:id").

    "Mandatory MISEV failures" counts failed mandatory and mandatory-if-applicable rules of the two MISEV
    rule sets: the figure the QA queue shows at a glance.
    """
    ev_metric = report.get("ev_metric") or {}
    failed = [
        f"ev_metric:{key}" for key, c in (ev_metric.get("components") or {}).items() if c.get("state") == "not_met"
    ]
    for key, part in report.items():
        for rule in (part or {}).get("rules", []) if isinstance(part, dict) else []:
            if rule.get("status") == "fail":
                failed.append(f"{key}:{rule['id']}")
    mandatory_failed = len(selectors.mandatory_failures(report, selectors.MISEV_REPORT_KEYS))
    return ev_metric.get("score_pct"), mandatory_failed, failed


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
    preparations = preparations_with_evidence(preparation_ids)
    unproduced = [p.pk for p in preparations if not p.produced]
    if unproduced:
        ComplianceEvaluation.objects.filter(preparation_id__in=unproduced).delete()
        preparations = [p for p in preparations if p.produced]
    documents = experiment_documents(preparations)
    hashes = {pk: canonical_hash(document) for pk, document in documents.items()}
    # Only the hashes are read back: the stored reports and documents (tens of kB each) are replaced whole.
    existing = dict(
        ComplianceEvaluation.objects.filter(preparation_id__in=list(documents)).values_list(
            "preparation_id", "evidence_hash"
        )
    )
    stale = [p for p in preparations if force or existing.get(p.pk) != hashes[p.pk]]
    if not stale:
        return 0
    reports = evaluate_many([documents[p.pk] for p in stale])
    versions = {ruleset.name: ruleset.version for ruleset in default_rulesets()}
    now = timezone.now()
    rows = []
    for prep, report in zip(stale, reports, strict=True):
        data = report.to_dict()
        ev_metric, mandatory_failed, failed = _summary(data)
        rows.append(
            ComplianceEvaluation(
                preparation_id=prep.pk,
                lab_id=prep.lab_id,
                rulesets=versions,
                report=data,
                document=documents[prep.pk],
                evidence_hash=hashes[prep.pk],
                ev_metric_pct=ev_metric,
                mandatory_failed=mandatory_failed,
                failed_rules=failed,
                evaluated_at=now,
            )
        )
    # One upsert per batch (INSERT … ON CONFLICT (preparation) DO UPDATE on PostgreSQL and SQLite): a stored
    # evaluation keeps its id and creation time and takes the new verdicts, as bulk_update did row by row in a
    # CASE expression per field, which cost as much as the evaluation itself (docs/performance.md).
    with transaction.atomic():
        ComplianceEvaluation.objects.bulk_create(
            rows,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["preparation"],
            update_fields=UPDATED_FIELDS,
        )
    return len(stale)
