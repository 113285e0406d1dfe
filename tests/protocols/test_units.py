import pytest

from protocols.units import UnitParseError, parse_quantity


@pytest.mark.parametrize(
    ("raw", "unit", "expected"),
    [
        ("1.5 h", "min", 90.0),
        ("30 s", "min", 0.5),
        ("100,000 x g", "g", 100000.0),
        ("100 000 × g", "g", 100000.0),
        ("100000g", "g", 100000.0),
        ("1e5 xg", "g", 100000.0),
        ("4 °C", "degC", 4.0),
        ("4 degC", "degC", 4.0),
        ("277.15 K", "degC", 4.0),
        ("500 µl", "µL", 500.0),
        ("500 µl", "mL", 0.5),
        ("500 uL", "mL", 0.5),
        ("1,5 h", "min", 90.0),
        ("1,234.5 min", "min", 1234.5),
        ("220 nm", "µm", 0.22),
        ("6 kDa", "Da", 6000.0),
        ("8 % (w/v)", "%", 8.0),
        ("1.10 g/mL", "g/mL", 1.1),
        ("2 mL/min", "mL/min", 2.0),
        ("45,000 rpm", "rpm", 45000.0),
    ],
)
def test_text_with_unit_is_converted_to_the_canonical_unit(raw, unit, expected):
    parsed = parse_quantity(raw, unit)
    assert parsed.value == pytest.approx(expected)
    assert parsed.unit == unit
    assert parsed.original == raw


def test_bare_number_is_taken_as_canonical_and_has_no_original_text():
    parsed = parse_quantity(70, "min")
    assert (parsed.value, parsed.original) == (70.0, None)


def test_temperature_difference_is_read_as_an_interval_when_delta():
    assert parse_quantity("2 K", "degC", delta=True).value == pytest.approx(2.0)
    assert parse_quantity("2 K", "degC").value == pytest.approx(-271.15)


@pytest.mark.parametrize(
    ("raw", "unit", "fragment"),
    [
        ("100,000 rpm", "g", "give it in speed_rpm"),
        ("4 kg", "degC", "not a unit convertible to degC"),
        ("overnight", "min", "does not start with a number"),
        ("5 blorps", "min", "not a known unit"),
        ("5 furlongs", "min", "not a unit convertible to min"),
        (True, "min", "boolean"),
        ([1], "min", "got list"),
        (float("nan"), "min", "finite"),
    ],
)
def test_unreadable_values_are_refused_with_a_reason(raw, unit, fragment):
    with pytest.raises(UnitParseError, match=fragment):
        parse_quantity(raw, unit)


def test_unknown_canonical_unit_is_refused():
    with pytest.raises(UnitParseError, match="unknown canonical unit"):
        parse_quantity(1, "furlong")
