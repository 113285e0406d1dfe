"""The standardization services refuse what does not fit, in words naming the field, and write nothing then."""

import math

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from evlims.core.models import AuditEvent, Role
from evlims.isolation import services as isolation
from evlims.standards import services
from evlims.standards.models import Spike, TracerReadout
from tests.run_states import completed
from tests.security.world import build_lab

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_lab("SRV")


def _lot(world, **changes):
    arguments = {
        "actor": world.staff,
        "lab": world.lab,
        "material": "rEV",
        "lot_number": "L-9",
        "readout": "rt_qpcr",
        "assigned_value": 5e6,
        "assigned_uncertainty": 4e5,
        "unit": "copies/µL",
    }
    return services.reference_lot_create(**(arguments | changes))


def test_a_lot_is_unique_per_lab_and_its_numbers_are_checked(world):
    _lot(world)
    with pytest.raises(ValidationError, match="already has lot L-9"):
        _lot(world)
    for field, value in (("assigned_value", 0), ("assigned_value", math.inf), ("assigned_uncertainty", -1)):
        with pytest.raises(ValidationError) as refused:
            _lot(world, lot_number="L-10", **{field: value})
        assert field in refused.value.message_dict
    with pytest.raises(ValidationError, match="unit"):
        _lot(world, lot_number="L-11", unit="copies")  # an amount, not a concentration


def test_a_spike_needs_one_target_of_its_lab_and_a_unit_that_fits(world):
    lot = _lot(world)
    with pytest.raises(ValidationError, match="either one aliquot or one isolation run"):
        services.spike_record(actor=world.staff, lot=lot, amount=1, amount_unit="µL")
    with pytest.raises(ValidationError) as refused:
        services.spike_record(actor=world.staff, lot=lot, aliquot=world.aliquot, amount=1, amount_unit="particles")
    assert "copies" in refused.value.message_dict["amount_unit"][0]
    other = build_lab("SRX")
    with pytest.raises(ValidationError, match="another lab"):
        services.spike_record(actor=world.staff, lot=lot, aliquot=other.aliquot, amount=1, amount_unit="µL")
    with pytest.raises(PermissionDenied):
        services.spike_record(actor=other.staff, lot=lot, aliquot=world.aliquot, amount=1, amount_unit="µL")
    spike = services.spike_record(actor=world.staff, lot=lot, aliquot=world.aliquot, amount=2e6, amount_unit="copies")
    assert spike.matrix == "Blood plasma"
    assert Spike.objects.filter(lot=lot).count() == 1


def test_a_readout_is_of_a_preparation_made_from_the_spiked_aliquot_or_run(world):
    lot = _lot(world)
    spike = services.spike_record(actor=world.staff, lot=lot, aliquot=world.aliquot, amount=1, amount_unit="µL")
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="was not made from the spiked aliquot"):
        services.tracer_readout_record(
            actor=world.staff, spike=spike, preparation=world.preparation, value=1e6, unit="copies"
        )
    run = completed(
        isolation.run_plan(
            actor=world.staff,
            project=world.project,
            protocol_version=world.protocol_version,
            inputs=[(world.aliquot, 100)],
        )
    )
    preparation = run.preparations.get()
    with pytest.raises(ValidationError) as refused:
        services.tracer_readout_record(actor=world.staff, spike=spike, preparation=preparation, value=3, unit="pg/mL")
    assert "pg/mL (a mass)" in refused.value.message_dict["unit"][0]
    with pytest.raises(ValidationError, match="Replicates"):
        services.tracer_readout_record(
            actor=world.staff, spike=spike, preparation=preparation, value=1, unit="copies", replicates=0
        )
    readout = services.tracer_readout_record(
        actor=world.staff, spike=spike, preparation=preparation, value=2e6, unit="copies", standard_uncertainty=1e5
    )
    assert TracerReadout.objects.filter(spike=spike).get() == readout
    assert AuditEvent.objects.count() > before


def test_a_dilution_series_is_bounded_and_checked(world):
    with pytest.raises(ValidationError, match="at least 2"):
        services.dilution_series_record(
            actor=world.staff, preparation=world.preparation, technique="nta", points=[{"dilution_factor": 10}]
        )
    many = [{"dilution_factor": factor, "readings": [1e8]} for factor in range(1, 60)]
    with pytest.raises(ValidationError, match="At most 50"):
        services.dilution_series_record(actor=world.staff, preparation=world.preparation, technique="nta", points=many)
    with pytest.raises(ValidationError, match="Choose NTA"):
        services.dilution_series_record(actor=world.staff, preparation=world.preparation, technique="dls", points=[])
    with pytest.raises(PermissionDenied):
        services.dilution_series_record(
            actor=world.users[Role.QA_MANAGER], preparation=world.preparation, technique="nta", points=many[:2]
        )
