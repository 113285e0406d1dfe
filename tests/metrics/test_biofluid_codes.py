"""One biofluid vocabulary (evlims/samples/vocabulary): every code the metrics, their thresholds and the
compliance rule sets name exists in it, so a rule never waits for a code nobody can enter."""

from pathlib import Path

import yaml

from evlims.metrics import compute
from evlims.samples.vocabulary import biofluids

CODES = {entry["code"] for entry in biofluids()}
RULESETS = Path(compute.__file__).resolve().parent.parent / "compliance" / "rulesets"


def _biofluid_lists(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("biofluid_in", "biofluid_not_in") and isinstance(value, list):
                yield from value
            else:
                yield from _biofluid_lists(value)
    elif isinstance(node, list):
        for item in node:
            yield from _biofluid_lists(item)


def test_the_metrics_codes_are_in_the_vocabulary():
    culture = [entry["code"] for entry in biofluids() if entry.get("culture")]
    assert culture == [compute.CONDITIONED_MEDIUM], "yield per million cells reads the conditioned-medium code"
    confounded = compute.load_thresholds()["lipoprotein_confounded_biofluids"]["codes"]
    assert set(confounded) <= CODES, set(confounded) - CODES


def test_every_blood_biofluid_is_lipoprotein_confounded():
    """Whole blood carries the plasma's lipoproteins: its purity is 'not interpretable', not 'impure'."""
    blood = {entry["code"] for entry in biofluids() if entry.get("blood")}
    assert blood <= set(compute.load_thresholds()["lipoprotein_confounded_biofluids"]["codes"])


def test_every_code_a_rule_set_names_is_in_the_vocabulary():
    used = set()
    for path in sorted(RULESETS.glob("*.yaml")):
        used |= set(_biofluid_lists(yaml.safe_load(path.read_text(encoding="utf-8"))))
    assert used, "no biofluid_in found: the scan reads nothing"
    assert used <= CODES, sorted(used - CODES)
