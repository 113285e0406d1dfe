"""Spike recovery with its propagated standard uncertainty, against cases computed by hand."""

import math

import pytest

from evlims.standards.uncertainty import lot_value, mean_recovery, recovery
from evlims.standards.units import UnitMismatch, amount_unit_of, check_compatible


def _recovery(**changes):
    arguments = {
        "lot": lot_value(1e10, 1e9),  # 1e10 particles/mL, u = 10 %
        "lot_unit": "particles/mL",
        "amount": 10.0,
        "amount_unit": "µL",  # spiked: 10 µL x 1e10/mL = 1e8 particles, u = 1e7
        "readout": 4e8,
        "readout_uncertainty": 2e7,  # 5 %
        "readout_unit": "particles/mL",
        "volume_ul": 100.0,  # recovered: 4e8/mL x 0.1 mL = 4e7 particles, u = 2e6
    }
    return recovery(**(arguments | changes))


def test_recovery_and_its_uncertainty_by_hand():
    # 4e7 / 1e8 = 0.40; relative u = sqrt(0.10^2 + 0.05^2) = 0.1118034 -> u = 0.0447214
    result = _recovery()
    assert result.problem == ""
    assert result.value == pytest.approx(0.40)
    assert result.uncertainty == pytest.approx(0.4 * math.sqrt(0.01 + 0.0025))
    assert result.uncertainty == pytest.approx(0.0447214, abs=1e-7)
    assert result.spiked == pytest.approx(1e8) and result.spiked_uncertainty == pytest.approx(1e7)
    assert result.recovered == pytest.approx(4e7) and result.recovered_uncertainty == pytest.approx(2e6)
    assert result.unit == "particles"
    assert result.percent == pytest.approx(40.0)
    assert result.percent_uncertainty == pytest.approx(4.47214, abs=1e-5)


def test_units_convert_before_dividing():
    # The same spike written as 0.01 mL of a 1e7 particles/µL lot, read back as 4e5 particles/µL.
    result = _recovery(
        lot=lot_value(1e7, 1e6),
        lot_unit="particles/µL",
        amount=0.01,
        amount_unit="mL",
        readout=4e5,
        readout_uncertainty=2e4,
        readout_unit="particles/µL",
    )
    assert result.value == pytest.approx(0.40)
    assert result.uncertainty == pytest.approx(0.0447214, abs=1e-7)


def test_an_amount_given_in_the_lots_unit_keeps_the_lots_relative_uncertainty():
    result = _recovery(amount=1e8, amount_unit="particles")
    assert result.spiked == pytest.approx(1e8) and result.spiked_uncertainty == pytest.approx(1e7)
    assert result.value == pytest.approx(0.40)
    assert result.uncertainty == pytest.approx(0.0447214, abs=1e-7)


def test_a_readout_given_as_an_amount_needs_no_volume():
    result = _recovery(readout=4e7, readout_uncertainty=2e6, readout_unit="particles", volume_ul=None)
    assert result.value == pytest.approx(0.40)


def test_no_uncertainty_given_propagates_the_lots_alone():
    result = _recovery(readout_uncertainty=None)
    assert result.uncertainty == pytest.approx(0.04)


def test_spikes_of_one_lot_stay_correlated_in_their_mean():
    # Two recoveries of 0.40 from one lot (10 %) with independent readouts (5 % each):
    # lot part 0.40 x 0.10 = 0.04 (does not average away); readout part 0.02/sqrt(2) = 0.0141421;
    # u(mean) = sqrt(0.04^2 + 0.0141421^2) = sqrt(0.0018) = 0.0424264.
    lot = lot_value(1e10, 1e9)
    first, second = _recovery(lot=lot), _recovery(lot=lot)
    mean, uncertainty = mean_recovery([first, second])
    assert mean == pytest.approx(0.40)
    assert uncertainty == pytest.approx(math.sqrt(0.0018))
    # Two different lots: both parts average: sqrt(0.0447214^2 / 2) = 0.0316228.
    independent = [_recovery(lot=lot_value(1e10, 1e9)), _recovery(lot=lot_value(1e10, 1e9))]
    assert mean_recovery(independent)[1] == pytest.approx(0.0447214 / math.sqrt(2), abs=1e-7)
    assert mean_recovery([]) == (None, None)


def test_mismatched_units_are_refused_with_words():
    result = _recovery(readout=12.0, readout_uncertainty=None, readout_unit="pg/mL")
    assert result.value is None
    assert "pg/mL" in result.problem and "particles" in result.problem
    with pytest.raises(UnitMismatch, match=r"pg/mL \(a mass\).*particles/mL \(particles\)"):
        check_compatible(lot_unit="particles/mL", unit="pg/mL", what="The tracer readout", allow_volume=False)
    with pytest.raises(UnitMismatch, match="copies"):
        check_compatible(lot_unit="particles/mL", unit="copies", what="The spiked amount", allow_volume=True)
    check_compatible(lot_unit="copies/µL", unit="µL", what="The spiked amount", allow_volume=True)
    assert amount_unit_of("pg/mL") == "pg"


def test_a_missing_final_volume_is_said():
    result = _recovery(volume_ul=None)
    assert result.value is None
    assert "final volume" in result.problem
