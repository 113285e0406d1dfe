"""Compliance: rule sets kept as data and a pure evaluator (the engine: ``evaluator``, ``conditions``,
``characterization_conditions``, ``separation``, ``document``, ``errors``, ``rulesets``, ``markers``,
``wording``, ``write_paths``; no Django), and, alongside it, the Django side that builds a stored
preparation's document (``evidence``) and stores its verdicts (``models``, ``services``, ``selectors``,
``tasks``). The QA review that signs the verdicts is ``evlims.review``; the pages' reports and exports are
``evlims.web.reports``.

Public engine API::

    from evlims.compliance import evaluate, evaluate_many, study_ev_metric
    report = evaluate(document)            # dict following schema/experiment.schema.json
    report.ev_metric.score_pct             # integer percent
    report.rulesets["misev2018"].mandatory_failed
"""

from .document import Experiment, experiment_schema, parse_document_text, validate_document
from .errors import DocumentIssue, ExperimentDocumentError, RulesetError, VocabularyError
from .evaluator import (
    ComponentState,
    EvaluationReport,
    EvMetricScore,
    RulesetReport,
    RuleVerdict,
    Status,
    evaluate,
    evaluate_many,
    study_ev_metric,
)
from .rulesets import Rule, RuleSet, available_rulesets, default_rulesets, load_ruleset
from .separation import SeparationClass, separation_class

__all__ = [
    "ComponentState",
    "DocumentIssue",
    "EvMetricScore",
    "EvaluationReport",
    "Experiment",
    "ExperimentDocumentError",
    "Rule",
    "RuleSet",
    "RuleVerdict",
    "RulesetError",
    "RulesetReport",
    "SeparationClass",
    "Status",
    "VocabularyError",
    "available_rulesets",
    "default_rulesets",
    "evaluate",
    "evaluate_many",
    "experiment_schema",
    "load_ruleset",
    "parse_document_text",
    "separation_class",
    "study_ev_metric",
    "validate_document",
]
