"""MISEV2018 recovery x specificity class of an isolation method chain.

Rule for chains (data in data/misev_classes.yaml):

1. An explicit combination entry wins when its methods are all in the chain and the chain's
   other classified methods are only preparative ones.
2. Otherwise only "separation" steps count (pre-clearing filtration and ultrafiltration used
   for concentration only count when there is no separation step). Every separation step loses
   material, so the chain's recovery is the lowest recovery of its steps; orthogonal separations
   remove different contaminants, so its specificity is the highest specificity of its steps.
3. Steps without a class (kit without a principle, other) are listed in ``unclassified``; if no
   step can be classified the class is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from protocols.catalogue import method_label
from protocols.schemas import METHOD_CODES, UnknownMethodError

TABLE_PATH = Path(__file__).parent / "data" / "misev_classes.yaml"


@dataclass(frozen=True)
class MisevClass:
    recovery: str
    specificity: str
    label: str
    basis: str
    unclassified: tuple[str, ...]
    citation: str

    def to_dict(self) -> dict:
        return {
            "recovery": self.recovery,
            "specificity": self.specificity,
            "label": self.label,
            "basis": self.basis,
            "unclassified": list(self.unclassified),
            "citation": self.citation,
        }


@lru_cache(maxsize=1)
def _table() -> dict:
    with TABLE_PATH.open(encoding="utf-8") as handle:
        table = yaml.safe_load(handle)
    levels = table["levels"]
    for method in METHOD_CODES:
        if method not in table["methods"]:
            raise ValueError(f"{TABLE_PATH.name}: method '{method}' has no entry (use null for no class)")
        entry = table["methods"][method]
        if entry is not None and (entry["recovery"] not in levels or entry["specificity"] not in levels):
            raise ValueError(f"{TABLE_PATH.name}: method '{method}' uses a level outside {levels}")
    return table


def misev_class(methods: list[str]) -> MisevClass:
    """Class of a chain of method codes (in protocol order; kit steps may be given as their principle)."""
    table = _table()
    for method in methods:
        if method not in METHOD_CODES:
            raise UnknownMethodError(method)
    classified = [m for m in methods if table["methods"][m] is not None]
    unclassified = tuple(dict.fromkeys(m for m in methods if table["methods"][m] is None))
    if not classified:
        return MisevClass(
            "unknown",
            "unknown",
            "unknown (no classifiable step)",
            "no step of the chain has a MISEV2018 class",
            unclassified,
            table["citation"],
        )
    chain_set = set(classified)
    preparative = {m for m in chain_set if table["methods"][m]["role"] == "preparative"}
    for combination in table["combinations"]:
        combination_set = set(combination["methods"])
        if combination_set <= chain_set and chain_set - combination_set <= preparative:
            return _make(
                table,
                combination["recovery"],
                combination["specificity"],
                f"explicit combination {' + '.join(combination['methods'])}",
                unclassified,
            )
    separation = [m for m in classified if table["methods"][m]["role"] == "separation"]
    counted = separation or classified
    levels = table["levels"]
    recovery = min((table["methods"][m]["recovery"] for m in counted), key=levels.index)
    specificity = max((table["methods"][m]["specificity"] for m in counted), key=levels.index)
    ignored = sorted(set(classified) - set(counted))
    basis = f"lowest recovery and highest specificity of {', '.join(map(method_label, dict.fromkeys(counted)))}"
    if ignored:
        basis += f" (preparative steps not counted: {', '.join(map(method_label, ignored))})"
    return _make(table, recovery, specificity, basis, unclassified)


def classed_step_method(method: str, params: dict | None) -> str:
    """The code a step is classed by: a kit with a stated principle counts as that principle."""
    principle = (params or {}).get("principle") if method == "kit" else None
    return principle if principle and principle not in ("other", "membrane_affinity") else method


def separation_method(steps) -> str:
    """The method a chain is known by in lists, filters and comparisons: its most specific separation step,
    the first of equals (a density gradient after an ultracentrifugation pellet is a density-gradient chain).
    Pre-clearing spins, filtration and concentration are preparative and count only when the chain has no
    separation step; then the first classified step names it. ``steps`` are dicts with ``method`` and
    ``params`` (a stored protocol definition's steps). The roles come from data/misev_classes.yaml."""
    table = _table()
    levels = table["levels"]
    codes = [classed_step_method(step.get("method", ""), step.get("params")) for step in steps]
    known = [code for code in codes if table["methods"].get(code) is not None]
    separation = [code for code in known if table["methods"][code]["role"] == "separation"]
    if separation:
        return max(
            separation, key=lambda code: (levels.index(table["methods"][code]["specificity"]), -separation.index(code))
        )
    return (known or codes or [""])[0]


def _make(table: dict, recovery: str, specificity: str, basis: str, unclassified: tuple) -> MisevClass:
    if unclassified:
        basis += f"; not classified: {', '.join(unclassified)}"
    label = table["labels"][f"{recovery}/{specificity}"]
    return MisevClass(recovery, specificity, label, basis, unclassified, table["citation"])
