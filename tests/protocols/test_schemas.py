import json
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from protocols import UnknownMethodError, list_methods, method_schema
from protocols.units import CANONICAL_UNITS

EXPECTED_METHODS = [
    "differential_centrifugation",
    "ultracentrifugation",
    "density_gradient",
    "sec",
    "precipitation",
    "filtration",
    "ultrafiltration",
    "immunoaffinity",
    "kit",
    "other",
]
CANONICAL_NAMES = {
    "ultracentrifugation": {
        "g_force",
        "rcf_basis",
        "speed_rpm",
        "duration_min",
        "temperature_c",
        "rotor",
        "k_factor",
        "brake",
        "tube",
        "fraction_kept",
        "washes",
        "resuspension_buffer",
        "resuspension_volume_ul",
    },
    "density_gradient": {
        "medium",
        "gradient_type",
        "steps_percent",
        "loading",
        "g_force",
        "rcf_basis",
        "duration_min",
        "temperature_c",
        "rotor",
        "k_factor",
        "fractions_collected",
        "fraction_volume_ml",
        "ev_fractions",
        "fraction_density_g_ml",
        "density_measurement",
    },
    "sec": {
        "resin",
        "column",
        "column_lot",
        "bed_volume_ml",
        "column_height_cm",
        "column_diameter_cm",
        "sample_volume_ml",
        "buffer",
        "fraction_volume_ml",
        "fractions_collected",
        "fractions_pooled",
        "void_volume_ml",
        "mode",
    },
    "precipitation": {
        "reagent",
        "peg_mw_da",
        "peg_percent",
        "kit_name",
        "kit_lot",
        "sample_to_reagent_ratio",
        "incubation_time_min",
        "incubation_temperature_c",
        "g_force",
        "duration_min",
        "resuspension_buffer",
    },
    "filtration": {"pore_size_um", "membrane", "device"},
    "ultrafiltration": {
        "mode",
        "mwco_kda",
        "device",
        "membrane",
        "g_force",
        "duration_min",
        "transmembrane_pressure_psi",
        "flow_rate_ml_min",
        "concentration_factor",
    },
    "immunoaffinity": {
        "target_antigens",
        "antibodies",
        "support",
        "incubation_time_min",
        "incubation_temperature_c",
        "elution",
    },
    "kit": {"kit_name", "manufacturer", "catalogue", "kit_lot"},
}


def test_methods_are_listed_in_order():
    assert list_methods() == EXPECTED_METHODS


@pytest.mark.parametrize("method", EXPECTED_METHODS)
def test_schema_is_valid_draft_2020_12_with_units_and_citations(method):
    schema = method_schema(method)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for name, spec in schema["properties"].items():
        assert "x-unit" in spec and "x-required-by" in spec, name
        assert spec["x-unit"] is None or spec["x-unit"] in CANONICAL_UNITS, name
        assert set(spec["x-required-by"]) <= set(schema["x-citations"]), name
        assert spec.get("x-compare", "exact") in ("numeric", "exact", "none"), name


@pytest.mark.parametrize("method", sorted(CANONICAL_NAMES))
def test_canonical_parameter_names_are_present(method):
    assert CANONICAL_NAMES[method] <= set(method_schema(method)["properties"])


def test_differential_and_ultracentrifugation_share_parameters():
    assert (
        method_schema("differential_centrifugation")["properties"] == method_schema("ultracentrifugation")["properties"]
    )


def test_method_schema_returns_an_independent_copy():
    method_schema("sec")["properties"].clear()
    assert method_schema("sec")["properties"]


def test_unknown_method_schema_is_refused():
    with pytest.raises(UnknownMethodError, match="unknown method 'spin'"):
        method_schema("spin")


def test_schema_files_are_exactly_the_methods_and_the_document_schema():
    directory = Path(__file__).resolve().parents[2] / "protocols" / "schemas"
    names = {p.stem for p in directory.glob("*.json")}
    assert names == set(EXPECTED_METHODS) | {"protocol-document"}
    for path in directory.glob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))


def test_importing_protocols_does_not_import_django():
    code = "import sys, protocols, protocols.lock; print('django' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.stdout.strip() == "False"


def test_documentation_lists_every_method_parameter():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "protocols.md").read_text(encoding="utf-8")
    for method in EXPECTED_METHODS:
        assert f"### `{method}`" in docs, method
        for name in method_schema(method)["properties"]:
            assert f"| `{name}` |" in docs, (method, name)
