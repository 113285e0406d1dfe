"""The pure compliance evaluator: an experiment document in, per-rule verdicts and the EV-METRIC out.

No database and no Django: the same function serves the planning command, the web views and batch
re-evaluation of stored preparations. ``evaluate`` decides every rule of one document; ``evaluate_many``
decides a rule once per distinct value of what it reads in the batch (decision_keys.py) and gives the same
reports.
"""

import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from .batch_walk import walk_factory
from .decision_keys import KeyPlan, Unkeyable
from .document import Experiment, validate_in_parts
from .errors import ExperimentDocumentError
from .rulesets import RuleSet, default_rulesets, load_ruleset
from .separation import separation_class
from .verdicts import ComponentState, EvaluationReport, EvMetricScore, RuleVerdict, Status, score_points

__all__ = [
    "MANDATORY_LEVELS",
    "ComponentState",
    "EvMetricScore",
    "EvaluationReport",
    "RuleVerdict",
    "RulesetReport",
    "Status",
    "collector_paused",
    "evaluate",
    "evaluate_many",
    "resolve_rulesets",
    "score_points",
    "study_ev_metric",
]


MANDATORY_LEVELS = frozenset({"mandatory", "mandatory_if_applicable"})


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


def _not_applying(step: tuple, experiment: Experiment, memo: dict) -> RuleVerdict | None:
    """The verdict of a rule whose applies_when does not hold (or cannot be told); None when it applies."""
    rule, applies_key, applies_check = step[0], step[1], step[2]
    if applies_key is None:
        return None
    # Shared conditions (interned at compile time) are checked once per evaluation via the memo, which
    # lives only as long as one evaluation.
    applies = memo.get(applies_key)
    if applies is None:
        applies = memo[applies_key] = applies_check(experiment)
    value = applies[0]
    if value is True:
        return None
    if value is None:
        return RuleVerdict(rule, _INSUFFICIENT, applies[1], applies[2], undecided_applicability=True)
    return RuleVerdict(rule, _NOT_APPLICABLE, applies[1], applies[2])


def _satisfaction(step: tuple, experiment: Experiment, memo: dict) -> RuleVerdict:
    """The verdict of a rule that applies."""
    rule, satisfied_key = step[0], step[3]
    outcome = memo.get(satisfied_key)
    if outcome is None:
        outcome = memo[satisfied_key] = step[4](experiment)
    value = outcome[0]
    if value is True:
        return RuleVerdict(rule, _PASS, outcome[1], ())
    return RuleVerdict(rule, _FAIL if value is False else _INSUFFICIENT, outcome[1], outcome[2])


def _verdict(step: tuple, experiment: Experiment, memo: dict) -> RuleVerdict:
    return _not_applying(step, experiment, memo) or _satisfaction(step, experiment, memo)


def _verdicts(plan: tuple, experiment: Experiment, memo: dict) -> tuple[RuleVerdict, ...]:
    return tuple([_verdict(step, experiment, memo) for step in plan])


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
    """Evaluate many documents with the rule sets resolved once (the batch path for stored preparations).

    Within the batch a rule is decided once per distinct value of what it reads (decision_keys.py): the reports
    equal ``evaluate``'s for each document, value by value; documents with equal keys share verdict objects.
    """
    batch = _Batch(resolve_rulesets(rulesets))
    reports = []
    # The separation chains found valid in this batch: each distinct chain is validated once.
    chains: set[bytes] = set()
    with collector_paused():
        for index, item in enumerate(experiments):
            chain = None
            try:
                if validate and item.__class__ is dict:
                    chain = validate_in_parts(item, chains)
                    experiment = Experiment(item, validate=False)
                else:
                    experiment = Experiment.coerce(item, validate=validate)
            except ExperimentDocumentError as error:
                raise ExperimentDocumentError(list(error.issues), document_index=index) from None
            reports.append(batch.evaluate(experiment, chain))
    return reports


# What the applies table holds for a key under which the rule applies.
_APPLIES = object()
# Key plans per tuple of rule set objects, each kept with its rule sets (so the ids cannot be reused).
_KEY_PLANS: dict[tuple[int, ...], tuple[tuple[RuleSet, ...], KeyPlan]] = {}


class _Batch:
    """One batch's memo: per rule, its verdicts by key; the separation classes by the chain's atom."""

    def __init__(self, rulesets: tuple[RuleSet, ...]):
        ids = tuple(map(id, rulesets))
        entry = _KEY_PLANS.get(ids)
        if entry is None or any(a is not b for a, b in zip(entry[0], rulesets, strict=True)):
            entry = _KEY_PLANS[ids] = (rulesets, KeyPlan(rulesets))
        self.rulesets, self.keys = rulesets, entry[1]
        steps = tuple(step for ruleset in rulesets for step in _plan(ruleset))
        factory = walk_factory(tuple(len(ruleset.rules) for ruleset in rulesets), self.keys.positions, self.keys.width)
        self.walk, self.tables = factory(steps, _verdict, _not_applying, _satisfaction, _APPLIES)
        self.classes: dict = {}

    def evaluate(self, experiment: Experiment, chain: bytes | None = None) -> EvaluationReport:
        """``chain``: the document's separation chain as marshal bytes, when the caller made them."""
        try:
            marker_atoms, markers = self.keys.read_markers(experiment.raw_markers)
            atoms = self.keys.read(experiment.document, chain) + marker_atoms
        except Unkeyable:
            return _evaluate_resolved(experiment, self.rulesets)
        experiment.adopt_markers(markers)
        reports, scores = {}, {}
        for ruleset, verdicts in zip(self.rulesets, self.walk(atoms, experiment, {}), strict=True):
            report = RulesetReport(ruleset.name, ruleset.version, ruleset.report_key, verdicts)
            reports[ruleset.report_key] = report
            if ruleset.scoring == "points":
                scores[ruleset.report_key] = score_points(report)
        chain = atoms[self.keys.separation]
        classed = self.classes.get(chain)
        if classed is None:
            classed = self.classes[chain] = separation_class(experiment)
        return EvaluationReport(experiment.id, reports, scores, classed)


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
