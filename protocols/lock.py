"""released.lock.json: the recorded content hash of every released protocol version.

A released version is immutable. ``check_lock`` reports released versions whose content no
longer matches the recorded hash (the change must become a new version) and released versions
missing from the lock. ``add_new_versions`` records hashes for released versions not yet in the
lock and refuses to overwrite an existing entry.

Command line:  python -m protocols.lock --check   |   python -m protocols.lock --add-new
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from protocols.loader import LIBRARY_ROOT, ProtocolDefinition, load_library

LOCK_PATH = LIBRARY_ROOT / "released.lock.json"


class LockConflictError(RuntimeError):
    """An attempt to change the recorded hash of an already released version."""


def read_lock(path: str | Path = LOCK_PATH) -> dict[str, str]:
    path = Path(path)
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError(f"{path}: expected a JSON object mapping 'slug@version' to 'sha256:<hex>'")
    return data


def write_lock(entries: dict[str, str], path: str | Path = LOCK_PATH) -> None:
    Path(path).write_text(json.dumps(dict(sorted(entries.items())), indent=2) + "\n", encoding="utf-8")


def check_lock(definitions: list[ProtocolDefinition], lock: dict[str, str]) -> list[str]:
    """Problems with released versions: changed content or no lock entry. Empty when consistent."""
    problems = []
    for definition in definitions:
        if definition.status != "released":
            continue
        recorded = lock.get(definition.key)
        if recorded is None:
            problems.append(f"{definition.key}: released but not recorded in the lock (run --add-new)")
        elif recorded != definition.content_hash:
            problems.append(
                f"{definition.key}: content changed after release (lock {recorded}, now "
                f"{definition.content_hash}); revert it and publish the change as a new version"
            )
    return problems


def add_new_versions(definitions: list[ProtocolDefinition], lock: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """New lock with entries for released versions not yet recorded, and the keys added.

    Raises LockConflictError when a recorded released version now hashes differently.
    """
    updated = dict(lock)
    added = []
    for definition in definitions:
        if definition.status != "released":
            continue
        recorded = updated.get(definition.key)
        if recorded is None:
            updated[definition.key] = definition.content_hash
            added.append(definition.key)
        elif recorded != definition.content_hash:
            raise LockConflictError(
                f"{definition.key} is already released with {recorded}; its content now hashes to "
                f"{definition.content_hash}. Released versions are immutable: publish a new version."
            )
    return updated, added


def main(argv: list[str] | None = None, root: Path | None = None, lock_path: Path | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m protocols.lock", description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", action="store_true", help="verify released versions against the lock")
    action.add_argument("--add-new", action="store_true", help="record hashes of newly released versions")
    args = parser.parse_args(argv)
    lock_path = lock_path or (Path(root) / "released.lock.json" if root else LOCK_PATH)
    definitions = load_library(root)
    lock = read_lock(lock_path)
    if args.check:
        problems = check_lock(definitions, lock)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    try:
        updated, added = add_new_versions(definitions, lock)
    except LockConflictError as error:
        print(error, file=sys.stderr)
        return 1
    write_lock(updated, lock_path)
    print("added: " + (", ".join(added) if added else "nothing (lock already complete)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
