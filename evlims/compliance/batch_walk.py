"""The batch evaluator's walk over the rules, as one function generated per key plan (evaluator._Batch).

Per rule, the walk looks its verdict up by key and decides the rule only on a miss (decision_keys.py says what a key
holds). Written as a loop, every rule cost a tuple unpacking, a call of its key getter and a branch on its kind;
generated once per plan, each rule is a few lines of straight code reading the document's atoms from local variables,
with a key of one atom being that atom and a key of several a tuple built in place. The generated code does what the
loop did, rule by rule, in the same order, with the same tables.
"""

from collections.abc import Callable

# A rule decided for every document (decision_keys.DIRECT).
DIRECT = None
# Generated factories, per (rules per rule set, key positions per rule): a plan of the same shape and keys is one code.
_FACTORIES: dict[tuple, Callable] = {}


def _key(positions: tuple[int, ...]) -> str:
    if not positions:
        return "()"
    if len(positions) == 1:
        return f"a{positions[0]}"
    return f"({', '.join(f'a{position}' for position in positions)})"


def _rule_lines(number: int, applies: tuple[int, ...] | None, satisfied) -> list[str]:
    v, step = f"v{number}", f"s{number}"
    if satisfied is DIRECT:
        return [f"    {v} = verdict({step}, experiment, memo)"]
    lines, indent = [], "    "
    if applies is not None:
        # A rule that does not apply has a verdict that depends on its applies_when alone.
        table = f"t{number}a"
        lines += [
            f"    k = {_key(applies)}",
            f"    {v} = {table}.get(k)",
            f"    if {v} is None:",
            f"        {v} = {table}[k] = not_applying({step}, experiment, memo) or APPLIES",
            f"    if {v} is APPLIES:",
        ]
        indent = "        "
    table = f"t{number}s"
    lines += [
        f"{indent}k = {_key(satisfied)}",
        f"{indent}{v} = {table}.get(k)",
        f"{indent}if {v} is None:",
        f"{indent}    {v} = {table}[k] = satisfaction({step}, experiment, memo)",
    ]
    return lines


def walk_factory(shape: tuple[int, ...], positions: tuple, atom_count: int) -> Callable:
    """A function (steps, verdict, not_applying, satisfaction, APPLIES) -> (walk, tables) for rule sets of ``shape``
    rules each, whose rule i is keyed by ``positions[i]`` ((applies positions or None, satisfied positions or
    DIRECT)); ``walk(atoms, experiment, memo)`` gives a tuple of verdicts per rule set, and each call of the factory
    starts empty tables (one batch's)."""
    cache_key = (shape, positions, atom_count)
    factory = _FACTORIES.get(cache_key)
    if factory is not None:
        return factory
    count = len(positions)
    steps = ", ".join(f"s{number}" for number in range(count))
    tables = ", ".join(f"t{number}a, t{number}s" for number in range(count))
    lines = [
        "def make(steps, verdict, not_applying, satisfaction, APPLIES):",
        f"    ({steps},) = steps",
        f"    tables = [{{}} for _ in range({2 * count})]",
        f"    ({tables},) = tables",
        "    def walk(atoms, experiment, memo):",
    ]
    if atom_count:
        lines.append(f"        ({''.join(f'a{position}, ' for position in range(atom_count))}) = atoms")
    for number, (applies, satisfied) in enumerate(positions):
        lines += ["    " + line for line in _rule_lines(number, applies, satisfied)]
    groups, start = [], 0
    for size in shape:
        groups.append(f"({''.join(f'v{number}, ' for number in range(start, start + size))})")
        start += size
    lines += [f"        return ({''.join(group + ', ' for group in groups)})", "    return walk, tables"]
    namespace: dict = {}
    exec(compile("\n".join(lines), "<batch walk>", "exec"), namespace)  # noqa: S102
    factory = _FACTORIES[cache_key] = namespace["make"]
    return factory
