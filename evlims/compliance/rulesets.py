"""Rule sets as data: loading, structural validation and one-time compilation of the YAML files in
rulesets/ (named ``<ruleset>@<version>.yaml``)."""

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

# The characterisation conditions and the separation-class condition register themselves in the condition
# vocabulary (conditions.py) when imported; they are kept in their own modules to keep the files readable.
from . import characterization_conditions, separation, yaml_files  # noqa: F401
from .conditions import Condition, compile_condition
from .errors import RulesetError

RULESETS_DIR = Path(__file__).parent / "rulesets"
LEVELS = ("mandatory", "mandatory_if_applicable", "encouraged")
SCORINGS = ("checklist", "points")
CITATION_STATUSES = ("V", "M", "D")
_FILE_NAME = re.compile(r"^(?P<name>[a-z0-9_]+)@(?P<version>[1-9][0-9]*)\.yaml$")
_RULE_KEYS = {"id", "title", "level", "citation", "applies_when", "satisfied_when", "missing_message", "fix"}
_REQUIRED_RULE_KEYS = _RULE_KEYS - {"applies_when"}
_RULESET_KEYS = {"ruleset", "version", "title", "report_key", "scoring", "citation", "rules"}


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    level: str
    citation: dict
    applies_when: Condition | None
    satisfied_when: Condition
    missing_message: str
    fix: str

    @property
    def possible_statuses(self) -> frozenset[str]:
        """The statuses this rule can produce, derived from its conditions (the rule tests rely on it)."""
        statuses = {"pass", "fail"}
        if self.applies_when is not None:
            statuses.add("not_applicable")
        if self.satisfied_when.may_be_undecided or (self.applies_when and self.applies_when.may_be_undecided):
            statuses.add("insufficient_data")
        return frozenset(statuses)


@dataclass(frozen=True)
class RuleSet:
    name: str
    version: int
    title: str
    report_key: str
    scoring: str
    citation: dict
    rules: tuple[Rule, ...] = field(repr=False)

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"{self.key} has no rule {rule_id!r}")

    @classmethod
    def from_mapping(cls, data: Any, *, source: str) -> "RuleSet":
        if not isinstance(data, dict):
            raise RulesetError(f"{source}: expected a mapping at the top level")
        _check_keys(data, _RULESET_KEYS, {"ruleset", "version", "title", "scoring", "citation", "rules"}, source)
        name, version = data["ruleset"], data["version"]
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]+", name):
            raise RulesetError(f"{source}: ruleset must be a lower-case name, got {name!r}")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise RulesetError(f"{source}: version must be a positive integer, got {version!r}")
        if data["scoring"] not in SCORINGS:
            raise RulesetError(f"{source}: scoring must be one of {', '.join(SCORINGS)}, got {data['scoring']!r}")
        citation = _check_citation(data["citation"], f"{source}: citation")
        if not isinstance(data["rules"], list) or not data["rules"]:
            raise RulesetError(f"{source}: rules must be a non-empty list")
        rules, seen = [], set()
        for index, spec in enumerate(data["rules"]):
            rule = _compile_rule(spec, f"{source}: rules[{index}]")
            if rule.id in seen:
                raise RulesetError(f"{source}: duplicate rule id {rule.id}")
            seen.add(rule.id)
            rules.append(rule)
        return cls(
            name=name,
            version=version,
            title=_text(data["title"], f"{source}: title"),
            report_key=data.get("report_key", name),
            scoring=data["scoring"],
            citation=citation,
            rules=tuple(rules),
        )


def _check_keys(data: dict, allowed: set, required: set, where: str) -> None:
    missing = sorted(required - set(data))
    unknown = sorted(set(data) - allowed)
    if missing:
        raise RulesetError(f"{where}: missing key(s) {', '.join(missing)}")
    if unknown:
        raise RulesetError(f"{where}: unknown key(s) {', '.join(unknown)}")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RulesetError(f"{where}: expected non-empty text, got {value!r}")
    return value.strip()


def _check_citation(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise RulesetError(f"{where}: expected a mapping with source and status")
    _check_keys(value, {"source", "status", "note"}, {"source", "status"}, where)
    if value["status"] not in CITATION_STATUSES:
        raise RulesetError(
            f"{where}.status: expected one of V (verified), M (from memory), D (design), got {value['status']!r}"
        )
    return {key: _text(text, f"{where}.{key}") for key, text in value.items()}


def _compile_rule(spec: Any, where: str) -> Rule:
    if not isinstance(spec, dict):
        raise RulesetError(f"{where}: expected a mapping")
    rule_id = spec.get("id")
    if not isinstance(rule_id, str) or not re.fullmatch(r"[A-Z0-9]+(\.[A-Z0-9_]+)+", rule_id):
        raise RulesetError(f"{where}: id must look like M18.PROT.CAT1, got {rule_id!r}")
    where = f"{where} ({rule_id})"
    _check_keys(spec, _RULE_KEYS, _REQUIRED_RULE_KEYS, where)
    if spec["level"] not in LEVELS:
        raise RulesetError(f"{where}: level must be one of {', '.join(LEVELS)}, got {spec['level']!r}")
    applies_when = spec.get("applies_when")
    return Rule(
        id=rule_id,
        title=_text(spec["title"], f"{where}: title"),
        level=spec["level"],
        citation=_check_citation(spec["citation"], f"{where}: citation"),
        applies_when=None if applies_when is None else compile_condition(applies_when, f"{where}: applies_when"),
        satisfied_when=compile_condition(spec["satisfied_when"], f"{where}: satisfied_when"),
        missing_message=_text(spec["missing_message"], f"{where}: missing_message"),
        fix=_text(spec["fix"], f"{where}: fix"),
    )


def load_ruleset_file(path: Path) -> RuleSet:
    match = _FILE_NAME.match(path.name)
    if not match:
        raise RulesetError(f"{path.name}: rule-set files are named <ruleset>@<version>.yaml")
    try:
        data = yaml_files.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RulesetError(f"{path.name}: not valid YAML: {error}") from error
    ruleset = RuleSet.from_mapping(data, source=path.name)
    if (ruleset.name, ruleset.version) != (match["name"], int(match["version"])):
        raise RulesetError(f"{path.name}: declares {ruleset.key}, which does not match the file name")
    return ruleset


@cache
def available_rulesets() -> dict[str, tuple[int, ...]]:
    """Rule-set name -> versions on disk, oldest first."""
    versions: dict[str, list[int]] = {}
    for path in RULESETS_DIR.glob("*.yaml"):
        match = _FILE_NAME.match(path.name)
        if match:
            versions.setdefault(match["name"], []).append(int(match["version"]))
    return {name: tuple(sorted(found)) for name, found in sorted(versions.items())}


@cache
def load_ruleset(reference: str) -> RuleSet:
    """Load and compile a rule set once: ``"misev2018"`` (latest version) or ``"misev2018@1"``."""
    name, _, version = reference.partition("@")
    versions = available_rulesets().get(name)
    if not versions:
        raise RulesetError(f"unknown rule set {name!r}; available: {', '.join(available_rulesets())}")
    if version and (not version.isdigit() or int(version) not in versions):
        raise RulesetError(f"rule set {name!r} has no version {version!r}; available: {versions}")
    chosen = int(version) if version else versions[-1]
    return load_ruleset_file(RULESETS_DIR / f"{name}@{chosen}.yaml")


def default_rulesets() -> tuple[RuleSet, ...]:
    """The latest version of every rule set on disk: adding a rule-set file adds it to every evaluation."""
    return tuple(load_ruleset(name) for name in available_rulesets())
