"""Reading the compliance engine's YAML files (rule sets, the marker vocabulary) as ``yaml.safe_load`` reads them.

Every process that evaluates loads the rule sets once; PyYAML's pure-Python parser took about 0.12 s of CPU for the
nine files, libyaml (PyYAML's C parser, with the same safe constructor) about 0.014 s. A file libyaml refuses is read
again by the pure-Python parser, so an error says what it always said. tests/compliance/test_yaml_files.py holds the
two parsers' results equal, value and type, for every file shipped.
"""

from typing import Any

import yaml

_C_SAFE_LOADER = getattr(yaml, "CSafeLoader", None)


def safe_load(text: str) -> Any:
    """``yaml.safe_load(text)``, parsed by libyaml when PyYAML has it."""
    if _C_SAFE_LOADER is None:
        return yaml.safe_load(text)
    try:
        return yaml.load(text, Loader=_C_SAFE_LOADER)  # noqa: S506 - the C build of SafeLoader
    except yaml.YAMLError:
        return yaml.safe_load(text)
