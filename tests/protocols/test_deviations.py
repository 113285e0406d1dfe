import pytest

from protocols import ProtocolValidationError, compute_deviations, validate_protocol

UC_STEP = {
    "method": "ultracentrifugation",
    "params": {
        "g_force": "100,000 x g",
        "duration_min": "70 min",
        "temperature_c": "4 °C",
        "rotor": "type-70-ti",
        "fraction_kept": "pellet",
        "brake": True,
    },
    "tolerances": {"duration_min": {"abs": "5 min"}, "g_force": {"rel": 0.05}, "temperature_c": {"abs": "2 K"}},
}
OBSERVED_OK = {
    "g_force": 102000,
    "duration_min": "1.25 h",
    "temperature_c": "5 °C",
    "rotor": "type-70-ti",
    "fraction_kept": "pellet",
    "brake": True,
}


def test_observed_values_within_tolerance_give_no_deviation():
    assert compute_deviations(UC_STEP, OBSERVED_OK) == []


def test_number_outside_tolerance_is_reported_with_both_values():
    [deviation] = compute_deviations(UC_STEP, {**OBSERVED_OK, "duration_min": "80 min"})
    assert (deviation.field, deviation.expected, deviation.observed) == ("duration_min", 70.0, 80.0)
    assert deviation.kind == "out_of_tolerance"
    assert deviation.tolerance == {"abs": 5.0}
    assert "outside ±5 min" in deviation.message


def test_relative_tolerance_is_a_fraction_of_the_protocol_value():
    assert compute_deviations(UC_STEP, {**OBSERVED_OK, "g_force": 105000}) == []
    [deviation] = compute_deviations(UC_STEP, {**OBSERVED_OK, "g_force": 105001})
    assert deviation.field == "g_force"


def test_both_tolerances_allow_the_wider_band():
    step = {**UC_STEP, "tolerances": {"duration_min": {"abs": 2, "rel": 0.1}}}
    exact = {**OBSERVED_OK, "g_force": 100000, "temperature_c": 4}
    assert compute_deviations(step, {**exact, "duration_min": 77}) == []
    assert [d.field for d in compute_deviations(step, {**exact, "duration_min": 77.5})] == ["duration_min"]


def test_number_without_tolerance_must_match():
    step = {**UC_STEP, "tolerances": {}}
    [deviation] = compute_deviations(step, {**OBSERVED_OK, "duration_min": 70, "g_force": 100000, "temperature_c": 4.5})
    assert deviation.field == "temperature_c"
    assert "no tolerance" in deviation.message


def test_missing_required_observation_and_categorical_mismatch():
    observed = {k: v for k, v in OBSERVED_OK.items() if k != "temperature_c"}
    observed["fraction_kept"] = "supernatant"
    deviations = {d.field: d for d in compute_deviations(UC_STEP, observed)}
    assert deviations["temperature_c"].kind == "missing"
    assert deviations["temperature_c"].observed is None
    assert deviations["fraction_kept"].kind == "mismatch"
    assert deviations["fraction_kept"].expected == "pellet"


def test_per_run_identifiers_are_not_compared():
    step = {"method": "sec", "params": {"column": "qEVoriginal 70 nm", "column_lot": "A1"}}
    assert compute_deviations(step, {"column": "qEVoriginal 70 nm", "column_lot": "B2"}) == []
    assert compute_deviations(step, {"column": "qEVoriginal 70 nm"}) == []


def test_accepts_a_validated_step_from_a_protocol(minimal_protocol):
    step = validate_protocol(minimal_protocol).steps[1]
    deviations = compute_deviations(step, {"g_force": 100000, "duration_min": 90})
    assert {d.field for d in deviations} == {
        "duration_min",
        "rcf_basis",
        "temperature_c",
        "rotor",
        "fraction_kept",
        "resuspension_volume_ul",
    }


@pytest.mark.parametrize(
    ("observed", "field", "fragment"),
    [
        ({"duration_min": "a while"}, "duration_min", "does not start with a number"),
        ({"spin_colour": "blue"}, "spin_colour", "unknown parameter"),
        ({"fraction_kept": "both"}, "fraction_kept", "must be one of"),
        ({"duration_min": -1}, "duration_min", "must be greater than 0"),
    ],
)
def test_unreadable_observations_are_refused_naming_the_field(observed, field, fragment):
    with pytest.raises(ProtocolValidationError) as caught:
        compute_deviations(UC_STEP, observed)
    [error] = [e for e in caught.value.errors if e["field"] == field]
    assert fragment in error["message"]


def test_invalid_step_definition_is_refused():
    with pytest.raises(ProtocolValidationError, match="unknown method"):
        compute_deviations({"method": "spin", "params": {}}, {})
