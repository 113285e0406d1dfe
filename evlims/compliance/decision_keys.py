"""What the batch evaluator keys a rule's verdict by: the values of the document parts the rule's conditions read.

Thousands of stored preparations share a separation chain, a storage and a handful of sample fields, so most rules
give the same verdict for many documents of a batch. ``evaluate_many`` decides such a rule once per distinct key and
hands the same verdict to every document with that key; the key holds every value the rule's conditions read
(``read_paths.condition_paths``), so two documents with one key get equal verdicts, evidence and notes.

A key is built from *atoms*, each read once per document and shared by every rule that needs it:

- a plain path (``sample.volume_ml``, ``prep_storage``, ``flow.controls.buffer``): the value there, or ABSENT;
- a list (``separation``, ``characterization.particle_analysis``): per item, in order, the item's fields that any
  rule reads; a field read deeper (``separation[].params.g_force``) is taken whole (``params``), which also covers
  what a condition reads beside the paths it names (a kit's separation principle).

Values are keyed so that equal keys mean equal values of the same type: strings, integers and None as they are,
booleans as two flags equal to nothing else (1, 1.0 and True differ), floats and anything else as ``marshal`` bytes,
which round-trip (so 0.0 and -0.0, and dictionaries in another key order, differ: a miss, never a wrong hit). A
document with something ``marshal`` cannot write, or a mapping that is not a plain dict on a path, is not keyed: it is
decided rule by rule.

The markers are keyed per group of marker conditions (``read_markers``): each marker entry is read once into what it
holds, and equal entries at one place share one ``Marker`` object and one number per group, so a group's key is a
short tuple of integers. A rule whose condition does not say what it reads is never keyed (``DIRECT``).
"""

import itertools
import marshal
from collections.abc import Callable
from operator import itemgetter

from .characterization_conditions import marker_relevance
from .conditions import condition_spec, interned_condition
from .document import Marker
from .markers import marker_vocabulary
from .read_paths import condition_paths
from .rulesets import RuleSet

# A rule whose verdict is decided for every document: it reads the markers, or a condition the read paths do not know.
DIRECT = None
MARKERS = "characterization.markers"
# Lists keyed whole, in one call: a separation step is its method and parameters, all of which conditions read.
SEPARATION = ("separation",)
WHOLE_LISTS = frozenset({SEPARATION})
# How many distinct markers the plan remembers the groups of (a bound on its memory across batches).
MARKERS_KEPT = 100_000
# What the separation class reads (separation.classed_method): every step's method and parameters.
SEPARATION_PATHS = frozenset({"separation", "separation[].method", "separation[].params.principle"})


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


class Unkeyable(Exception):
    """The document holds something a key cannot be made of; it is decided rule by rule."""


class _Flag:
    """True or False as a key: never equal to 1 or 0 (which are keyed as they are)."""

    __slots__ = ("value",)

    def __init__(self, value: bool):
        self.value = value

    def __repr__(self) -> str:
        return f"KEYED_{self.value}"


_KEYED_BOOLS = {True: _Flag(True), False: _Flag(False)}


def freeze(value):
    kind = value.__class__
    if kind is str or kind is int or value is None or value is ABSENT:
        return value
    if kind is bool:
        return _KEYED_BOOLS[value]
    if kind is float:
        return marshal.dumps(value)
    try:
        return marshal.dumps(value)
    except ValueError as error:
        raise Unkeyable(str(error)) from None


def _reads(compiled, *, applies: bool = False) -> tuple[frozenset[str], tuple] | None:
    """(the document paths a condition reads outside the markers, the relevance predicates of its marker
    conditions); None when a condition does not say what it reads (its rule is decided for every document).
    ``applies``: the condition is a rule's applies_when (a marker condition that is all of it may read less)."""
    spec = condition_spec(compiled)
    if spec is None:
        return None
    paths: set[str] = set()
    predicates: list = []
    pending = [spec]
    while pending:
        node = pending.pop()
        ((name, args),) = node.items()
        if name in ("all", "any"):
            pending.extend(args)
            continue
        if name == "not":
            pending.append(args)
            continue
        leaf = interned_condition(node)
        relevant = None if leaf is None else marker_relevance(leaf, as_applies=applies and node is spec)
        try:
            leaf_paths = condition_paths(node)
        except (KeyError, TypeError, ValueError):
            return None
        if name == "quantification_kinds":
            # It asks only whether an amount is given ("field in entry"), not what it is: keyed by presence.
            leaf_paths = {path.replace("[].", "[].?") for path in leaf_paths}
        if relevant is not None:
            predicates.append(relevant)
            leaf_paths = {path for path in leaf_paths if not path.startswith(MARKERS)}
        elif any(path.startswith(MARKERS) for path in leaf_paths):
            return None
        paths |= leaf_paths
    return frozenset(paths), tuple(dict.fromkeys(predicates))


def _split(path: str) -> tuple[tuple[str, ...], str | None]:
    """("characterization.particle_analysis[].method") -> (("characterization", "particle_analysis"), "method")."""
    head, marker, tail = path.partition("[]")
    keys = tuple(head.split("."))
    if not marker:
        return keys, None
    return keys, tail.lstrip(".").split(".")[0].split("[")[0] or None


def _atoms_of(reads: tuple[frozenset[str], tuple]) -> set:
    """The atoms one condition's reads make: a plain path each; one per list, with the item fields read (every
    field of a separation step: conditions read parameters beside the paths they name); one for its markers."""
    paths, predicates = reads
    lists: dict[tuple[str, ...], set[str]] = {}
    for path in paths:
        if "[]" in path:
            keys, field = _split(path)
            lists.setdefault(keys, set()).update([field] if field else [])
    if ("separation",) in lists:
        lists[("separation",)] = {"method", "params"}
    atoms = {(_split(path)[0], None) for path in paths if "[]" not in path and _split(path)[0] not in lists}
    atoms |= {(keys, tuple(sorted(fields))) for keys, fields in lists.items()}
    if predicates:
        atoms.add((MARKERS, predicates))
    return atoms


class KeyPlan:
    """The atoms of a batch's rule sets and, per rule, the getters of its applies_when key (None: the rule has no
    applies_when) and of its satisfied_when key (DIRECT: the rule is decided for every document)."""

    def __init__(self, rulesets: tuple[RuleSet, ...]):
        per_rule = []
        for ruleset in rulesets:
            for rule in ruleset.rules:
                applies = None if rule.applies_when is None else _reads(rule.applies_when, applies=True)
                satisfied = _reads(rule.satisfied_when)
                if satisfied is None or (rule.applies_when is not None and applies is None):
                    per_rule.append((None, DIRECT))
                else:
                    # Once a rule applies, its verdict is made of its satisfied_when's outcome alone.
                    per_rule.append((None if applies is None else _atoms_of(applies), _atoms_of(satisfied)))
        separation = (("separation",), ("method", "params"))
        wanted = {separation}.union(*(atoms for pair in per_rule for atoms in pair if atoms))
        self.atoms = tuple(
            sorted((atom for atom in wanted if atom[0] != MARKERS), key=lambda atom: (atom[0], atom[1] or ()))
        )
        # In the order the rules name them, so a plan is the same in every process.
        self.marker_groups = tuple(
            dict.fromkeys(
                atom[1] for pair in per_rule for atoms in pair if atoms for atom in atoms if atom[0] == MARKERS
            )
        )
        index = {atom: position for position, atom in enumerate(self.atoms)}
        index.update(
            {(MARKERS, group): len(self.atoms) + position for position, group in enumerate(self.marker_groups)}
        )
        self.separation = index[separation]
        self.index, self.rule_atoms = index, tuple(per_rule)
        # Per rule, the positions of its keys' atoms: (applies_when's or None, satisfied_when's or DIRECT).
        self.positions = tuple(
            (
                None if applies is None else _positions_of(applies, index),
                DIRECT if both is DIRECT else _positions_of(both, index),
            )
            for applies, both in per_rule
        )
        self.read = compile_reader(self.atoms)
        self._absent_markers = (ABSENT,) * len(self.marker_groups)
        # How many atoms a document's key reads: its paths' and its marker groups'.
        self.width = len(self.atoms) + len(self.marker_groups)
        # (what a marker entry holds, its place) -> (its Marker, its (group, number) pairs); the pairs' numbers.
        self._seen: dict[tuple, tuple] = {}
        self._items: dict[tuple, int] = {}
        self._numbers = itertools.count()

    def read_markers(self, entries) -> tuple[tuple, tuple | None]:
        """(per marker group, the markers one of its conditions depends on, each as its place and what the condition
        reads of it, one integer per distinct pair; the document's Marker objects, one per equal entry at one place,
        shared between documents). ``entries``: the document's raw marker list, or None."""
        if entries is None:
            return self._absent_markers, None
        buckets = [[] for _ in self.marker_groups]
        seen, flags = self._seen, _KEYED_BOOLS
        markers = []
        for index, entry in enumerate(entries):
            protein, detected, method = entry["protein"], entry["detected"], entry["method"]
            antibody, lysate = entry.get("antibody"), entry.get("lysate")
            try:
                held = (
                    protein,
                    flags[detected] if detected.__class__ is bool else freeze(detected),
                    method if method.__class__ is str else freeze(method),
                    marshal.dumps(antibody) if antibody.__class__ is dict else freeze(antibody),
                    marshal.dumps(lysate) if lysate.__class__ is dict else freeze(lysate),
                    index,
                )
            except ValueError as error:
                raise Unkeyable(str(error)) from None
            known = seen.get(held)
            if known is None:
                if len(seen) >= MARKERS_KEPT:
                    seen.clear()
                    self._items.clear()
                marker = Marker(index, entry, marker_vocabulary())
                known = seen[held] = (marker, self._groups(marker, held))
            markers.append(known[0])
            for position, item in known[1]:
                buckets[position].append(item)
        return tuple([tuple(bucket) for bucket in buckets]), tuple(markers)

    def _groups(self, marker, held: tuple) -> tuple:
        """(group, the number of this marker's place and what the group's conditions read of it) for every group one
        of whose conditions it matters to. Numbers are never reused, so equal numbers mean equal pairs."""
        found = []
        for position, conditions in enumerate(self.marker_groups):
            parts = tuple(
                (reads(marker) if callable(reads) else held[_HELD_PARTS[reads]]) if relevant(marker) else None
                for relevant, reads in conditions
            )
            if any(part is not None for part in parts):
                pair = (position, marker.index, parts)
                item = self._items.get(pair)
                if item is None:
                    item = self._items[pair] = next(self._numbers)
                found.append((position, item))
        return tuple(found)


# What a marker condition reads of a marker, as positions in ``held`` (protein, outcome, method, antibody, lysate).
_HELD_PARTS = {
    "all": slice(0, 5),
    "place": slice(0, 0),
    "name": slice(0, 1),
    "antibody": slice(3, 4),
    "lysate": slice(4, 5),
}


def _held_part(reads: str, held: tuple) -> tuple:
    return held[_HELD_PARTS[reads]]


def _positions_of(atoms, index) -> tuple[int, ...]:
    return tuple(sorted(index[atom] for atom in atoms))


def key_getter(positions: tuple[int, ...]) -> Callable[[tuple], object]:
    """A key as the batch walk makes it (batch_walk.py): () for none, the atom itself for one, a tuple for more."""
    if not positions:
        return lambda atoms: ()
    return itemgetter(*positions)


def _list_atom(fields: tuple[str, ...], present: tuple[str, ...]) -> str:
    """The expression keying a list ``x``: per item, in order, the values of ``fields`` and whether each of
    ``present`` is there."""
    parts = [f"freeze(i.get({field!r}, ABSENT))" for field in fields] + [f"{field!r} in i" for field in present]
    item = f"({''.join(part + ', ' for part in parts)})"
    return f"tuple([{item} if i.__class__ is dict else freeze(i) for i in x]) if x.__class__ is list else freeze(x)"


def compile_reader(atoms) -> Callable[[dict], tuple]:
    """One function reading every atom of a document: each mapping on the way is looked up once (the sample's
    fields share one lookup of ``sample``), an absent mapping makes every atom under it ABSENT at once (a document
    without a flow part reads none of the flow fields), strings and nulls are keyed as they are without a call.
    Generated once per plan from the atoms' paths (which come from the rule-set files, as Python literals)."""
    tree: dict = {"atoms": [], "children": {}}
    for position, (keys, fields) in enumerate(atoms):
        node = tree
        for key in keys[:-1]:
            node = node["children"].setdefault(key, {"atoms": [], "children": {}})
        node["atoms"].append((position, keys, fields))
    lines = ["def read(document, chain=None):"]
    _emit_container(tree, "document", "    ", lines, [0])
    lines.append(f"    return ({''.join(f'a{position}, ' for position in range(len(atoms)))})")
    namespace = {"ABSENT": ABSENT, "freeze": freeze, "dumps": marshal.dumps, "Unkeyable": Unkeyable}
    exec(compile("\n".join(lines), "<decision_keys reader>", "exec"), namespace)  # noqa: S102
    return namespace["read"]


def _positions(node: dict) -> list[int]:
    found = [position for position, _, _ in node["atoms"]]
    for child in node["children"].values():
        found += _positions(child)
    return found


def _emit_container(node: dict, name: str, indent: str, lines: list[str], counter: list[int]) -> None:
    lines.append(f"{indent}if {name}.__class__ is dict:")
    inner = indent + "    "
    for position, keys, fields in node["atoms"]:
        lines.append(f"{inner}x = {name}.get({keys[-1]!r}, ABSENT)")
        if fields is None:
            # freeze(x), its common cases inline: absent, strings, integers and nulls as they are, floats as bytes.
            lines.append(f"{inner}k = x.__class__")
            lines.append(
                f"{inner}a{position} = x if x is ABSENT or k is str or k is int or x is None"
                " else dumps(x) if k is float else freeze(x)"
            )
        elif keys == SEPARATION:
            # The chain's bytes when the caller has them already (document.validate_in_parts made them).
            lines.append(f"{inner}a{position} = chain if chain is not None else freeze(x)")
        elif keys in WHOLE_LISTS:
            lines.append(f"{inner}a{position} = freeze(x)")
        else:
            values = tuple(field for field in fields if not field.startswith("?"))
            present = tuple(field[1:] for field in fields if field.startswith("?"))
            lines.append(f"{inner}a{position} = {_list_atom(values, present)}")
    for key, child in node["children"].items():
        counter[0] += 1
        child_name = f"c{counter[0]}"
        lines.append(f"{inner}{child_name} = {name}.get({key!r}, ABSENT)")
        _emit_container(child, child_name, inner, lines, counter)
    lines.append(f"{indent}elif {name} is ABSENT:")
    lines.append(f"{indent}    {' = '.join(f'a{position}' for position in _positions(node))} = ABSENT")
    lines.append(f"{indent}else:")
    # A null, a list or a mapping of another type on the way: rare enough to be decided rule by rule.
    lines.append(f"{indent}    raise Unkeyable({name!r} + ': not a plain mapping')")
