import copy
import json
from pathlib import Path

import pytest
import yaml

from protocols import ProtocolValidationError, load_library, load_protocol_file, validate_protocol
from protocols.hashing import canonical_json, content_hash
from protocols.loader import LIBRARY_ROOT
from protocols.lock import LOCK_PATH, check_lock, read_lock

LIBRARY_FILES = sorted(LIBRARY_ROOT.glob("*/*.yaml"))
REQUIRED_SLUGS = {
    "duc-100k-pellet-wash",
    "duc-iodixanol-dg-bottom-up",
    "sec-qev-70nm",
    "sec-sepharose-cl2b",
    "sec-uf-concentration",
    "peg-precipitation",
    "polymer-precipitation-kit",
    "tff-sec",
    "immunocapture-cd9-cd63-cd81",
}


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_shipped_protocol_validates(path):
    definition = load_protocol_file(path)
    assert (definition.slug, definition.version) == (path.parent.name, path.stem)
    assert definition.citations and all(c["text"] for c in definition.citations)


def test_library_covers_the_reference_protocols():
    definitions = load_library()
    released = {d.slug for d in definitions if d.status == "released"}
    assert REQUIRED_SLUGS <= released


def test_released_versions_match_the_lock():
    # A failure here means a released YAML was edited: revert it and publish a new version.
    assert check_lock(load_library(), read_lock(LOCK_PATH)) == []


def test_lock_has_no_entry_without_a_released_file():
    released = {d.key for d in load_library() if d.status == "released"}
    assert set(read_lock(LOCK_PATH)) == released


def test_expected_misev_classes_of_reference_protocols():
    classes = {d.slug: (d.misev_class.recovery, d.misev_class.specificity) for d in load_library()}
    assert classes["peg-precipitation"] == ("high", "low")
    assert classes["polymer-precipitation-kit"] == ("high", "low")
    assert classes["duc-100k-pellet-wash"] == ("intermediate", "intermediate")
    assert classes["sec-uf-concentration"] == ("intermediate", "intermediate")
    assert classes["duc-iodixanol-dg-bottom-up"] == ("low", "high")
    assert classes["immunocapture-cd9-cd63-cd81"] == ("low", "high")


def _raw(slug, version="1.0.0"):
    return yaml.safe_load((LIBRARY_ROOT / slug / f"{version}.yaml").read_text(encoding="utf-8"))


def test_hash_ignores_how_units_are_written():
    data = _raw("duc-100k-pellet-wash")
    rewritten = copy.deepcopy(data)
    rewritten["steps"][3]["params"]["duration_min"] = 70
    rewritten["steps"][3]["params"]["g_force"] = "100000 xg"
    rewritten["steps"][3]["params"]["temperature_c"] = "277.15 K"
    assert validate_protocol(rewritten).content_hash == validate_protocol(data).content_hash


def test_hash_changes_with_any_value():
    data = _raw("duc-100k-pellet-wash")
    changed = copy.deepcopy(data)
    changed["steps"][3]["params"]["duration_min"] = "71 min"
    assert validate_protocol(changed).content_hash != validate_protocol(data).content_hash
    assert check_lock([validate_protocol(changed)], read_lock(LOCK_PATH)) != []


def test_hash_is_sha256_of_canonical_json():
    content = {"b": 1.0, "a": [0.1 + 0.2, "µ"]}
    assert canonical_json(content) == '{"a":[0.3,"µ"],"b":1}'
    assert content_hash(content) == content_hash({"a": [0.3, "µ"], "b": 1})


def test_canonical_json_refuses_non_finite_numbers():
    with pytest.raises(ValueError, match="non-finite"):
        canonical_json({"x": float("inf")})


def test_library_rejects_a_file_whose_path_disagrees_with_its_content(tmp_path):
    data = _raw("peg-precipitation")
    target = tmp_path / "peg-precipitation" / "2.0.0.yaml"
    target.parent.mkdir()
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProtocolValidationError, match="declares peg-precipitation@1.0.0; expected"):
        load_library(tmp_path)


def test_invalid_yaml_reports_the_line(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("slug: x\nsteps: [\n  - a\n", encoding="utf-8")
    with pytest.raises(ProtocolValidationError, match=r"invalid YAML at line \d+"):
        load_protocol_file(bad)


def test_library_is_sorted_by_slug_then_semantic_version(tmp_path):
    data = _raw("peg-precipitation")
    for version in ("1.10.0", "1.2.0", "1.2.0-rc.1"):
        variant = dict(data, version=version, status="draft")
        path = tmp_path / "peg-precipitation" / f"{version}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump(variant, allow_unicode=True), encoding="utf-8")
    versions = [d.version for d in load_library(tmp_path)]
    assert versions == ["1.2.0-rc.1", "1.2.0", "1.10.0"]


def test_lock_file_is_sorted_json():
    text = Path(LOCK_PATH).read_text(encoding="utf-8")
    data = json.loads(text)
    assert list(data) == sorted(data)
