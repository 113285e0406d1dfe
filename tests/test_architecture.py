"""Dependencies point down: the import contracts of .importlinter hold, the pure cores load without Django, and
no new import cycle appears between evlims's modules (docs/architecture.md, "Dependencies")."""

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / ".importlinter"

# Module-level import cycles that exist today; a new one fails, and one that is gone must leave this list.
KNOWN_CYCLES: set[frozenset[str]] = set()


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--config", str(CONTRACTS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def pure_cores() -> list[str]:
    """The modules the "pure cores" contract names."""
    config = configparser.ConfigParser()
    config.read(CONTRACTS, encoding="utf-8")
    return config["importlinter:contract:pure-cores"]["source_modules"].split()


def test_the_pure_cores_import_without_django_settings():
    # Every module of each pure core (the packages' submodules too), imported by a fresh interpreter whose
    # environment names no settings: none of them may load Django, DRF or Celery, and the compliance engine
    # words codes without the models' labels.
    script = """
import importlib, json, pkgutil, sys
loaded = []
for name in sys.argv[1:]:
    module = importlib.import_module(name)
    loaded.append(name)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), prefix=name + "."):
        importlib.import_module(info.name)
        loaded.append(info.name)
from evlims.compliance import wording
heavy = sorted(
    {name.split(".")[0] for name in sys.modules} & {"django", "rest_framework", "celery", "simple_history"}
)
print(json.dumps({"loaded": loaded, "heavy": heavy, "labels": wording.choice_labels()}))
"""
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0"}
    result = subprocess.run(
        [sys.executable, "-I", "-c", script, *pure_cores()],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["heavy"] == []
    assert report["labels"] == {}
    assert {"protocols.loader", "evlims.compliance.evaluator", "evlims.metrics.westgard"} <= set(report["loaded"])
    assert "evlims.instruments.parsers.nanosight" in report["loaded"]


def import_cycles() -> set[frozenset[str]]:
    """Strongly connected components (more than one module) of evlims's import graph, imports inside functions
    included."""
    graph = grimp.build_graph("evlims", "protocols", cache_dir=None)
    edges = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()

    def visit(module: str) -> None:  # Tarjan's algorithm
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in edges[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(edges)))
    try:
        for module in sorted(edges):
            if module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_no_new_import_cycle():
    cycles = import_cycles()
    new = [sorted(cycle) for cycle in cycles - KNOWN_CYCLES]
    gone = [sorted(cycle) for cycle in KNOWN_CYCLES - cycles]
    assert not new, f"new import cycles (make one side register a hook instead, see docs/architecture.md): {new}"
    assert not gone, f"these cycles are gone: remove them from KNOWN_CYCLES: {gone}"
