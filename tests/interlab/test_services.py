"""Defining, shipping, reporting and closing a round through the services; what each lab may do and see."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from evlims.core.models import AuditEvent
from evlims.interlab import scoring, selectors, services
from evlims.interlab.models import ComparisonRound, RoundItem
from tests.interlab.world import build_ring, ship_and_report

pytestmark = pytest.mark.django_db


def test_a_full_round_is_scored_against_the_robust_consensus():
    ring = build_ring(6)
    ship_and_report(ring, [5.0e9, 5.2e9, 4.9e9, 9.0e9, 5.1e9, 5.05e9], [2e8] * 6)
    closed = services.round_close(actor=ring.coordinator_staff, round=ring.round, reason="all results in")
    assert closed.status == ComparisonRound.Status.CLOSED
    assessment = scoring.assess(closed)
    assert assessment.assigned.value == pytest.approx(closed.assigned_value)
    assert assessment.assigned.value < 5.6e9  # the 9e9 outlier is winsorised
    by_code = {r.lab_name: r for r in assessment.results}
    assert by_code[ring.labs[3].name].bands()["z"] == "unsatisfactory"
    assert by_code[ring.labs[0].name].bands()["z"] == "satisfactory"
    assert AuditEvent.objects.filter(action="comparison_round.close", object_id=str(closed.pk)).count() == 1


def test_participant_codes_are_distinct_pseudonyms():
    ring = build_ring(3)
    codes = [p.code for p in ring.participants]
    assert len(set(codes)) == 3
    assert all(code.startswith("Lab ") and len(code) == 6 for code in codes)


def test_consensus_refused_below_three_results():
    ring = build_ring(2)
    ship_and_report(ring, [5.0e9, 5.1e9])
    with pytest.raises(ValidationError, match="at least 3 results"):
        services.round_close(actor=ring.coordinator_staff, round=ring.round)


def test_a_reference_value_scores_even_two_participants():
    ring = build_ring(2, assigned_from="reference")
    ship_and_report(ring, [5.0e9, 7.5e9], [1e8, 1e8])
    services.round_close(actor=ring.coordinator_staff, round=ring.round)
    results = scoring.assess(ring.round).results
    assert [round(r.scores.z, 2) for r in results if r.lab_id == ring.labs[1].pk] == [2.5]


def test_shipping_an_aliquot_records_custody():
    from tests.security.world import build_lab

    world = build_lab("SHIP")
    ring = build_ring(1)
    ring2_round = services.round_create(
        actor=world.users["lab_admin"],
        scheme=services.scheme_create(
            actor=world.staff, lab=world.lab, code="S", name="S", quantity="particles_per_ml"
        ),
        code="1",
        material="pool",
        sigma_pt=1.0,
    )
    participant = services.participant_enrol(actor=world.staff, round=ring2_round, lab=ring.labs[0])
    item = services.item_add(actor=world.staff, participant=participant, aliquot=world.aliquot)
    services.round_ship(actor=world.staff, round=ring2_round, reason="courier")
    item.refresh_from_db()
    world.aliquot.refresh_from_db()
    assert item.shipping == RoundItem.Shipping.CUSTODY
    assert world.aliquot.status == "shipped"
    assert world.aliquot.custody_events.filter(kind="shipped").exists()


def test_only_the_participant_reports_on_its_item():
    ring = build_ring(2)
    services.round_ship(actor=ring.coordinator_staff, round=ring.round)
    with pytest.raises(PermissionDenied):
        services.result_report(actor=ring.staff[1], item=ring.items[0], value=1.0)
    with pytest.raises(PermissionDenied):
        services.result_report(actor=ring.coordinator_staff, item=ring.items[0], value=1.0)


def test_a_participant_cannot_run_the_round():
    ring = build_ring(2)
    with pytest.raises(PermissionDenied):
        services.round_ship(actor=ring.staff[0], round=ring.round)


def test_results_wait_for_shipping_and_stop_at_closing():
    ring = build_ring(3)
    with pytest.raises(ValidationError, match="being prepared"):
        services.result_report(actor=ring.staff[0], item=ring.items[0], value=1.0)


def test_bad_numbers_are_named():
    ring = build_ring(1)
    services.round_ship(actor=ring.coordinator_staff, round=ring.round)
    with pytest.raises(ValidationError) as error:
        services.result_report(actor=ring.staff[0], item=ring.items[0], value="lots")
    assert "value" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.result_report(actor=ring.staff[0], item=ring.items[0], value=1, standard_uncertainty=-1)
    assert "standard_uncertainty" in error.value.message_dict


def test_reporting_again_replaces_the_result():
    ring = build_ring(1)
    services.round_ship(actor=ring.coordinator_staff, round=ring.round)
    services.result_report(actor=ring.staff[0], item=ring.items[0], value=1.0)
    result = services.result_report(actor=ring.staff[0], item=ring.items[0], value=2.0, reason="typo")
    assert result.value == 2.0
    assert AuditEvent.objects.filter(action="comparison_result.replace").count() == 1


def test_homogeneity_and_stability_checks_are_kept_and_assessed():
    ring = build_ring(3)
    ring.round = services.round_checks_record(
        actor=ring.coordinator_staff,
        round=ring.round,
        homogeneity_pairs=[[5.0e9, 5.1e9], [5.2e9, 5.0e9], [4.9e9, 5.0e9]],
        stability_before=[5.0e9, 5.1e9],
        stability_after=[4.9e9, 5.0e9],
    )
    assessment = scoring.assess(ring.round)
    assert assessment.homogeneity.passed and assessment.stability.passed
    with pytest.raises(ValidationError) as error:
        services.round_checks_record(actor=ring.coordinator_staff, round=ring.round, homogeneity_pairs=[[1.0]])
    assert "homogeneity_pairs" in error.value.message_dict


def test_selectors_keep_each_lab_to_its_own():
    ring = build_ring(2)
    outsider = build_ring(1, marker="OTHER")
    assert list(selectors.rounds_for(ring.staff[0])) == [ring.round]
    assert not selectors.rounds_for(outsider.staff[0]).filter(pk=ring.round.pk).exists()
    assert not selectors.is_coordinator(ring.staff[0], ring.round)
    assert selectors.is_coordinator(ring.coordinator_staff, ring.round)
    assert list(selectors.received_items(ring.staff[0])) == [ring.items[0]]


def test_a_reference_lot_gives_the_reference_value():
    from evlims.standards import services as standards

    ring = build_ring(1)
    lot = standards.reference_lot_create(
        actor=ring.coordinator_staff,
        lab=ring.coordinator,
        material="rEV",
        lot_number="L-1",
        readout="fluorescent_nta",
        assigned_value=4.0e9,
        assigned_uncertainty=2.0e8,
        unit="particles/mL",
    )
    round_ = services.round_create(
        actor=ring.coordinator_staff, scheme=ring.scheme, code="LOT", material="", sigma_pt=5e8, reference_lot=lot
    )
    assert (round_.assigned_from, round_.reference_value, round_.reference_uncertainty) == ("reference", 4.0e9, 2.0e8)
    assert round_.material == "rEV lot L-1"
    other = build_ring(0, marker="LOTLESS")
    with pytest.raises(ValidationError) as error:
        services.round_create(
            actor=other.coordinator_staff, scheme=other.scheme, code="X", material="m", sigma_pt=1, reference_lot=lot
        )
    assert "reference_lot" in error.value.message_dict


def test_checks_are_bounded():
    ring = build_ring(1)
    with pytest.raises(ValidationError) as error:
        services.round_checks_record(
            actor=ring.coordinator_staff, round=ring.round, homogeneity_pairs=[[1.0, 1.0]] * 501
        )
    assert "At most 500" in str(error.value)


def test_a_participant_reports_a_result_recorded_the_normal_way():
    from evlims.characterization.corrections import result_void
    from evlims.characterization.services import record_results
    from tests.api.evidence import particle
    from tests.security.world import build_lab

    participant_lab = build_lab("PART")
    ring = build_ring(0)
    services.participant_enrol(actor=ring.coordinator_staff, round=ring.round, lab=participant_lab.lab)
    item = services.item_add(actor=ring.coordinator_staff, participant=ring.round.participants.get())
    services.round_ship(actor=ring.coordinator_staff, round=ring.round)
    preparation = participant_lab.run.preparations.order_by("id").last()
    measurement = record_results(
        actor=participant_lab.staff, lab=participant_lab.lab, documents=[particle(preparation.barcode)]
    )[0]
    result = services.result_report(actor=participant_lab.staff, item=item, measurement=measurement, method="NTA")
    assert result.value == measurement.values["particles_per_ml"] and result.measurement == measurement
    # Another lab's result, a voided result, or a typed value that disagrees are refused by name.
    with pytest.raises(ValidationError) as error:
        services.result_report(actor=participant_lab.staff, item=item, measurement=measurement, value=1.0)
    assert "value" in error.value.message_dict
    result_void(actor=participant_lab.staff, measurement=measurement, reason="wrong dilution")
    with pytest.raises(ValidationError) as error:
        services.result_report(actor=participant_lab.staff, item=item, measurement=measurement)
    assert "measurement" in error.value.message_dict
