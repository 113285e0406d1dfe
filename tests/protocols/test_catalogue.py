"""The method catalogue in the lab's words, typed text as document values and back, and the loader's refusals
reworded at their step and field. Django-free, like the library."""

import json

import pytest

from protocols import list_methods, method_schema, validate_protocol
from protocols.catalogue import method_catalogue, parameter_entry, parameter_text, parameter_value
from protocols.errors import ProtocolValidationError
from protocols.messages import placed_errors

CODE_LIKE = ("_", "degC", " x g")


def test_catalogue_is_json_with_every_method_in_order():
    catalogue = method_catalogue()
    json.dumps(catalogue)
    assert [method["code"] for method in catalogue] == list_methods()
    assert catalogue[3]["label"] == "Size-exclusion chromatography"


@pytest.mark.parametrize("method", list_methods())
def test_every_parameter_has_a_label_in_words_and_every_value_a_label(method):
    schema = method_schema(method)
    for name, spec in schema["properties"].items():
        assert spec.get("title"), (method, name)
        assert not any(code in spec["title"] for code in CODE_LIKE), (method, name)
        if "enum" in spec:
            assert set(spec["x-enum-labels"]) == set(spec["enum"]), (method, name)


def test_parameters_carry_unit_kind_required_and_choices():
    sec = {p["name"]: p for p in method_catalogue()[3]["parameters"]}
    assert sec["bed_volume_ml"]["field_label"] == "Bed volume (mL)" and sec["bed_volume_ml"]["kind"] == "number"
    assert sec["fractions_pooled"]["kind"] == "integer_list"
    assert sec["mode"]["choices"][0] == {"value": "gravity", "label": "Gravity flow"}
    spin = parameter_entry("differential_centrifugation", "g_force")
    assert spin["field_label"] == "Speed (× g)" and spin["required"] and spin["tolerance"]
    rotor = parameter_entry("ultracentrifugation", "rotor")
    assert {"value": "type-70-ti", "label": "Type 70 Ti (Beckman Coulter)"} in rotor["choices"]
    assert method_catalogue()[-1]["free_parameters"] is True


def test_the_catalogue_is_a_fresh_copy():
    method_catalogue()[0]["parameters"].clear()
    assert method_catalogue()[0]["parameters"]


@pytest.mark.parametrize(
    ("method", "name", "text", "value"),
    [
        ("differential_centrifugation", "g_force", "2500", 2500),
        ("differential_centrifugation", "g_force", "2,500 x g", "2,500 x g"),
        ("differential_centrifugation", "g_force", "0.5", 0.5),
        ("differential_centrifugation", "brake", "yes", True),
        ("sec", "fractions_collected", "20", 20),
        ("sec", "fractions_collected", "many", "many"),
        ("sec", "fractions_pooled", "7, 8, 9", [7, 8, 9]),
        ("density_gradient", "fraction_density_g_ml", "1.08 g/mL, 1.12 g/mL", ["1.08 g/mL", "1.12 g/mL"]),
        ("density_gradient", "fraction_density_g_ml", "1,10", "1,10"),
        ("immunoaffinity", "target_antigens", "CD9, CD63", ["CD9", "CD63"]),
        (
            "immunoaffinity",
            "antibodies",
            "target: CD9, clone: HI9a, dilution: 1:100\ntarget: CD63",
            [{"target": "CD9", "clone": "HI9a", "dilution": "1:100"}, {"target": "CD63"}],
        ),
        ("precipitation", "resuspension_buffer", "PBS, 1 mM EDTA", "PBS, 1 mM EDTA"),
    ],
)
def test_typed_text_becomes_the_document_value_and_reads_back(method, name, text, value):
    param = parameter_entry(method, name)
    assert parameter_value(param, text) == value
    assert parameter_value(param, parameter_text(param, value)) == value


def _errors(step: dict) -> list[dict]:
    document = {
        "schema_version": 1,
        "slug": "x",
        "version": "1.0.0",
        "title": "X",
        "status": "draft",
        "citations": [{"text": "x", "verified": False}],
        "description": "x",
        "steps": [{"method": "filtration", "params": {"pore_size_um": 0.22}}, step],
    }
    with pytest.raises(ProtocolValidationError) as refused:
        validate_protocol(document)
    return placed_errors(refused.value.errors)


@pytest.mark.parametrize(
    ("step", "parameter", "text"),
    [
        (
            {"method": "sec", "params": {"resin": "CL-2B", "bed_volume_ml": "ten"}},
            "bed_volume_ml",
            "Step 2, Bed volume: “ten” is not a number; enter a number in mL",
        ),
        (
            {
                "method": "differential_centrifugation",
                "params": {"g_force": "fast", "duration_min": 5, "fraction_kept": "pellet"},
            },
            "g_force",
            "Step 2, Speed: “fast” is not a centrifugal force; enter a number in × g",
        ),
        (
            {"method": "differential_centrifugation", "params": {"g_force": 500, "duration_min": 5}},
            "fraction_kept",
            "Step 2, Fraction kept: required: choose one",
        ),
        (
            {"method": "sec", "params": {"buffer": "PBS"}},
            "resin",
            "Step 2, Resin: give at least one of Resin or Column",
        ),
        (
            {"method": "ultrafiltration", "params": {"mode": "centrifugal", "mwco_kda": 10, "flow_rate_ml_min": 1}},
            "flow_rate_ml_min",
            "Step 2, Flow rate: only applies when Mode is Tangential flow filtration",
        ),
        (
            {"method": "sec", "params": {"resin": "CL-2B", "fractions_collected": 10, "fractions_pooled": [12]}},
            "fractions_pooled",
            "Step 2, Fractions pooled: fraction(s) 12 out of range 1..10 (Fractions collected)",
        ),
        (
            {"method": "sec", "params": {"column": "qEV", "mode": "pump"}},
            "mode",
            "Step 2, Mode: choose one of Gravity flow, FPLC, Automated fraction collector",
        ),
    ],
)
def test_refusals_are_placed_at_step_and_parameter_in_words(step, parameter, text):
    rows = _errors(step)
    assert [(row["step"], row["parameter"], row["text"]) for row in rows] == [(2, parameter, text)]


def test_a_parameter_given_unreadable_is_not_also_called_missing():
    rows = _errors({"method": "filtration", "params": {"pore_size_um": "small"}})
    assert [row["text"] for row in rows] == ["Step 2, Pore size: “small” is not a number; enter a number in µm"]


def test_tolerances_and_document_fields_are_placed_in_words():
    rows = _errors(
        {"method": "filtration", "params": {"pore_size_um": 0.22}, "tolerances": {"pore_size_um": {"rel": -1}}}
    )
    assert [row["text"] for row in rows] == ["Step 2, Pore size tolerance (± %): must not be negative, got -1"]
    document = {
        "schema_version": 1,
        "slug": "Bad Slug",
        "version": "1",
        "title": "",
        "status": "draft",
        "citations": [{"text": "x", "doi": "doi:10.1/x", "verified": False}],
        "description": "x",
        "steps": [{"method": "filtration", "params": {"pore_size_um": 0.22}}],
    }
    with pytest.raises(ProtocolValidationError) as refused:
        validate_protocol(document)
    texts = [row["text"] for row in placed_errors(refused.value.errors)]
    assert "Citation 1, DOI: write the DOI as 10.xxxx/…, without https://doi.org/" in texts
    assert "Identifier: use lower-case letters and digits joined by hyphens, e.g. lab-sec-plasma" in texts
    assert "Version: write a version such as 1.0.0" in texts
    assert "Title: required" in texts
