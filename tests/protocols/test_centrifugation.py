import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.centrifugation import (
    equivalent_time,
    get_rotor,
    k_factor,
    k_factor_at_speed,
    load_rotors,
    parse_rotor_table,
    rcf_from_rpm,
    rpm_from_rcf,
)

PROPERTY_SETTINGS = settings(max_examples=60, derandomize=True, deadline=None)
rpms = st.floats(min_value=100, max_value=150_000)
radii = st.floats(min_value=5, max_value=300)
times = st.floats(min_value=0.1, max_value=10_000)
k_values = st.floats(min_value=1, max_value=10_000)


def test_rcf_matches_the_manufacturer_formula():
    # 1.118e-5 * r_cm * rpm^2 with r = 9.19 cm at 70,000 rpm
    assert rcf_from_rpm(70_000, 91.9) == pytest.approx(1.118e-5 * 9.19 * 70_000**2)


def test_type_70_ti_geometry_gives_k_of_about_44():
    assert k_factor(39.5, 91.9, 70_000) == pytest.approx(44, abs=0.5)


def test_k_factor_at_half_speed_is_four_times_larger():
    assert k_factor_at_speed(44, 70_000, 35_000) == pytest.approx(176)


def test_equivalent_time_scales_with_k_ratio():
    assert equivalent_time(70, 44, 133) == pytest.approx(70 * 133 / 44)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rcf_from_rpm(0, 50), "rpm must be greater than 0"),
        (lambda: rpm_from_rcf(1000, -1), "radius_mm must be greater than 0"),
        (lambda: k_factor(90, 40, 10_000), "r_max_mm .* must be greater than r_min_mm"),
        (lambda: equivalent_time(10, float("inf"), 1), "k1 must be a finite number"),
        (lambda: k_factor_at_speed(True, 1, 1), "k_max must be a finite number"),
    ],
)
def test_impossible_inputs_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@PROPERTY_SETTINGS
@given(rpm=rpms, radius=radii)
def test_rpm_to_rcf_round_trip(rpm, radius):
    assert rpm_from_rcf(rcf_from_rpm(rpm, radius), radius) == pytest.approx(rpm, rel=1e-9)


@PROPERTY_SETTINGS
@given(rpm=rpms, radius=radii, factor=st.floats(min_value=1.01, max_value=10))
def test_rcf_increases_with_speed_and_radius(rpm, radius, factor):
    base = rcf_from_rpm(rpm, radius)
    assert rcf_from_rpm(rpm * factor, radius) > base
    assert rcf_from_rpm(rpm, radius * factor) > base


@PROPERTY_SETTINGS
@given(r_min=radii, span=st.floats(min_value=1, max_value=200), rpm=rpms, factor=st.floats(0.1, 10))
def test_k_scales_with_inverse_square_of_speed(r_min, span, rpm, factor):
    assert k_factor(r_min, r_min + span, rpm * factor) == pytest.approx(
        k_factor(r_min, r_min + span, rpm) / factor**2, rel=1e-9
    )


@PROPERTY_SETTINGS
@given(k_max=k_values, max_rpm=rpms, rpm=rpms)
def test_adjusted_k_agrees_with_geometry(k_max, max_rpm, rpm):
    # k_adj must be what the radii formula gives at the lower speed, whatever the geometry
    r_min = 40.0
    r_max = r_min * math.exp(k_max * max_rpm**2 / 2.53e11)
    assert k_factor_at_speed(k_max, max_rpm, rpm) == pytest.approx(k_factor(r_min, r_max, rpm), rel=1e-9)


@PROPERTY_SETTINGS
@given(t1=times, k1=k_values, k2=k_values)
def test_equivalent_time_is_symmetric(t1, k1, k2):
    assert equivalent_time(equivalent_time(t1, k1, k2), k2, k1) == pytest.approx(t1, rel=1e-9)


@PROPERTY_SETTINGS
@given(t1=times, k1=k_values, k2=k_values)
def test_equivalent_time_is_monotonic_in_target_k(t1, k1, k2):
    assert equivalent_time(t1, k1, k2 * 1.5) > equivalent_time(t1, k1, k2)


def test_every_rotor_is_internally_consistent():
    # Published k-factors are computed from the same radii; a gap over 15 % means a typo.
    for rotor in load_rotors().values():
        assert rotor.max_rcf() > 0
        if rotor.k_factor is not None and rotor.r_min_mm is not None:
            computed = k_factor(rotor.r_min_mm, rotor.r_max_mm, rotor.max_rpm)
            assert computed == pytest.approx(rotor.k_factor, rel=0.15), rotor.id
        if rotor.r_avg_mm is not None:
            assert rotor.r_min_mm < rotor.r_avg_mm < rotor.r_max_mm, rotor.id


def test_rotor_table_has_the_common_ultracentrifuge_rotors_with_citations():
    rotors = load_rotors()
    for rotor_id in (
        "type-70-ti",
        "type-45-ti",
        "sw-41-ti",
        "sw-32-ti",
        "sw-28",
        "tla-100-3",
        "tla-120-2",
        "mla-80",
        "type-50-2-ti",
        "t-647-5",
        "th-641",
        "f50l-24x1-5",
    ):
        assert rotor_id in rotors
        assert rotors[rotor_id].citation
    assert {r.type for r in rotors.values()} == {"fixed_angle", "swinging_bucket"}


def test_rotor_lookup_uses_basis_radius_and_reports_unknown_ids():
    rotor = get_rotor("type-70-ti")
    assert rotor.max_rcf("avg") == pytest.approx(rcf_from_rpm(70_000, 65.7))
    assert rotor.max_rcf("max") == pytest.approx(rcf_from_rpm(70_000, 91.9))
    assert rotor.k_factor_for(35_000) == pytest.approx(176)
    with pytest.raises(KeyError, match="unknown rotor 'nope'"):
        get_rotor("nope")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "X"}, "field 'manufacturer' is missing"),
        ({"type": "conical"}, "type must be one of"),
        ({"r_min_mm": 200}, "r_min_mm .* must be smaller than r_max_mm"),
        ({"k_factor": -3}, "'k_factor' must be greater than 0"),
        ({"colour": "red"}, "unknown field"),
        ({"verified": "no"}, "field 'verified'"),
    ],
)
def test_malformed_rotor_entries_are_refused_naming_the_rotor(entry, message):
    good = {
        "name": "R",
        "manufacturer": "M",
        "type": "fixed_angle",
        "max_rpm": 10000,
        "r_max_mm": 100,
        "r_min_mm": 50,
        "citation": "manual",
        "verified": False,
    }
    if entry == {"name": "X"}:
        good.pop("manufacturer")
    else:
        good.update(entry)
    with pytest.raises(ValueError, match=f"rotor 'r1'.*{message}"):
        parse_rotor_table({"rotors": {"r1": good}})
