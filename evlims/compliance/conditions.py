"""The condition vocabulary that rule sets use in ``applies_when`` and ``satisfied_when``.

A condition is a one-key mapping ``{name: arguments}``. Each compiles once into a ``Condition`` whose
``check(experiment)`` returns an ``Outcome``: True, False, or None when the document does not hold
enough data to decide. Conditions over the sample and the separation chain are always decidable (an
absent sample field is "not reported"); conditions over characterisation lists are undecided when the
list is absent from the document. docs/compliance.md lists every condition with examples.
"""

import json
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from . import wording
from .condition_args import (
    absent_value,
    field_alternatives,
    mapping_args,
    missing_fields,
    split_path,
    str_list,
)
from .document import Experiment, is_reported, path_getter
from .errors import RulesetError

BIOFLUIDS = frozenset(
    "blood_plasma serum whole_blood urine csf saliva milk ascites pleural_effusion amniotic_fluid semen "
    "synovial_fluid bile tears bal_fluid cell_culture_medium tissue other".split()
)
SEPARATION_METHODS = frozenset(
    "differential_centrifugation ultracentrifugation density_gradient sec precipitation filtration "
    "ultrafiltration immunoaffinity kit other".split()
)


class Outcome(NamedTuple):
    value: bool | None
    evidence: tuple[tuple[str, Any], ...] = ()
    # For False: what is missing, in plain words. For None: what could not be told.
    notes: tuple[str, ...] = ()


class Condition(NamedTuple):
    name: str
    check: Callable[[Experiment], Outcome]
    may_be_undecided: bool


def evidence(path: str, detail: Any) -> tuple[str, Any]:
    """One piece of evidence: the document path used and what was found there (formatted on output)."""
    return (path, detail)


ConditionCompiler = Callable[[Any, str], Condition]
_COMPILERS: dict[str, ConditionCompiler] = {}


def condition(name: str):
    def register(compiler: ConditionCompiler) -> ConditionCompiler:
        _COMPILERS[name] = compiler
        return compiler

    return register


def condition_names() -> frozenset[str]:
    return frozenset(_COMPILERS)


_INTERNED: dict[str, Condition] = {}


def compile_condition(spec: Any, where: str) -> Condition:
    """Compile a condition mapping; ``where`` (file, rule id, key path) prefixes every error message.

    Identical specs compile to one shared Condition, so the evaluator can reuse its outcome across the
    rules (and rule sets) that repeat it, such as the same biofluid test.
    """
    try:
        key = json.dumps(spec, sort_keys=True)
    except (TypeError, ValueError):
        key = None
    if key is not None and key in _INTERNED:
        return _INTERNED[key]
    compiled = _compile(spec, where)
    if key is not None:
        _INTERNED[key] = compiled
        # Kept with the condition so the batch evaluator can ask what it reads (read_paths.condition_paths).
        _SPECS[id(compiled)] = (compiled, json.loads(key))
    return compiled


_SPECS: dict[int, tuple[Condition, Any]] = {}


def interned_condition(spec: Any) -> Condition | None:
    """The condition compiled from a mapping, if one was (conditions nested in all/any/not are compiled too)."""
    return _INTERNED.get(json.dumps(spec, sort_keys=True))


def condition_spec(compiled: Condition) -> Any | None:
    """The mapping a condition was compiled from; None for a condition not compiled from one."""
    entry = _SPECS.get(id(compiled))
    return entry[1] if entry is not None and entry[0] is compiled else None


def _compile(spec: Any, where: str) -> Condition:
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise RulesetError(f"{where}: a condition must be a mapping with exactly one key, got {spec!r}")
    ((name, args),) = spec.items()
    compiler = _COMPILERS.get(name)
    if compiler is None:
        raise RulesetError(f"{where}: unknown condition {name!r}; known: {', '.join(sorted(_COMPILERS))}")
    return compiler(args, f"{where}.{name}")


# --- argument checks -------------------------------------------------------------------------------


# --- combinators ------------------------------------------------------------------------------------


def _children(args: Any, where: str) -> tuple[Condition, ...]:
    if not isinstance(args, list) or not args:
        raise RulesetError(f"{where}: expected a non-empty list of conditions")
    return tuple(compile_condition(spec, f"{where}[{i}]") for i, spec in enumerate(args))


@condition("all")
def _all(args, where):
    children = _children(args, where)
    checks = tuple(child.check for child in children)

    def check(experiment):
        found, failed, unknown = [], [], []
        any_failed = any_unknown = False
        for child_check in checks:
            value, child_evidence, notes = child_check(experiment)
            found += child_evidence
            if value is False:
                any_failed = True
                failed += notes
            elif value is None:
                any_unknown = True
                unknown += notes
        if any_failed:
            return Outcome(False, tuple(found), tuple(failed))
        if any_unknown:
            return Outcome(None, tuple(found), tuple(unknown))
        return Outcome(True, tuple(found))

    return Condition("all", check, any(child.may_be_undecided for child in children))


@condition("any")
def _any(args, where):
    children = _children(args, where)

    def check(experiment):
        outcomes = [child.check(experiment) for child in children]
        passed = [outcome for outcome in outcomes if outcome.value is True]
        if passed:
            return Outcome(True, tuple(item for outcome in passed for item in outcome.evidence))
        found = tuple(item for outcome in outcomes for item in outcome.evidence)
        unknown = [outcome for outcome in outcomes if outcome.value is None]
        if unknown:
            return Outcome(None, found, tuple(note for outcome in unknown for note in outcome.notes))
        notes = [note for outcome in outcomes for note in outcome.notes]
        return Outcome(False, found, ("none of these holds: " + "; ".join(notes),))

    return Condition("any", check, any(child.may_be_undecided for child in children))


@condition("not")
def _not(args, where):
    child = compile_condition(args, f"{where}")

    def check(experiment):
        outcome = child.check(experiment)
        if outcome.value is None:
            return outcome
        if outcome.value:
            details = "; ".join(f"{path} is {detail}" for path, detail in outcome.evidence) or child.name
            return Outcome(False, outcome.evidence, (f"excluded because {details}",))
        return Outcome(True, outcome.evidence)

    return Condition("not", check, child.may_be_undecided)


# --- sample fields ----------------------------------------------------------------------------------


@condition("biofluid_in")
def _biofluid_in(args, where):
    codes = frozenset(str_list(args, where, allowed=BIOFLUIDS))
    listed = ", ".join(sorted(codes))
    # The answer depends on the biofluid alone, so every possible outcome is built once here.
    outcomes = {
        code: Outcome(True, (evidence("sample.biofluid", code),))
        if code in codes
        else Outcome(False, (evidence("sample.biofluid", code),), (f"the biofluid is {code}, not one of {listed}",))
        for code in BIOFLUIDS
    }

    def check(experiment):
        return outcomes[experiment.biofluid]

    return Condition("biofluid_in", check, False)


@condition("field_present")
def _field_present(args, where):
    paths = tuple(
        (path, path_getter(split_path(path, where)), f"{path} is not reported") for path in str_list(args, where)
    )
    if len(paths) == 1:
        ((path, get, note),) = paths
        absent = Outcome(False, (), (note,))

        def check_one(experiment):
            value = get(experiment.document)
            if is_reported(value):
                return Outcome(True, ((path, value),))
            return absent

        return Condition("field_present", check_one, False)

    def check(experiment):
        document = experiment.document
        found, missing = [], []
        for path, get, note in paths:
            value = get(document)
            if is_reported(value):
                found.append((path, value))
            else:
                missing.append(note)
        if missing:
            return Outcome(False, tuple(found), tuple(missing))
        return Outcome(True, tuple(found))

    return Condition("field_present", check, False)


@condition("field_in")
def _field_in(args, where):
    args = mapping_args(args, where, required=("field", "values"), optional=("absent_means",))
    path = args["field"]
    get = path_getter(split_path(path, f"{where}.field"))
    values = args["values"]
    if not isinstance(values, list) or not values:
        raise RulesetError(f"{where}.values: expected a non-empty list")
    allowed = frozenset(values)
    when_absent = absent_value(args, where)

    def check(experiment):
        value = get(experiment.document)
        if value is None:
            return Outcome(when_absent, (), (f"{path} is not reported",))
        found = (evidence(path, value),)
        if value in allowed:
            return Outcome(True, found)
        return Outcome(False, found, (f"{path} is {value!r}, not one of {', '.join(map(str, values))}",))

    return Condition("field_in", check, when_absent is None)


_COMPARISONS = {
    "<": (lambda a, b: a < b, "below"),
    "<=": (lambda a, b: a <= b, "at most"),
    ">": (lambda a, b: a > b, "above"),
    ">=": (lambda a, b: a >= b, "at least"),
    "==": (lambda a, b: a == b, "exactly"),
}


@condition("field_compare")
def _field_compare(args, where):
    args = mapping_args(args, where, required=("field", "op", "value"), optional=("absent_means",))
    path = args["field"]
    get = path_getter(split_path(path, f"{where}.field"))
    if args["op"] not in _COMPARISONS:
        raise RulesetError(f"{where}.op: expected one of {' '.join(_COMPARISONS)}, got {args['op']!r}")
    compare, wording = _COMPARISONS[args["op"]]
    limit = args["value"]
    if isinstance(limit, bool) or not isinstance(limit, int | float):
        raise RulesetError(f"{where}.value: expected a number, got {limit!r}")
    when_absent = absent_value(args, where)

    def check(experiment):
        value = get(experiment.document)
        if value is None:
            return Outcome(when_absent, (), (f"{path} is not reported",))
        if isinstance(value, bool) or not isinstance(value, int | float):
            return Outcome(None, (), (f"{path} is {value!r}, not a number",))
        found = (evidence(path, value),)
        if compare(value, limit):
            return Outcome(True, found)
        return Outcome(False, found, (f"{path} is {value}, expected {wording} {limit}",))

    return Condition("field_compare", check, when_absent is None)


@condition("all_items_have")
def _all_items_have(args, where):
    args = mapping_args(args, where, required=("list", "fields"), optional=("min_items",))
    path = args["list"]
    get = path_getter(split_path(path, f"{where}.list"))
    alternatives = field_alternatives(args["fields"], f"{where}.fields")
    min_items = args.get("min_items", 1)
    if not isinstance(min_items, int) or isinstance(min_items, bool) or min_items < 0:
        raise RulesetError(f"{where}.min_items: expected a non-negative integer, got {min_items!r}")

    def check(experiment):
        items = get(experiment.document) or ()
        if len(items) < min_items:
            found = f"{wording.label(path)} lists {len(items)} item(s), at least {min_items} expected"
            return Outcome(False, (), (found,))
        gaps = []
        for index, item in enumerate(items):
            lacking = missing_fields(item, alternatives)
            if lacking:
                gaps.append(f"{wording.label(f'{path}[{index}]')} lacks {', '.join(map(wording.field_words, lacking))}")
        found = tuple(evidence(f"{path}[{i}]", "checked") for i in range(len(items)))
        return Outcome(not gaps, found, tuple(gaps))

    return Condition("all_items_have", check, False)


@condition("all_items_include")
def _all_items_include(args, where):
    """Every item of a list names at least one of ``values`` in its list field (e.g. a functional study's
    controls); an absent or empty list is false, so pair it with ``field_present`` in ``applies_when``."""
    args = mapping_args(args, where, required=("list", "field", "values"))
    path = args["list"]
    get = path_getter(split_path(path, f"{where}.list"))
    field = args["field"]
    if not isinstance(field, str) or not field:
        raise RulesetError(f"{where}.field: expected a field name, got {field!r}")
    values = str_list(args["values"], f"{where}.values")
    wanted, listed = frozenset(values), " or ".join(values)

    def check(experiment):
        items = get(experiment.document) or ()
        if not items:
            return Outcome(False, (), (f"{wording.label(path)} lists no item",))
        found, gaps = [], []
        for index, item in enumerate(items):
            named = [value for value in (item.get(field) or ()) if value in wanted]
            if named:
                found.append(evidence(f"{path}[{index}].{field}", ", ".join(named)))
            else:
                gaps.append(f"{path}[{index}].{field} names no {listed}")
        return Outcome(not gaps, tuple(found), tuple(gaps))

    return Condition("all_items_include", check, False)


# --- separation chain -------------------------------------------------------------------------------


@condition("method_used")
def _method_used(args, where):
    methods = frozenset(str_list(args, where, allowed=SEPARATION_METHODS))

    def check(experiment):
        found = tuple(
            evidence(f"separation[{i}]", step["method"])
            for i, step in enumerate(experiment.steps)
            if step["method"] in methods
        )
        if found:
            return Outcome(True, found)
        return Outcome(False, (), (f"no separation step uses {wording.codes(sorted(methods), ' or ')}",))

    return Condition("method_used", check, False)


@condition("param_present_for_all_steps")
def _param_present_for_all_steps(args, where):
    if not isinstance(args, Mapping) or not args:
        raise RulesetError(f"{where}: expected a mapping of separation method -> list of parameter names")
    str_list(list(args), where, allowed=SEPARATION_METHODS)
    required = {method: field_alternatives(params, f"{where}.{method}") for method, params in args.items()}

    def check(experiment):
        found, gaps = [], []
        for index, step in enumerate(experiment.steps):
            alternatives = required.get(step["method"])
            if alternatives is None:
                continue
            lacking = missing_fields(step.get("params"), alternatives)
            if lacking:
                gaps.append(f"separation[{index}] ({step['method']}) lacks {', '.join(lacking)}")
            else:
                found.append(evidence(f"separation[{index}].params", f"{step['method']}: all parameters reported"))
        return Outcome(not gaps, tuple(found), tuple(gaps))

    return Condition("param_present_for_all_steps", check, False)
