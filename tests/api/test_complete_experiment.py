"""A complete experiment recorded through the API only: donor, plasma with its whole pre-analytical record, a
run with every step, NTA, BCA, western blots with antibodies and lysis, TEM, storage and claims. The stored
preparation meets every mandatory MISEV2018 and MISEV2023 rule and scores 100 % on the EV-METRIC; taking one
item away fails exactly the rules that need it."""

import copy

import pytest

from evlims.compliance import evaluate
from evlims.compliance.evidence import experiment_documents, preparations_with_evidence
from evlims.compliance.services import MANDATORY_LEVELS, evaluate_preparations

pytestmark = pytest.mark.django_db
API = "/api/v1"

PROTOCOL = """
schema_version: 1
slug: lab-uc-dg
version: 1.0.0
title: Clearing spin, 100,000 g pellet and iodixanol flotation
status: draft
description: Plasma cleared, pelleted, then floated into an iodixanol gradient.
citations: [{text: "Kowal et al. 2016", doi: 10.1073/pnas.1521230113, verified: false}]
steps:
  - method: differential_centrifugation
    params: {g_force: 10000, duration_min: 30, temperature_c: 4, fraction_kept: supernatant}
  - method: ultracentrifugation
    params: {g_force: 100000, duration_min: 90, temperature_c: 4, rotor: type-45-ti, k_factor: 210,
             fraction_kept: pellet}
  - method: density_gradient
    params: {medium: iodixanol, gradient_type: discontinuous, loading: bottom_up, g_force: 100000,
             duration_min: 1080, temperature_c: 4, rotor: sw-41-ti, k_factor: 257, fractions_collected: 12,
             ev_fractions: [6, 7, 8], fraction_density_g_ml: [1.08, 1.12]}
"""
STEPS = [
    {"g_force": 10000, "duration_min": 30, "temperature_c": 4, "fraction_kept": "supernatant"},
    {
        "g_force": 100000,
        "duration_min": 90,
        "temperature_c": 4,
        "rotor": "type-45-ti",
        "k_factor": 210,
        "fraction_kept": "pellet",
    },
    {
        "medium": "iodixanol",
        "gradient_type": "discontinuous",
        "loading": "bottom_up",
        "g_force": 100000,
        "duration_min": 1080,
        "rotor": "sw-41-ti",
        "k_factor": 257,
        "fractions_collected": 12,
        "ev_fractions": [6, 7, 8],
        "fraction_density_g_ml": [1.08, 1.12],
    },
]
# Seven western-blot markers: two transmembrane, two cytosolic, the lipoproteins and albumin, an ER protein.
MARKERS = [("CD63", True), ("CD81", True), ("TSG101", True), ("PDCD6IP", True), ("APOA1", True), ("ALB", False)]
MARKERS += [("CANX", False)]


def marker(symbol, detected):
    return {
        "kind": "marker",
        "method": "western_blot",
        "marker": {
            "protein": symbol,
            "detected": detected,
            "antibody": {"catalogue": f"ab-{symbol.lower()}", "dilution": "1:1000", "supplier": "Abcam"},
            "lysate": {"buffer": "RIPA", "protocol": "10 min on ice, vortexed", "reducing": False},
        },
    }


@pytest.fixture
def recorded(staff_api, qa_api, lab, project):
    donor = staff_api.post(
        f"{API}/donors/",
        {"lab": lab.pk, "project": project.pk, "code": "D-001", "sex": "female", "age_band": "40-49"},
        format="json",
    )
    assert donor.status_code == 201, donor.json()
    sample = staff_api.post(
        f"{API}/samples/",
        {
            "project": project.pk,
            "donor": donor.json()["id"],
            "biofluid": "blood_plasma",
            "volume_ml": "4.000",
            "collected_at": "2026-01-05T08:00:00Z",
            "tube_type": "BD Vacutainer K2EDTA 10 mL",
            "anticoagulant": "k2_edta",
            "needle_gauge": 21,
            "discard_tube": True,
            "fasting": True,
            "processing_delay_min": 45,
            "processing_temperature_c": "20.0",
            "prep_spin_g": 2500,
            "prep_spin_min": 15,
            "prep_spin_count": 2,
            "prep_spin_temperature_c": "20.0",
            "prep_spin_brake": "off",
            "hemolysis_a414": "0.150",
            "residual_platelets_per_ul": 4000,
            "storage_temperature_c": "-80.0",
            "aliquot_volumes_ul": ["1000.0"],
            "reason": "Received from the clinic",
        },
        format="json",
    )
    assert sample.status_code == 201, sample.json()
    aliquot = sample.json()["aliquots"]["items"][0]
    thawed = staff_api.post(f"{API}/aliquots/{aliquot['id']}/thaw/", {"note": "for isolation"}, format="json")
    assert thawed.status_code == 200, thawed.json()

    version = staff_api.post(f"{API}/protocol-versions/", {"lab": lab.pk, "source_text": PROTOCOL}, format="json")
    assert version.status_code == 201, version.json()
    approved = qa_api.post(f"{API}/protocol-versions/{version.json()['id']}/approve/", {"reason": "ok"}, format="json")
    assert approved.status_code == 200, approved.json()
    plan = {
        "project": project.pk,
        "protocol_version": version.json()["id"],
        "inputs": [{"aliquot": aliquot["barcode"], "volume_ul": "1000.0"}],
    }
    run = staff_api.post(f"{API}/runs/", plan, format="json").json()
    path = f"{API}/runs/{run['id']}"
    assert staff_api.post(f"{path}/start/", {}, format="json").status_code == 200
    for number, observed in enumerate(STEPS, start=1):
        step = staff_api.post(f"{path}/steps/", {"number": number, "observed": observed}, format="json")
        assert step.status_code == 200, step.json()
    prep = run["preparations"][0]
    output = {
        "preparation": prep["id"],
        "final_volume_ul": "100.0",
        "buffer": "PBS",
        "storage_container": "0.5 mL low-binding tube",
        "storage_temperature_c": "-80.0",
        "storage": "F1 / R2 / Box 7",
    }
    done = staff_api.post(f"{path}/complete/", {"outputs": [output]}, format="json")
    assert done.status_code == 200, done.json()

    results = [
        {
            "kind": "particle",
            "method": "nta",
            "particle": {
                "technique": "nta",
                "concentration_per_ml": 4.1e10,
                "size_mode_nm": 92,
                "settings": {"camera_level": 14, "detection_threshold": 5, "videos": 5, "frames": 750},
                "calibration": "100 nm polystyrene beads",
            },
        },
        {"kind": "protein", "method": "bca", "protein": {"assay": "bca", "concentration_ug_per_ml": 310}},
        *[marker(symbol, detected) for symbol, detected in MARKERS],
        {"kind": "imaging", "method": "tem", "imaging": {"technique": "tem", "wide_field": True}},
        {"kind": "imaging", "method": "tem", "imaging": {"technique": "tem", "close_up": True}},
    ]
    for result in results:
        result["preparation"] = prep["barcode"]
    posted = staff_api.post(f"{API}/results/", {"lab": lab.pk, "results": results}, format="json")
    assert posted.status_code in (200, 201), posted.json()

    current = staff_api.get(f"{API}/preparations/{prep['id']}/").json()
    edit = {
        "storage_freeze_thaw_cycles": 0,
        "storage_duration_days": "3.0",
        "claimed_subtype": "small_ev",
        "reason": "Storage and naming written up",
        "version": current["version"],
    }
    edited = staff_api.patch(f"{API}/preparations/{prep['id']}/", edit, format="json")
    assert edited.status_code == 200, edited.json()
    return prep["id"]


def _mandatory_failures(report, key):
    """Mandatory rules (and applicable conditional ones) that did not pass, whatever the reason."""
    ruleset = report.rulesets[key]
    return sorted(
        v.rule_id for v in ruleset.verdicts if v.level in MANDATORY_LEVELS and v.status in ("fail", "insufficient_data")
    )


def test_a_complete_experiment_meets_every_mandatory_rule(staff_api, recorded):
    document = staff_api.get(f"{API}/preparations/{recorded}/experiment/").json()
    assert document == experiment_documents(preparations_with_evidence([recorded]))[recorded]
    assert document["sample"]["donor"] == {"age_band": "40-49", "sex": "female"}
    assert document["sample"]["freeze_thaw_cycles"] == 1
    assert (
        document["sample"]["centrifugation_spins"]
        == [{"g_force": 2500, "duration_min": 15, "temperature_c": 20.0, "brake": False}] * 2
    )
    assert document["prep_storage"] == {
        "temperature_c": -80.0,
        "duration_days": 3.0,
        "container": "0.5 mL low-binding tube",
        "buffer": "PBS",
        "freeze_thaw_cycles": 0,
    }
    report = evaluate(document)
    assert _mandatory_failures(report, "misev2018") == []
    assert _mandatory_failures(report, "misev2023") == []
    assert report.ev_metric.score_pct == 100

    # The stored evaluation (what the refresh after each commit writes) reads the same document.
    evaluate_preparations([recorded], force=True)
    compliance = staff_api.get(f"{API}/preparations/{recorded}/compliance/").json()
    assert compliance["mandatory_failed"] == 0 and compliance["ev_metric_pct"] == 100


@pytest.mark.parametrize(
    ("remove", "failing"),
    [
        (("prep_storage", "container"), {"misev2023": ["M23.STORAGE.PREP"]}),
        (("prep_storage", "temperature_c"), {"misev2018": ["M18.COLL.STORAGE"], "misev2023": ["M23.STORAGE.PREP"]}),
        (("sample", "donor"), {"misev2018": ["M18.COLL.BIOFLUID"], "misev2023": ["M23.SOURCE.PREANALYTICS"]}),
        (("sample", "storage_duration_days"), {"misev2023": ["M23.SOURCE.PREANALYTICS"]}),
    ],
)
def test_taking_one_item_away_fails_exactly_the_rules_that_need_it(staff_api, recorded, remove, failing):
    document = staff_api.get(f"{API}/preparations/{recorded}/experiment/").json()
    section, key = remove
    reduced = copy.deepcopy(document)
    del reduced[section][key]
    report = evaluate(reduced)
    for name in ("misev2018", "misev2023"):
        assert _mandatory_failures(report, name) == failing.get(name, [])
    assert report.ev_metric.score_pct == 100
