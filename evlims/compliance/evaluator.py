"""The pure compliance evaluator: an experiment document in, per-rule verdicts and the EV-METRIC out.

No database and no Django: the same function serves the planning command, the web views and batch
re-evaluation of stored preparations.
"""

import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

from .document import Experiment
from .errors import ExperimentDocumentError
from .rulesets import Rule, RuleSet, default_rulesets, load_ruleset
from .separation import SeparationClass, separation_class
from .wording import describe, label

MANDATORY_LEVELS = frozenset({"mandatory", "mandatory_if_applicable"})


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    INSUFFICIENT_DATA = "insufficient_data"


class ComponentState(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    NOT_APPLICABLE = "not_applicable"


class RuleVerdict:
    """One rule's verdict. The message is composed on first use: batch runs that read only statuses
    never pay for the text."""

    __slots__ = ("rule", "status", "evidence", "_notes", "_undecided_applicability", "_message")

    def __init__(
        self,
        rule: Rule,
        status: Status,
        evidence: tuple,
        notes: tuple[str, ...],
        *,
        undecided_applicability: bool = False,
    ):
        self.rule = rule
        self.status = status
        self.evidence = evidence
        self._notes = notes
        self._undecided_applicability = undecided_applicability
        self._message: str | None = None

    rule_id = property(lambda self: self.rule.id)
    title = property(lambda self: self.rule.title)
    level = property(lambda self: self.rule.level)
    citation = property(lambda self: self.rule.citation)

    @property
    def fix(self) -> str | None:
        return self.rule.fix if self.status in (Status.FAIL, Status.INSUFFICIENT_DATA) else None

    @property
    def message(self) -> str:
        if self._message is None:
            rule = self.rule
            # Rules are not hashable (their citation is a dict): keyed by id, with the rule kept to check it.
            key = (id(rule), self.status, self._notes, self._undecided_applicability)
            entry = _MESSAGES.get(key)
            if entry is None or entry[0] is not rule:
                entry = (rule, _compose_message(rule, *key[1:]))
                if len(_MESSAGES) >= _MESSAGES_MAX:
                    _MESSAGES.clear()
                _MESSAGES[key] = entry
            self._message = entry[1]
        return self._message

    def evidence_dicts(self) -> list[dict]:
        # "path" stays exact for exports and machines; "label" and "detail" are what a person reads.
        return [
            {"path": path, "label": label(path), "detail": describe(path, detail)} for path, detail in self.evidence
        ]

    def __repr__(self) -> str:
        return f"RuleVerdict({self.rule_id}, {self.status})"

    def to_dict(self) -> dict:
        rule, status = self.rule, self.status
        return {
            "id": rule.id,
            "title": rule.title,
            "level": rule.level,
            "status": status.value,
            "message": self.message,
            "evidence": self.evidence_dicts(),
            "fix": rule.fix if status is Status.FAIL or status is Status.INSUFFICIENT_DATA else None,
            "citation": rule.citation,
        }


# Messages depend only on the rule, the status and the notes, which repeat across preparations (the same
# biofluid, the same missing field): composed once per process, at most this many kept.
_MESSAGES: dict[tuple, tuple[Rule, str]] = {}
_MESSAGES_MAX = 100_000


@dataclass(frozen=True, slots=True)
class RulesetReport:
    ruleset: str
    version: int
    report_key: str
    verdicts: tuple[RuleVerdict, ...]

    def verdict(self, rule_id: str) -> RuleVerdict:
        for verdict in self.verdicts:
            if verdict.rule_id == rule_id:
                return verdict
        raise KeyError(f"{self.ruleset}@{self.version} has no rule {rule_id!r}")

    def _ids(self, status: Status) -> list[str]:
        return [v.rule_id for v in self.verdicts if v.status is status and v.level in MANDATORY_LEVELS]

    @property
    def mandatory_failed(self) -> list[str]:
        return self._ids(Status.FAIL)

    @property
    def mandatory_insufficient_data(self) -> list[str]:
        return self._ids(Status.INSUFFICIENT_DATA)

    def to_dict(self) -> dict:
        return {
            "ruleset": f"{self.ruleset}@{self.version}",
            "rules": [verdict.to_dict() for verdict in self.verdicts],
            "mandatory_failed": self.mandatory_failed,
            "mandatory_insufficient_data": self.mandatory_insufficient_data,
        }


@dataclass(frozen=True, slots=True)
class EvMetricScore:
    """EV-METRIC: one point per applicable component met; score rounded half up to an integer percent."""

    ruleset: str
    points: int
    applicable: int
    components: dict[str, ComponentState]
    verdicts: tuple[RuleVerdict, ...]

    @property
    def score_pct(self) -> int | None:
        if self.applicable == 0:
            return None
        # Integer arithmetic rounds exactly half up (7/8 = 87.5 -> 88) with no float error.
        return (200 * self.points + self.applicable) // (2 * self.applicable)

    def to_dict(self) -> dict:
        by_id = {verdict.rule_id: verdict for verdict in self.verdicts}
        return {
            "ruleset": self.ruleset,
            "score_pct": self.score_pct,
            "points": self.points,
            "applicable": self.applicable,
            "components": {
                component: {
                    "state": str(state),
                    "title": by_id[component].title,
                    "message": by_id[component].message,
                    "evidence": by_id[component].evidence_dicts(),
                    "fix": by_id[component].fix,
                }
                for component, state in self.components.items()
            },
        }


_COMPONENT_STATE = {
    Status.PASS: ComponentState.MET,
    Status.FAIL: ComponentState.NOT_MET,
    # A point is earned only by reported evidence; a component whose applicability cannot be told is
    # counted as applicable and unmet, so missing data never raises the score.
    Status.INSUFFICIENT_DATA: ComponentState.NOT_MET,
    Status.NOT_APPLICABLE: ComponentState.NOT_APPLICABLE,
}


def score_points(report: RulesetReport) -> EvMetricScore:
    components = {verdict.rule_id: _COMPONENT_STATE[verdict.status] for verdict in report.verdicts}
    states = list(components.values())
    return EvMetricScore(
        ruleset=f"{report.ruleset}@{report.version}",
        points=states.count(ComponentState.MET),
        applicable=len(states) - states.count(ComponentState.NOT_APPLICABLE),
        components=components,
        verdicts=report.verdicts,
    )


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    experiment_id: str | None
    rulesets: dict[str, RulesetReport]
    scores: dict[str, EvMetricScore]
    separation_class: SeparationClass

    @property
    def ev_metric(self) -> EvMetricScore | None:
        return self.scores.get("ev_metric")

    def to_dict(self) -> dict:
        result: dict = {"experiment_id": self.experiment_id, "separation_class": self.separation_class.to_dict()}
        for key, report in self.rulesets.items():
            result[key] = self.scores[key].to_dict() if key in self.scores else report.to_dict()
        return result


_PASS, _FAIL = Status.PASS, Status.FAIL
_NOT_APPLICABLE, _INSUFFICIENT = Status.NOT_APPLICABLE, Status.INSUFFICIENT_DATA


# A rule set's rules as the evaluator walks them: (rule, key and check of applies_when or None, key and check of
# satisfied_when), built once per rule set object. The keys are the conditions' ids; each plan keeps its rule set
# (and so its conditions) alive, so an id in a plan can never be reused by another object.
_PLANS: dict[int, tuple[RuleSet, tuple]] = {}


def _plan(ruleset: RuleSet) -> tuple:
    entry = _PLANS.get(id(ruleset))
    if entry is None or entry[0] is not ruleset:
        steps = []
        for rule in ruleset.rules:
            applies, satisfied = rule.applies_when, rule.satisfied_when
            steps.append(
                (
                    rule,
                    None if applies is None else id(applies),
                    None if applies is None else applies.check,
                    id(satisfied),
                    satisfied.check,
                )
            )
        entry = _PLANS[id(ruleset)] = (ruleset, tuple(steps))
    return entry[1]


def _verdicts(plan: tuple, experiment: Experiment, memo: dict) -> tuple[RuleVerdict, ...]:
    # Shared conditions (interned at compile time) are checked once per evaluation via the memo, which
    # lives only as long as one evaluation.
    verdicts = []
    append = verdicts.append
    for rule, applies_key, applies_check, satisfied_key, satisfied_check in plan:
        if applies_key is not None:
            applies = memo.get(applies_key)
            if applies is None:
                applies = memo[applies_key] = applies_check(experiment)
            value = applies[0]
            if value is not True:
                if value is None:
                    append(RuleVerdict(rule, _INSUFFICIENT, applies[1], applies[2], undecided_applicability=True))
                else:
                    append(RuleVerdict(rule, _NOT_APPLICABLE, applies[1], applies[2]))
                continue
        outcome = memo.get(satisfied_key)
        if outcome is None:
            outcome = memo[satisfied_key] = satisfied_check(experiment)
        value = outcome[0]
        if value is True:
            append(RuleVerdict(rule, _PASS, outcome[1], ()))
        else:
            append(RuleVerdict(rule, _FAIL if value is False else _INSUFFICIENT, outcome[1], outcome[2]))
    return tuple(verdicts)


def _compose_message(rule: Rule, status: Status, notes: tuple[str, ...], undecided_applicability: bool) -> str:
    if status is Status.PASS:
        return "Satisfied."
    if status is Status.NOT_APPLICABLE:
        return "Not applicable: " + "; ".join(notes)
    if status is Status.INSUFFICIENT_DATA:
        if undecided_applicability:
            return "Cannot tell whether this applies: " + "; ".join(notes)
        return "Not enough data: " + "; ".join(notes)
    details = "; ".join(notes)
    return f"{rule.missing_message} ({details})" if details else rule.missing_message


def resolve_rulesets(rulesets: Iterable[RuleSet | str] | None) -> tuple[RuleSet, ...]:
    """None -> every rule set at its latest version; otherwise RuleSet objects or "name[@version]" strings."""
    if rulesets is None:
        return default_rulesets()
    if isinstance(rulesets, str | RuleSet):
        rulesets = [rulesets]
    resolved = []
    for item in rulesets:
        if isinstance(item, RuleSet):
            resolved.append(item)
        elif isinstance(item, str):
            resolved.append(load_ruleset(item))
        else:
            raise TypeError(f"rulesets: expected RuleSet objects or 'name[@version]' strings, got {item!r}")
    return tuple(resolved)


def _evaluate_resolved(experiment: Experiment, rulesets: Sequence[RuleSet]) -> EvaluationReport:
    reports, scores, memo = {}, {}, {}
    for ruleset in rulesets:
        report = RulesetReport(
            ruleset.name, ruleset.version, ruleset.report_key, _verdicts(_plan(ruleset), experiment, memo)
        )
        reports[ruleset.report_key] = report
        if ruleset.scoring == "points":
            scores[ruleset.report_key] = score_points(report)
    return EvaluationReport(experiment.id, reports, scores, separation_class(experiment))


def evaluate(
    experiment: Experiment | Mapping, rulesets: Iterable[RuleSet | str] | None = None, *, validate: bool = True
) -> EvaluationReport:
    """Evaluate one experiment document against the given rule sets (default: all, latest versions).

    A mapping is validated against experiment.schema.json first (ExperimentDocumentError names the JSON
    path); pass validate=False only for documents built by code that is itself tested against the schema.
    """
    return _evaluate_resolved(Experiment.coerce(experiment, validate=validate), resolve_rulesets(rulesets))


def evaluate_many(
    experiments: Iterable[Experiment | Mapping],
    rulesets: Iterable[RuleSet | str] | None = None,
    *,
    validate: bool = True,
) -> list[EvaluationReport]:
    """Evaluate many documents with the rule sets resolved once (the batch path for stored preparations)."""
    resolved = resolve_rulesets(rulesets)
    reports = []
    with collector_paused():
        for index, item in enumerate(experiments):
            try:
                experiment = Experiment.coerce(item, validate=validate)
            except ExperimentDocumentError as error:
                raise ExperimentDocumentError(list(error.issues), document_index=index) from None
            reports.append(_evaluate_resolved(experiment, resolved))
    return reports


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for one batch, then restored as it was.

    A batch allocates millions of small tuples (outcomes, evidence, verdicts) that form no reference cycles,
    so reference counting frees them; the collector would walk the batch's live objects again and again
    (a quarter of the CPU time at 10,000 documents; docs/performance.md).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # Every object the batch left alive sits in the youngest generation, which the first collection after
        # the pause would walk whole (a sixth of the batch's CPU time). Freezing and unfreezing moves them
        # into the oldest generation without a walk; they are looked at again at its next collection.
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def study_ev_metric(preparations: Iterable[EvaluationReport | EvMetricScore | int]) -> float | None:
    """Study EV-METRIC: the mean of its preparations' integer scores (not rounded; None if there are none)."""
    scores = []
    for item in preparations:
        if isinstance(item, EvaluationReport):
            item = item.ev_metric
            if item is None:
                raise ValueError("the report was not evaluated with the ev_metric rule set")
        if isinstance(item, EvMetricScore):
            item = item.score_pct
        if item is None:
            continue
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= 100:
            raise ValueError(f"an EV-METRIC score must be an integer percent between 0 and 100, got {item!r}")
        scores.append(item)
    return sum(scores) / len(scores) if scores else None
