"""The recovery x specificity class of a separation chain (vocab/separation_classes.yaml)."""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from .conditions import SEPARATION_METHODS
from .document import Experiment
from .errors import VocabularyError

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


def separation_class(experiment: Experiment) -> SeparationClass:
    """Class the chain by its most specific step; (None, None) when no step's method is classified."""
    citation, tiers = _tiers()
    for recovery, specificity, methods in tiers:
        for index, step in enumerate(experiment.steps):
            if step["method"] in methods:
                return SeparationClass(recovery, specificity, f"separation[{index}] ({step['method']})", citation)
    return SeparationClass(None, None, None, citation)
