"""`make test` lints before it tests, so CI refuses unformatted or lint-failing code."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def recipe(target: str) -> list[str]:
    """The recipe lines of one Makefile target, without their leading tab."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"^{target}:", line))
    body = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        body.append(line[1:])
    return body


def test_make_test_runs_lint_before_the_suites():
    steps = recipe("test")
    lint = next(i for i, step in enumerate(steps) if "lint" in step)
    suites = next(i for i, step in enumerate(steps) if "scripts/test.sh" in step)
    assert lint < suites


def test_make_lint_checks_both_lint_rules_and_formatting():
    steps = " ".join(recipe("lint"))
    assert "ruff check ." in steps
    assert "ruff format --check ." in steps


def test_the_tree_passes_lint_as_committed():
    ruff = Path(sys.executable).parent / "ruff"
    for command in (["check", "--quiet", "."], ["format", "--check", "--quiet", "."]):
        result = subprocess.run([str(ruff), *command], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
