import pytest

from protocols import UnknownMethodError, misev_class


@pytest.mark.parametrize(
    ("methods", "recovery", "specificity"),
    [
        (["precipitation"], "high", "low"),
        (["ultrafiltration"], "high", "low"),
        (["differential_centrifugation"], "high", "low"),
        (["differential_centrifugation", "precipitation"], "high", "low"),
        (["differential_centrifugation", "ultracentrifugation"], "intermediate", "intermediate"),
        (["sec"], "intermediate", "intermediate"),
        (["ultrafiltration", "sec"], "intermediate", "intermediate"),
        (["filtration", "ultrafiltration", "sec"], "intermediate", "intermediate"),
        (["precipitation", "sec"], "intermediate", "intermediate"),
        (["density_gradient"], "low", "high"),
        (["immunoaffinity"], "low", "high"),
        (["sec", "density_gradient"], "low", "high"),
        (["differential_centrifugation", "ultracentrifugation", "density_gradient"], "low", "high"),
    ],
)
def test_chain_class(methods, recovery, specificity):
    result = misev_class(methods)
    assert (result.recovery, result.specificity) == (recovery, specificity)
    assert "MISEV2018" in result.citation or "1535750" in result.citation


def test_explicit_combination_is_named_in_the_basis():
    assert "explicit combination" in misev_class(["ultracentrifugation", "density_gradient"]).basis
    assert "explicit combination" not in misev_class(["precipitation", "sec"]).basis


def test_chain_order_does_not_matter():
    assert misev_class(["sec", "ultrafiltration"]) == misev_class(["ultrafiltration", "sec"])


def test_unclassifiable_steps_are_listed():
    result = misev_class(["kit", "other"])
    assert result.recovery == "unknown"
    assert result.unclassified == ("kit", "other")
    mixed = misev_class(["other", "sec"])
    assert (mixed.recovery, mixed.unclassified) == ("intermediate", ("other",))
    assert "not classified: other" in mixed.basis


def test_unknown_method_is_refused():
    with pytest.raises(UnknownMethodError, match="unknown method 'magic'"):
        misev_class(["magic"])


def test_kit_with_a_principle_is_classified_by_it(minimal_protocol):
    from protocols import validate_protocol

    minimal_protocol["steps"] = [{"method": "kit", "params": {"kit_name": "ExoQuick", "principle": "precipitation"}}]
    assert validate_protocol(minimal_protocol).misev_class.recovery == "high"
    minimal_protocol["steps"][0]["params"].pop("principle")
    assert validate_protocol(minimal_protocol).misev_class.recovery == "unknown"
