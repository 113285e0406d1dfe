"""How a stored evaluation keeps its report: compact verdicts written, the full report given back when read.

A full report (``EvaluationReport.to_dict()``) repeats, for every preparation, each rule's title, level, fix
and citation from the rule set: about 48 kB of JSON per preparation, nearly all of it the same for every one.
A stored evaluation now keeps only what differs between preparations: per rule set the version evaluated,
and per rule its id, status, message (left out when it is "Satisfied.") and evidence as
``[path, the value in words]``, each distinct message and piece of evidence written once per report.
:func:`full_report` adds the rule set's constant text back when the report is read, and gives exactly the
dictionary ``to_dict()`` gave (``tests/compliance/test_stored_reports.py``).

Every reader of ``ComplianceEvaluation.report`` (pages, PDF, API, exports, the review and its signatures,
the QA queue) reads it through :func:`full_report` (``ComplianceEvaluation.full_report``). Reports stored in
full before this format stay as they are and are read unchanged: the compact form is told apart by its
``"format"`` key, so no stored or signed content is migrated. A signature covers the full report, as before
(docs/compliance.md, "How evaluations are stored").
"""

from functools import cache
from types import SimpleNamespace

from .errors import RulesetError
from .evaluator import MANDATORY_LEVELS, EvaluationReport, EvMetricScore, Status
from .rulesets import Rule, RuleSet, default_rulesets, load_ruleset
from .wording import describe, label

COMPACT_FORMAT = "compact/1"
_PASS = Status.PASS
# Status.value is a descriptor call; the batch writes ~90 statuses per preparation.
_STATUS_VALUES = {status: status.value for status in Status}
SATISFIED = "Satisfied."
# A verdict's state in an EV-METRIC component, as ``evaluator.score_points`` decides it.
COMPONENT_STATES = {
    "pass": "met",
    "fail": "not_met",
    "insufficient_data": "not_met",
    "not_applicable": "not_applicable",
}


def compact_report(report: EvaluationReport) -> dict:
    """The stored form of a report, built from its verdicts (the full report is never composed on writing).

    Messages and pieces of evidence repeat between the rules of one report (the biofluid is evidence for a
    third of them): each is written once, in ``messages`` and ``evidence``, and a verdict names them by their
    position there: ``[rule id, status, message position or None for "Satisfied.", [evidence positions]]``.

    A verdict is put in words once and keeps them (``RuleVerdict.stored_words``): the batch evaluator hands one
    verdict to many documents (it decides a rule once per distinct part of the documents).
    """
    messages: dict[str, int] = {}
    pieces: dict[tuple, int] = {}
    piece_at = pieces.setdefault
    # Verdicts with the same evidence hold the same tuple (_in_words), so its positions are found once a report.
    positions_of: dict[int, list[int]] = {}
    parts = {}
    for key, part in report.rulesets.items():
        verdicts = []
        append = verdicts.append
        for verdict in part.verdicts:
            entry = verdict.stored_words
            if entry is None:
                entry = verdict.stored_words = _in_words(verdict)
            rule_id, status, message, evidence = entry
            if message is not None:
                message = messages.setdefault(message, len(messages))
            positions = positions_of.get(id(evidence))
            if positions is None:
                positions = positions_of[id(evidence)] = [piece_at(piece, len(pieces)) for piece in evidence]
            append([rule_id, status, message, positions])
        parts[key] = {"ruleset": f"{part.ruleset}@{part.version}", "verdicts": verdicts}
    return {
        "format": COMPACT_FORMAT,
        "experiment_id": report.experiment_id,
        "separation_class": report.separation_class.to_dict(),
        "messages": list(messages),
        "evidence": [list(piece) for piece in pieces],
        **parts,
    }


# Equal evidence in words is one tuple object for every verdict holding it (a document's biofluid is evidence for
# a third of its rules), at most this many kept per process.
_EVIDENCE: dict[tuple, tuple] = {}
_EVIDENCE_MAX = 100_000


def _in_words(verdict) -> tuple:
    """(rule id, status, message or None for "Satisfied.", ((path, value in words), …))."""
    status = verdict.status
    # A satisfied rule's message is always "Satisfied." (evaluator._compose_message).
    message = None if status is _PASS else verdict.message
    evidence = tuple([(path, describe(path, detail)) for path, detail in verdict.evidence])
    shared = _EVIDENCE.get(evidence)
    if shared is None:
        if len(_EVIDENCE) >= _EVIDENCE_MAX:
            _EVIDENCE.clear()
        shared = _EVIDENCE[evidence] = evidence
    return verdict.rule.id, _STATUS_VALUES[status], message, shared


def is_compact(report) -> bool:
    return isinstance(report, dict) and report.get("format") == COMPACT_FORMAT


def full_report(report: dict | None) -> dict | None:
    """The full report of a stored evaluation, whichever form it was stored in (None or {} as stored)."""
    if not is_compact(report):
        return report
    full: dict = {"experiment_id": report.get("experiment_id"), "separation_class": report.get("separation_class")}
    messages = report["messages"]
    evidence = [{"path": path, "label": label(path), "detail": detail} for path, detail in report["evidence"]]
    # In the order the evaluator reports the rule sets: PostgreSQL's jsonb keeps no key order of what is stored.
    keys = sorted((key for key, part in report.items() if isinstance(part, dict) and "verdicts" in part), key=_place)
    for key in keys:
        part = report[key]
        ruleset, rules_by_id = _ruleset(part["ruleset"])
        rules = [_rule(rules_by_id, verdict, messages, evidence) for verdict in part["verdicts"]]
        full[key] = _scored(part["ruleset"], rules) if ruleset.scoring == "points" else _checklist(part, rules)
    return full


def _place(report_key: str) -> tuple[int, str]:
    order = [ruleset.report_key for ruleset in default_rulesets()]
    return (order.index(report_key), "") if report_key in order else (len(order), report_key)


@cache
def _ruleset(reference: str) -> tuple[RuleSet, dict[str, Rule]]:
    try:
        ruleset = load_ruleset(reference)
    except RulesetError:
        # A version no longer on disk: the latest of that rule set still names its rules (as selectors.rules_for).
        name = reference.partition("@")[0]
        ruleset = next(ruleset for ruleset in default_rulesets() if ruleset.name == name)
    return ruleset, {rule.id: rule for rule in ruleset.rules}


def _unknown_rule(rule_id: str) -> Rule:
    """A rule the rule set read no longer has: shown by its id rather than failing the page."""
    return SimpleNamespace(id=rule_id, title=rule_id, level="", fix=None, citation={})


def _rule(rules_by_id: dict[str, Rule], verdict: list, messages: list[str], evidence: list[dict]) -> dict:
    rule_id, status, message_at, positions = verdict
    rule = rules_by_id.get(rule_id) or _unknown_rule(rule_id)
    return {
        "id": rule.id,
        "title": rule.title,
        "level": rule.level,
        "status": status,
        "message": SATISFIED if message_at is None else messages[message_at],
        # Each its own dictionary, as to_dict() gives them (a reader may change one without changing others).
        "evidence": [dict(evidence[at]) for at in positions],
        "fix": rule.fix if status in ("fail", "insufficient_data") else None,
        "citation": rule.citation,
    }


def _checklist(part: dict, rules: list[dict]) -> dict:
    def mandatory(status: str) -> list[str]:
        return [rule["id"] for rule in rules if rule["status"] == status and rule["level"] in MANDATORY_LEVELS]

    return {
        "ruleset": part["ruleset"],
        "rules": rules,
        "mandatory_failed": mandatory("fail"),
        "mandatory_insufficient_data": mandatory("insufficient_data"),
    }


def _scored(reference: str, rules: list[dict]) -> dict:
    components = {rule["id"]: COMPONENT_STATES[rule["status"]] for rule in rules}
    states = list(components.values())
    score = EvMetricScore(
        ruleset=reference,
        points=states.count("met"),
        applicable=len(states) - states.count("not_applicable"),
        components=components,
        verdicts=(),
    )
    return {
        "ruleset": reference,
        "score_pct": score.score_pct,
        "points": score.points,
        "applicable": score.applicable,
        "components": {
            rule["id"]: {
                "state": components[rule["id"]],
                "title": rule["title"],
                "message": rule["message"],
                "evidence": rule["evidence"],
                "fix": rule["fix"],
            }
            for rule in rules
        },
    }
