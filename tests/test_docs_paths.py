"""Every file or folder of the project that docs/architecture.md names in backticks exists, so the document
describes the tree as it is. A path is taken from the repository root (``evlims/core/hooks.py``,
``protocols/hashing.py``) or, when it starts with a package of evlims (``api/scopes.py``), from evlims/.
Paths of other projects the document cites (``zerver/lib/actions.py``) are not looked for."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
TOP = {"evlims", "protocols", "tests", "docs", "config", "scripts"}
PACKAGES = {path.name for path in (ROOT / "evlims").iterdir() if path.is_dir() and not path.name.startswith("_")}


def named_paths() -> list[str]:
    """The backticked words with a slash whose first part is the project's, without a ``::function`` suffix."""
    paths = []
    for word in re.findall(r"`([^`\s]+)`", DOC.read_text(encoding="utf-8")):
        path = word.split("::")[0]
        if "/" in path and path.split("/")[0] in TOP | PACKAGES:
            paths.append(path)
    return paths


def test_the_architecture_document_names_paths():
    assert len(named_paths()) > 20


def test_every_path_the_architecture_document_names_exists():
    missing = [
        path
        for path in named_paths()
        if not (ROOT / path).exists() and not (path.split("/")[0] in PACKAGES and (ROOT / "evlims" / path).exists())
    ]
    assert not missing, f"docs/architecture.md names paths that do not exist: {missing}"
