"""The evaluator's results: a rule's verdict, a rule set's report, the EV-METRIC score and one document's report.

Kept apart from the evaluator (evaluator.py), which re-exports every name here and keeps the rule set's report
(``RulesetReport``, the one reader of the mandatory levels besides the selectors).
"""

from dataclasses import dataclass
from enum import StrEnum

from .rulesets import Rule
from .separation import SeparationClass
from .wording import describe, label


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

    # ``stored_words``: the verdict as the stored report writes it (stored_reports), made once per verdict object;
    # the batch evaluator hands one verdict to many documents, so each is put in words once per batch.
    __slots__ = ("rule", "status", "evidence", "_notes", "_undecided_applicability", "_message", "stored_words")

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
        self.stored_words: tuple | None = None

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


def score_points(report) -> EvMetricScore:
    """The EV-METRIC score of a rule set's report (evaluator.RulesetReport) scored in points."""
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
    rulesets: dict  # report key -> evaluator.RulesetReport
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
