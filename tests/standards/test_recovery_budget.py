"""Volumes, pipetting and dilution propagated into spike recovery with ``uncertainties``, and the budget of a
recovery, against cases computed by hand."""

import math
from types import SimpleNamespace

import pytest

from evlims.standards.pipetting import as_microlitres, default_uncertainty_ul
from evlims.standards.recovery import recoveries
from evlims.standards.uncertainty import lot_value, mean_recovery, recovery


def _full(**changes):
    arguments = {
        "lot": lot_value(1e10, 1e9, tag="lot 1"),  # 10 %
        "lot_unit": "particles/mL",
        "amount": 10.0,
        "amount_unit": "µL",
        "amount_uncertainty": 0.1,  # 1 % (pipetting)
        "readout": 4e7,  # read on a 1:10 dilution: 4e8/mL in the preparation
        "readout_uncertainty": 2e6,  # 5 %
        "readout_unit": "particles/mL",
        "dilution_factor": 10.0,
        "dilution_uncertainty": 0.2,  # 2 %
        "volume_ul": 100.0,
        "volume_uncertainty_ul": 2.0,  # 2 %
    }
    return recovery(**(arguments | changes))


def test_every_volume_adds_its_relative_uncertainty_in_quadrature():
    # R = (4e7 x 10 x 0.1 mL) / (10 µL x 1e10/mL) = 4e7 / 1e8 = 0.40
    # u(R)/R = sqrt(0.10^2 + 0.01^2 + 0.05^2 + 0.02^2 + 0.02^2) = sqrt(0.0134) = 0.1157584
    result = _full()
    assert result.value == pytest.approx(0.40)
    assert result.uncertainty == pytest.approx(0.40 * math.sqrt(0.0134))
    assert result.uncertainty == pytest.approx(0.0463034, abs=1e-7)
    # without the volumes it is the 4.47-point case of test_recovery_math
    bare = _full(amount_uncertainty=None, dilution_uncertainty=None, volume_uncertainty_ul=None)
    assert bare.uncertainty == pytest.approx(0.0447214, abs=1e-7)


def test_the_budget_names_each_input_and_its_share():
    lines = {line.source: line for line in _full().budget}
    # |dR/dx| u(x) = R x relative u(x); share = its square over the sum of squares (0.0134 R^2)
    expected = {"lot": 0.10, "readout": 0.05, "volume": 0.02, "dilution": 0.02, "spike": 0.01}
    assert set(lines) == set(expected)
    for source, relative in expected.items():
        assert lines[source].contribution == pytest.approx(0.40 * relative)
        assert lines[source].share == pytest.approx(relative**2 / 0.0134)
    assert [line.source for line in _full().budget][:2] == ["lot", "readout"]
    assert lines["spike"].label == "Spiked amount (pipetting)"
    assert sum(line.share for line in lines.values()) == pytest.approx(1.0)


def _readout(pk, preparation_id, value, volume_u, *, spike):
    preparation = SimpleNamespace(final_volume_ul=100.0, run=None)
    return SimpleNamespace(
        pk=pk,
        spike=spike,
        preparation=preparation,
        preparation_id=preparation_id,
        value=value,
        standard_uncertainty=0.05 * value,
        unit="particles/mL",
        dilution_factor=1.0,
        dilution_uncertainty=None,
        volume_uncertainty_ul=volume_u,
    )


def test_readouts_of_one_preparation_share_its_final_volume_and_pipetting():
    lot = SimpleNamespace(pk=7, assigned_value=1e10, assigned_uncertainty=0.0, unit="particles/mL")
    spike = SimpleNamespace(pk=3, lot=lot, amount=10.0, amount_unit="µL", amount_uncertainty=0.1)
    same = recoveries([_readout(1, 11, 4e8, 2.0, spike=spike), _readout(2, 11, 4e8, 2.0, spike=spike)])
    # one volume (2 %) and one pipetting (1 %) shared; two independent 5 % readouts:
    # u(mean)/R = sqrt(0.02^2 + 0.01^2 + 0.05^2 / 2) = sqrt(0.00175)
    _, u_same = mean_recovery([row.recovery for row in same])
    assert u_same == pytest.approx(0.40 * math.sqrt(0.0004 + 0.0001 + 0.0025 / 2))
    apart = recoveries([_readout(1, 11, 4e8, 2.0, spike=spike), _readout(2, 12, 4e8, 2.0, spike=spike)])
    # two preparations: volumes and pipetting acts independent -> sqrt((0.0004 + 0.0001 + 0.0025) / 2)
    _, u_apart = mean_recovery([row.recovery for row in apart])
    assert u_apart == pytest.approx(0.40 * math.sqrt(0.0030 / 2))


def test_iso_8655_default_for_a_pipetted_volume():
    # 10 µL pipette: systematic 1.2 %, random 0.8 % -> sqrt((1.2/sqrt 3)^2 + 0.8^2) = sqrt(1.12) % of 10 µL
    found = default_uncertainty_ul(10.0)
    assert found.uncertainty_ul == pytest.approx(10 * math.sqrt(1.44 / 3 + 0.64) / 100)
    assert found.uncertainty_ul == pytest.approx(0.105830, abs=1e-6)
    assert "ISO 8655-2" in found.basis and "10 µL pipette" in found.basis
    # 50 µL is pipetted with the 100 µL pipette, whose errors in µL hold over its range: sqrt(0.8^2/3 + 0.3^2) %
    assert default_uncertainty_ul(50.0).uncertainty_ul == pytest.approx(100 * math.sqrt(0.64 / 3 + 0.09) / 100)
    assert default_uncertainty_ul(5000.0) is None
    assert as_microlitres(0.1, "mL") == pytest.approx(100.0)
    assert as_microlitres(1e6, "particles") is None
