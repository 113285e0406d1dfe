"""yaml_files.safe_load must read every YAML file of the compliance engine exactly as yaml.safe_load does (libyaml
parses, the pure-Python parser explains refusals)."""

from pathlib import Path

import pytest
import yaml

from evlims.compliance import yaml_files
from evlims.compliance.errors import RulesetError
from evlims.compliance.rulesets import load_ruleset_file

FILES = sorted(Path(yaml_files.__file__).parent.rglob("*.yaml"))


def _typed(value):
    """The value with every scalar's type beside it (1, 1.0 and True differ), mappings in their order."""
    if isinstance(value, dict):
        return ("dict", [(_typed(key), _typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(item) for item in value])
    return (type(value).__name__, value)


def test_the_files_are_found_and_libyaml_is_used():
    assert len(FILES) >= 10
    assert yaml_files._C_SAFE_LOADER is not None, "PyYAML without libyaml: every process loads rule sets slowly"


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_every_file_reads_as_safe_load_reads_it(path):
    text = path.read_text(encoding="utf-8")
    assert _typed(yaml_files.safe_load(text)) == _typed(yaml.safe_load(text))


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: 1.0\nc: true\nd: yes\ne: 2026-12-06\nf: '1'\ng: ~\nh: 0o17\ni: 1_000\nj: .inf\nk: [1, {x: y}]\n",
        "anchor: &a {x: 1}\nmerged:\n  <<: *a\n  y: 2\n",
        "text: |\n  two\n  lines\nfolded: >\n  one\n  line\n",
    ],
)
def test_scalars_and_structures_read_alike(text):
    assert _typed(yaml_files.safe_load(text)) == _typed(yaml.safe_load(text))


def test_a_refused_file_is_explained_by_the_pure_python_parser(tmp_path):
    text = "rules: [unclosed\n"
    with pytest.raises(yaml.YAMLError) as expected:
        yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError) as found:
        yaml_files.safe_load(text)
    assert str(found.value) == str(expected.value)
    broken = tmp_path / "broken@1.yaml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(RulesetError, match="not valid YAML") as caught:
        load_ruleset_file(broken)
    assert str(expected.value) in str(caught.value)


def test_without_libyaml_the_pure_python_parser_reads(monkeypatch):
    monkeypatch.setattr(yaml_files, "_C_SAFE_LOADER", None)
    assert yaml_files.safe_load("a: [1, 2.0, true]") == {"a": [1, 2.0, True]}
