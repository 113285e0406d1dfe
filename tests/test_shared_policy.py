"""Contract: the real instrument exports of ../shared are reached only through tests/shared_samples.py.

A clone has no ../shared folder. Every test, fixture, fuzz seed and benchmark must still pass there, so no module
under tests/ or bench/ may build a path into that folder itself (it would error or silently test nothing), and no
module may read a real export at import time (collection would fail before any skip could happen).
"""

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HELPER = REPO / "tests" / "shared_samples.py"
SCANNED = ("tests", "bench")
# A path into the sibling folder, spelled any of the ways seen in this repository.
SHARED_FOLDER = re.compile(r"""(/\s*["']shared["'])|(["'][./\\]*\.\./shared\b)|(instrument-samples)|(["']shared/)""")
HELPER_CALLS = {"shared_path", "shared_bytes", "shared_folder"}


def _modules() -> list[Path]:
    found = []
    for folder in SCANNED:
        found += [path for path in (REPO / folder).rglob("*.py") if ".venv" not in path.parts]
    return sorted(path for path in found if path not in {HELPER, Path(__file__).resolve()})


def references_to_the_shared_folder(source: str) -> list[int]:
    """Line numbers of ``source`` that build a path into ../shared themselves."""
    return [number for number, line in enumerate(source.splitlines(), 1) if SHARED_FOLDER.search(line)]


def helper_calls_at_import_time(source: str) -> list[int]:
    """Line numbers of calls to the skip helper outside any function: they would run while collecting."""
    tree = ast.parse(source)
    inside_functions = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            inside_functions.update(id(child) for child in ast.walk(node) if child is not node)
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and id(node) not in inside_functions:
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in HELPER_CALLS:
                lines.append(node.lineno)
    return lines


def test_the_checks_can_fail():
    bad = (
        'SHARED = REPO.parent / "shared" / "instrument-samples"\n'
        'OTHER = Path("../shared/instrument-samples/nanosight/beads.csv")\n'
        "DATA = shared_bytes('nanosight/beads.csv')\n"
        "def test_fine():\n"
        "    return shared_bytes('nanosight/beads.csv')\n"
    )
    assert references_to_the_shared_folder(bad) == [1, 2]
    assert helper_calls_at_import_time(bad) == [3]
    good = 'from tests.shared_samples import shared_bytes\nkey = "shared"\nshared_strings = b"sharedStrings.xml"\n'
    assert references_to_the_shared_folder(good) == []
    assert helper_calls_at_import_time(good) == []


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(REPO)))
def test_only_the_helper_reaches_the_shared_folder(path):
    source = path.read_text(encoding="utf-8")
    assert not references_to_the_shared_folder(source), (
        f"{path.relative_to(REPO)} builds a path into ../shared on lines {references_to_the_shared_folder(source)};"
        " use tests.shared_samples.shared_path / shared_bytes, which skip when the folder is absent"
    )
    assert not helper_calls_at_import_time(source), (
        f"{path.relative_to(REPO)} reads a real export at import time (lines {helper_calls_at_import_time(source)})"
    )


def test_the_helper_honours_the_override(monkeypatch, tmp_path):
    from tests import shared_samples

    monkeypatch.setenv(shared_samples.ENVIRONMENT_VARIABLE, str(tmp_path))
    assert shared_samples.shared_folder() == tmp_path
    with pytest.raises(pytest.skip.Exception, match="not available"):
        shared_samples.shared_bytes("nanosight/beads.csv")
    (tmp_path / "nanosight").mkdir()
    (tmp_path / "nanosight" / "beads.csv").write_bytes(b"x")
    assert shared_samples.shared_bytes("nanosight/beads.csv") == b"x"
