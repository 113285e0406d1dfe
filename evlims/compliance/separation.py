"""The recovery x specificity class of a separation chain (vocab/separation_classes.yaml)."""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from .conditions import SEPARATION_METHODS, Condition, Outcome, condition, evidence
from .document import Experiment
from .errors import RulesetError, VocabularyError
from .wording import codes

CLASSES_PATH = Path(__file__).parent / "vocab" / "separation_classes.yaml"
LEVELS = ("low", "intermediate", "high")


@dataclass(frozen=True)
class SeparationClass:
    recovery: str | None
    specificity: str | None
    decided_by: str | None
    citation: dict

    def to_dict(self) -> dict:
        return {
            "recovery": self.recovery,
            "specificity": self.specificity,
            "decided_by": self.decided_by,
            "citation": self.citation,
        }


@cache
def _tiers() -> tuple[dict, tuple[tuple[str, str, frozenset[str]], ...]]:
    data = yaml.safe_load(CLASSES_PATH.read_text(encoding="utf-8"))
    return parse_tiers(data, source=CLASSES_PATH.name)


def parse_tiers(data: dict, *, source: str):
    try:
        citation, tiers = data["citation"], data["tiers"]
    except (KeyError, TypeError) as error:
        raise VocabularyError(f"{source}: missing or malformed top-level key {error}") from error
    parsed = []
    for index, tier in enumerate(tiers):
        where = f"{source}: tiers[{index}]"
        if tier.get("recovery") not in LEVELS or tier.get("specificity") not in LEVELS:
            raise VocabularyError(f"{where}: recovery and specificity must each be one of {', '.join(LEVELS)}")
        unknown = sorted(set(tier.get("methods") or ()) - SEPARATION_METHODS)
        if unknown or not tier.get("methods"):
            raise VocabularyError(
                f"{where}: methods must be separation methods; unknown: {', '.join(unknown) or 'none'}"
            )
        parsed.append((tier["recovery"], tier["specificity"], frozenset(tier["methods"])))
    return dict(citation), tuple(parsed)


def classed_method(step: dict) -> str:
    """The method a step is classed by: a kit with a stated separation principle is classed as that method."""
    if step["method"] == "kit":
        principle = (step.get("params") or {}).get("principle")
        if principle in SEPARATION_METHODS:
            return principle
    return step["method"]


def _decide(experiment: Experiment) -> tuple[str | None, str | None, int | None, str | None]:
    _, tiers = _tiers()
    for recovery, specificity, methods in tiers:
        for index, step in enumerate(experiment.steps):
            method = classed_method(step)
            if method in methods:
                described = step["method"] if method == step["method"] else f"kit, {method} principle"
                return recovery, specificity, index, described
    return None, None, None, None


def separation_class(experiment: Experiment) -> SeparationClass:
    """Class the chain by its most specific step; (None, None) when no step's method is classified."""
    citation, _ = _tiers()
    recovery, specificity, index, described = _decide(experiment)
    decided_by = None if index is None else f"separation[{index}] ({described})"
    return SeparationClass(recovery, specificity, decided_by, citation)


@condition("separation_classified")
def _separation_classified(args, where):
    """The chain sits on the recovery x specificity grid; the evidence names the class and the deciding step."""
    if args is not True:
        raise RulesetError(f"{where}: expected true")

    def check(experiment):
        recovery, specificity, index, described = _decide(experiment)
        if index is None:
            methods = codes(step["method"] for step in experiment.steps) or "no step"
            return Outcome(False, (), (f"no step of the chain ({methods}) has a recovery × specificity class",))
        found = f"{recovery} recovery, {specificity} specificity (decided by {described})"
        return Outcome(True, (evidence(f"separation[{index}]", found),))

    return Condition("separation_classified", check, False)
