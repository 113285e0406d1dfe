"""Evidence reads as text in the lab's words: units, words for codes, never a Python or JSON repr."""

import pytest

from evlims.compliance.evaluator import evaluate
from evlims.compliance.wording import MAX_LENGTH, describe, label

SPIN = {"g_force": 2500, "duration_min": 15, "temperature_c": 21, "brake": False}


@pytest.mark.parametrize(
    ("path", "value", "text"),
    [
        ("sample.centrifugation_spins", [SPIN, SPIN], "2 spins at 2,500 × g, 15 min, room temperature, no brake"),
        (
            "sample.centrifugation_spins",
            [SPIN, {"g_force": 10000, "duration_min": 30, "temperature_c": 4}],
            "spin 1: 2,500 × g, 15 min, room temperature, no brake; spin 2: 10,000 × g, 30 min, 4 °C",
        ),
        # Codes read as the forms show them (the models' choice labels); unknown codes are spelt out.
        ("sample.biofluid", "blood_plasma", "Blood plasma"),
        ("sample.anticoagulant", "k2_edta", "K2-EDTA"),
        ("sample.notes", "not_a_known_code", "not a known code"),
        ("sample.pre_clearing_g", 2000, "2,000 × g"),
        ("sample.processing_delay_h", 0.5, "0.5 h"),
        ("sample.fasting", True, "yes"),
        ("characterization.particle_analysis[0].concentration_per_ml", 1.2e10, "1.2 × 10^10 particles/mL"),
        ("characterization.protein_quantification[0].total_protein_ug", 12.5, "12.5 µg"),
        (
            "prep_storage",
            {"buffer": "PBS", "temperature_c": -80, "duration_days": 30, "container": "low_binding_tube"},
            "buffer: PBS; temperature: -80 °C; duration: 30 days; container: low binding tube",
        ),
        ("claims.biogenesis_evidence", "CD63-pHluorin imaging of MVB fusion", "CD63-pHluorin imaging of MVB fusion"),
        ("sample.notes", ["first_code", "second"], "first code, second"),
    ],
)
def test_values_read_as_text(path, value, text):
    assert describe(path, value) == text


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("sample.centrifugation_spins", "Sample › pre-analytical spins"),
        ("characterization.markers[2].lysate", "Characterisation › protein markers 3 › lysate"),
        ("prep_storage.temperature_c", "Storage of the preparation › temperature"),
        ("separation[0].params", "Separation 1 › parameters"),
    ],
)
def test_paths_read_as_labels(path, text):
    assert label(path) == text


def test_no_repr_punctuation_and_bounded_length():
    text = describe("sample.notes", {"a_field": [{"nested": "x" * 500}]})
    assert not any(mark in text for mark in ("{", "}", "[", "]", "'"))
    assert len(text) <= MAX_LENGTH


def test_a_verdict_carries_path_label_and_words():
    document = {
        "id": "P1",
        "sample": {
            "biofluid": "blood_plasma",
            "volume_ml": 1.0,
            "processing_delay_h": 0.5,
            "processing_temperature_c": 21,
            "storage_temperature_c": -80,
            "freeze_thaw_cycles": 0,
            "donor": {"sex": "female"},
            "centrifugation_spins": [SPIN, SPIN],
        },
        "separation": [],
    }
    report = evaluate(document, ["misev2018"])
    items = [
        item
        for verdict in report.rulesets["misev2018"].verdicts
        for item in verdict.evidence_dicts()
        if item["path"] == "sample.centrifugation_spins"
    ]
    assert items, "M18.COLL.BIOFLUID reads the pre-analytical spins"
    assert items[0]["label"] == "Sample › pre-analytical spins"
    assert items[0]["detail"] == "2 spins at 2,500 × g, 15 min, room temperature, no brake"
