"""A preparation's FCS files reach its experiment document's ``flow`` part (read in a fixed number of queries),
and the MIFlowCyt-EV rule set judges it: every flow path a rule reads is written by an upload and a gating."""

import datetime as dt

import pytest

from evlims.compliance import evaluate
from evlims.compliance.evidence import experiment_documents, preparations_with_evidence
from evlims.cytometry import gate_services, services
from tests.cytometry.ev_files import GATES, ev_events, ev_file
from tests.cytometry.fcs_writer import fcs_bytes
from tests.web.test_results import make_preparation

pytestmark = pytest.mark.django_db
NAMES = ["SSC-H", "FL1-H", "FL2-H", "FL3-H", "Time"]


def _document(preparation):
    return experiment_documents(preparations_with_evidence([preparation.pk]))[preparation.pk]


def test_a_fully_controlled_calibrated_gating_meets_every_miflowcyt_rule(staff, lab, project):
    preparation = make_preparation(staff, project, "EVP-MFC1")
    sample = services.acquisition_upload(
        actor=staff, lab=lab, data=ev_file(), name="ev.fcs", preparation=preparation, dilution_factor=100
    )
    events = ev_events()
    for role, rows, dilution in (
        ("buffer", slice(16_000, 20_000), None),
        ("buffer_reagents", slice(16_000, 19_000), None),
        ("unstained", slice(0, 16_000), None),
        ("isotype", slice(0, 15_000), None),
        ("lysis", slice(0, 1_600), None),
        ("dilution", slice(0, 8_000), 200),
        ("dilution", slice(0, 4_000), 400),
    ):
        data = fcs_bytes(events[rows], NAMES, extra=[("$VOL", "10000"), ("$TR", "SSC-H,100")])
        control = services.acquisition_upload(
            actor=staff,
            lab=lab,
            data=data,
            name=f"{role}{dilution}.fcs",
            role=role,
            controls=sample,
            dilution_factor=dilution,
        )
        services.result_record(actor=staff, acquisition=control, gates=GATES[:1], particle_gate="EVs")
    fluorescence = services.calibration_create(
        actor=staff,
        lab=lab,
        name="FL2 MESF",
        kind="fluorescence",
        channel="FL2-H",
        units="MESF",
        beads="Spherotech RCP-30-5A",
        calibrated_on=dt.date(2026, 12, 1),
        measured=[20, 50, 500, 5000],
        assigned=[0, 500, 5000, 50000],
    )
    scatter = services.calibration_create(
        actor=staff,
        lab=lab,
        name="SSC size",
        kind="scatter",
        channel="SSC-H",
        units="nm",
        beads="Polystyrene 100/200/300 nm",
        calibrated_on=dt.date(2026, 12, 1),
        measured=[300, 9000, 60000],
        assigned=[100, 200, 300],
        optics={"particle_index": 1.40},
    )
    gates = [
        {"name": "EVs", "x": "FL2-H", "x_min": 0},
        {"name": "CD63+", "x": "FL2-H", "x_min": 10_000, "parent": "EVs"},
    ]
    services.result_record(
        actor=staff, acquisition=sample, gates=gates, particle_gate="EVs", calibrations=[fluorescence, scatter]
    )

    flow = _document(preparation)["flow"]
    assert flow["trigger_channel"] == "SSC-H" and flow["trigger_threshold"] == 100 and flow["events"] == 20_000
    assert flow["fluorescence_units"] == "MESF" and flow["scatter_units"] == "nm"
    assert flow["gates"] == ["EVs", "CD63+"] and flow["analysed_volume_ul"] == 10
    assert flow["concentration_per_ml"] == pytest.approx(2e8)  # all 20,000 events ÷ 10 µL × 100
    assert flow["controls"] == dict.fromkeys(
        ("buffer", "buffer_reagents", "dilution", "isotype", "lysis", "unstained"), True
    )
    assert flow["dilution_slope"] > 0  # the sample counts its noise too, so not exactly 1
    report = evaluate(_document(preparation), ["miflowcyt_ev"]).rulesets["miflowcyt_ev"]
    assert len(report.verdicts) == 13
    assert [v.rule_id for v in report.verdicts if v.status != "pass"] == ["MFC.SHARING.DATA"]
    gate_services.acquisition_share(
        actor=staff, acquisition=sample, repository="flowrepository", accession="fr-fcm-z2zy", reason="Deposited"
    )
    flow = _document(preparation)["flow"]
    assert flow["data_sharing"] == {
        "repository": "FlowRepository",
        "accession": "FR-FCM-Z2ZY",
        "url": "https://flowrepository.org/id/FR-FCM-Z2ZY",
    }
    report = evaluate(_document(preparation), ["miflowcyt_ev"]).rulesets["miflowcyt_ev"]
    assert [(v.rule_id, v.message) for v in report.verdicts if v.status != "pass"] == []


def test_an_ungated_file_fails_the_gating_rules_and_other_preparations_are_not_assessed(staff, lab, project):
    preparation = make_preparation(staff, project, "EVP-MFC2")
    other = make_preparation(staff, project, "EVP-MFC3")
    services.acquisition_upload(actor=staff, lab=lab, data=ev_file(), name="ev.fcs", preparation=preparation)
    report = evaluate(_document(preparation), ["miflowcyt_ev"]).rulesets["miflowcyt_ev"]
    assert report.verdict("MFC.CHARACTERISATION.GATES").status == "fail"
    assert report.verdict("MFC.CONTROL.LYSIS").status == "fail"
    assert report.verdict("MFC.CALIBRATION.TRIGGER").status == "pass"
    assert "flow" not in _document(other)
    untouched = evaluate(_document(other), ["miflowcyt_ev"]).rulesets["miflowcyt_ev"]
    assert {v.status for v in untouched.verdicts} == {"not_applicable"}


def test_the_flow_part_costs_a_fixed_number_of_queries(staff, lab, project, django_assert_max_num_queries):
    preparations = [make_preparation(staff, project, f"EVP-MFQ{n}") for n in range(3)]
    for preparation in preparations:
        acquisition = services.acquisition_upload(
            actor=staff,
            lab=lab,
            data=ev_file(extra=[("$SMNO", preparation.barcode)]),
            name="ev.fcs",
            preparation=preparation,
        )
        services.result_record(actor=staff, acquisition=acquisition, gates=GATES, particle_gate="EVs")
    from evlims.compliance.flow_evidence import flow_parts

    with django_assert_max_num_queries(6):
        parts = flow_parts([p.pk for p in preparations])
    assert len(parts) == 3


def test_a_file_calibrated_by_fcmpass_counts_as_standard_units(staff, lab, project):
    """$PnCALIBRATION in the file (FCMPASS) puts the axes in MESF and nm without a calibration of evlims."""
    preparation = make_preparation(staff, project, "EVP-MFCFILE")
    data = ev_file(extra=[("$P3CALIBRATION", "0.5,MESF"), ("$P1CALIBRATION", "1,nm")])
    sample = services.acquisition_upload(
        actor=staff, lab=lab, data=data, name="fcmpass.fcs", preparation=preparation, dilution_factor=100
    )
    services.result_record(actor=staff, acquisition=sample, gates=GATES[:1], particle_gate="EVs")
    flow = _document(preparation)["flow"]
    assert (flow["fluorescence_units"], flow["scatter_units"]) == ("MESF", "nm")
