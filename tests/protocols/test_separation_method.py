"""A run is known by its separation method, not by its first step: pre-clearing spins, filtration and
concentration are preparative (protocols/data/misev_classes.yaml), and the most specific separation step
names the chain."""

import pytest

from protocols import load_library, separation_method

EXPECTED = {
    "duc-100k-pellet-wash": "ultracentrifugation",
    "duc-iodixanol-dg-bottom-up": "density_gradient",
    "immunocapture-cd9-cd63-cd81": "immunoaffinity",
    "peg-precipitation": "precipitation",
    "polymer-precipitation-kit": "precipitation",
    "sec-qev-70nm": "sec",
    "sec-sepharose-cl2b": "sec",
    "sec-uf-concentration": "sec",
    "tff-sec": "sec",
}


@pytest.mark.parametrize("definition", load_library(), ids=lambda d: d.key)
def test_each_library_protocol_is_known_by_its_separation_step(definition):
    steps = [step.to_dict() for step in definition.steps]
    assert steps[0]["method"] != EXPECTED[definition.slug] or definition.slug == "sec-uf-concentration"
    assert separation_method(steps) == EXPECTED[definition.slug]


def test_a_kit_counts_as_its_principle_and_equals_keep_their_order():
    kit = {"method": "kit", "params": {"principle": "sec"}}
    assert separation_method([{"method": "differential_centrifugation"}, kit]) == "sec"
    assert separation_method([{"method": "sec"}, {"method": "ultracentrifugation"}]) == "sec"
    assert separation_method([{"method": "ultracentrifugation"}, {"method": "sec"}]) == "ultracentrifugation"


def test_a_chain_without_separation_is_named_by_its_first_classified_step():
    assert separation_method([{"method": "differential_centrifugation"}, {"method": "ultrafiltration"}]) == (
        "differential_centrifugation"
    )
    assert separation_method([]) == ""
