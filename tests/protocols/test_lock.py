import json

import pytest
import yaml

from protocols.loader import LIBRARY_ROOT, load_library
from protocols.lock import LockConflictError, add_new_versions, main, read_lock


def write_protocol(root, slug, version, status="released", duration="10 min"):
    data = yaml.safe_load((LIBRARY_ROOT / "peg-precipitation" / "1.0.0.yaml").read_text(encoding="utf-8"))
    data.update(slug=slug, version=version, status=status)
    data["steps"][0]["params"]["duration_min"] = duration
    path = root / slug / f"{version}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_add_new_records_only_released_versions(tmp_path):
    write_protocol(tmp_path, "peg", "1.0.0")
    write_protocol(tmp_path, "peg", "1.1.0", status="draft")
    updated, added = add_new_versions(load_library(tmp_path), {})
    assert added == ["peg@1.0.0"]
    assert set(updated) == {"peg@1.0.0"}


def test_add_new_keeps_existing_entries_and_refuses_to_overwrite(tmp_path):
    write_protocol(tmp_path, "peg", "1.0.0")
    first, _ = add_new_versions(load_library(tmp_path), {})
    again, added = add_new_versions(load_library(tmp_path), first)
    assert (again, added) == (first, [])
    write_protocol(tmp_path, "peg", "1.0.0", duration="11 min")
    with pytest.raises(LockConflictError, match="peg@1.0.0 is already released"):
        add_new_versions(load_library(tmp_path), first)


def test_command_line_check_and_add_new(tmp_path, capsys):
    write_protocol(tmp_path, "peg", "1.0.0")
    lock_path = tmp_path / "released.lock.json"
    assert main(["--check"], root=tmp_path, lock_path=lock_path) == 1
    assert "not recorded in the lock" in capsys.readouterr().err
    assert main(["--add-new"], root=tmp_path, lock_path=lock_path) == 0
    assert "peg@1.0.0" in json.loads(lock_path.read_text())
    assert main(["--check"], root=tmp_path, lock_path=lock_path) == 0
    write_protocol(tmp_path, "peg", "1.0.0", duration="12 min")
    assert main(["--check"], root=tmp_path, lock_path=lock_path) == 1
    assert "content changed after release" in capsys.readouterr().err
    assert main(["--add-new"], root=tmp_path, lock_path=lock_path) == 1


def test_malformed_lock_is_refused(tmp_path):
    path = tmp_path / "lock.json"
    path.write_text('["not", "a", "mapping"]')
    with pytest.raises(ValueError, match="expected a JSON object"):
        read_lock(path)
    assert read_lock(tmp_path / "missing.json") == {}
