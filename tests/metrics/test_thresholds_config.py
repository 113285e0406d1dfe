"""The literature thresholds are data: a changed YAML line must change the classification."""

import numpy as np
import pytest
import yaml

from evlims.metrics.compute import (
    THRESHOLDS_PATH,
    ThresholdConfigError,
    classify_purity,
    lipoprotein_confounded_biofluids,
    load_thresholds,
    purity_bands,
    small_ev_upper_nm,
)
from evlims.metrics.westgard import westgard_rules


def config_with(text_replacements):
    text = THRESHOLDS_PATH.read_text(encoding="utf-8")
    for old, new in text_replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return yaml.safe_load(text)


def test_shipped_config_loads_with_citations():
    config = load_thresholds()
    for section in ("particles_per_ug_purity", "lipoprotein_confounded_biofluids", "small_ev_window", "westgard"):
        assert config[section]["source"]
        assert config[section]["evidence"] in {"V", "M", "D"}
    assert [band.purity_class for band in purity_bands()] == ["high_purity", "low_purity", "impure"]
    assert "blood_plasma" in lipoprotein_confounded_biofluids()
    assert small_ev_upper_nm() == 200.0
    assert [rule.name for rule in westgard_rules()] == ["1-2s", "1-3s", "2-2s", "R-4s", "4-1s", "10x"]


def test_one_line_change_moves_the_high_purity_bound():
    config = config_with([("above: 3.0e+10", "above: 2.5e+10")])
    bands = purity_bands(config)
    assert classify_purity(np.array([2.6e10]), bands=bands)[0] == "high_purity"
    assert classify_purity(np.array([2.6e10]))[0] == "indeterminate"


def test_overlapping_bands_are_rejected():
    config = config_with([("above: 3.0e+10", "above: 1.0e+10")])
    with pytest.raises(ThresholdConfigError, match="overlap"):
        purity_bands(config)


def test_non_numeric_bound_is_rejected():
    config = config_with([("below: 1.5e+9", "below: lots")])
    with pytest.raises(ThresholdConfigError, match="below"):
        purity_bands(config)


def test_unknown_bound_key_is_rejected():
    config = config_with([("below: 1.5e+9", "under: 1.5e+9")])
    with pytest.raises(ThresholdConfigError, match="band"):
        purity_bands(config)


def test_unknown_westgard_rule_kind_is_rejected():
    config = config_with([("kind: range", "kind: sideways")])
    with pytest.raises(ThresholdConfigError, match="R-4s"):
        westgard_rules(config)


def test_band_with_two_lower_bounds_is_rejected():
    config = config_with([("    - class: impure\n", "    - class: impure\n      above: 1.0\n      at_least: 2.0\n")])
    with pytest.raises(ThresholdConfigError, match="two lower bounds"):
        purity_bands(config)
