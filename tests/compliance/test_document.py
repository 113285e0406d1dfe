"""The portable experiment document: schema validation with JSON paths, and example documents."""

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from evlims.compliance import Experiment, ExperimentDocumentError, parse_document_text, validate_document
from evlims.compliance.document import SCHEMA_PATH, is_reported

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "evlims" / "compliance" / "examples").glob("*.json"))


def base(**overrides):
    document = {"sample": {"biofluid": "blood_plasma"}, "separation": []}
    document.update(overrides)
    return document


def issues(document):
    with pytest.raises(ExperimentDocumentError) as caught:
        validate_document(document)
    return {(issue.path, issue.message) for issue in caught.value.issues}


def test_schema_is_valid_draft_2020_12():
    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_are_valid(path):
    validate_document(json.loads(path.read_text()))


def test_at_least_two_examples_ship():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize(
    ("document", "path", "fragment"),
    [
        (base(sample={"biofluid": "blood"}), "$.sample.biofluid", "'blood' is not one of"),
        (base(sample={"biofluid": "urine", "volume_ml": -1}), "$.sample.volume_ml", "-1"),
        (base(sample={"biofluid": "urine", "anticoagulant": "edta"}), "$.sample.anticoagulant", "'edta'"),
        (base(sample={"biofluid": "urine", "colour": "amber"}), "$.sample", "'colour' was unexpected"),
        (base(separation=[{"method": "sec", "params": {"resn": "CL-2B"}}]), "$.separation[0].params", "'resn'"),
        (
            base(separation=[{"method": "ultracentrifugation", "params": {"g_force": "fast"}}]),
            "$.separation[0].params.g_force",
            "'fast'",
        ),
        (
            base(separation=[{"method": "density_gradient", "params": {"fraction_density_g_ml": 1100}}]),
            "$.separation[0].params.fraction_density_g_ml",
            "1100",
        ),
        (base(separation=[{"method": "spin"}]), "$.separation[0].method", "'spin'"),
        (
            base(characterization={"markers": [{"protein": "CD63", "method": "western_blot"}]}),
            "$.characterization.markers[0]",
            "'detected' is a required property",
        ),
        (
            base(characterization={"imaging": [{"technique": "tem", "wide_field": "yes"}]}),
            "$.characterization.imaging[0].wide_field",
            "'yes'",
        ),
        (base(claims={"subtype": "exosomes"}), "$.claims.subtype", "'exosomes'"),
        ({"sample": {"biofluid": "urine"}}, "$", "'separation' is a required property"),
    ],
)
def test_schema_violation_names_the_json_path(document, path, fragment):
    found = issues(document)
    assert any(issue_path == path and fragment in message for issue_path, message in found), found


def test_every_violation_is_reported_not_just_the_first():
    found = issues(base(sample={"biofluid": "blood", "volume_ml": 0}, claims={"subtype": "x"}))
    assert {path for path, _ in found} >= {"$.sample.biofluid", "$.sample.volume_ml", "$.claims.subtype"}


def test_error_message_joins_paths_and_messages():
    with pytest.raises(ExperimentDocumentError, match=r"\$\.sample\.biofluid: 'blood' is not one of"):
        validate_document(base(sample={"biofluid": "blood"}))


def test_invalid_json_reports_line_and_column():
    with pytest.raises(ExperimentDocumentError, match="invalid JSON at line 2, column 1"):
        parse_document_text('{"sample":\n}')


def test_a_document_must_be_an_object():
    with pytest.raises(ExperimentDocumentError, match="expected a JSON object, got list"):
        Experiment.coerce([1, 2])


def test_experiment_resolves_marker_aliases_and_categories():
    experiment = Experiment(
        base(characterization={"markers": [{"protein": "Alix", "method": "western_blot", "detected": True}]})
    )
    (marker,) = experiment.markers
    assert marker.symbol == "PDCD6IP"
    assert {"2", "2a", "cytosolic"} <= marker.labels
    assert experiment.section("imaging") is None


def test_validation_can_be_skipped_for_trusted_documents():
    trusted = Experiment(base(sample={"biofluid": "urine", "volume_ml": -1}), validate=False)
    assert trusted.lookup(("sample", "volume_ml")) == -1


@pytest.mark.parametrize(
    ("value", "reported"), [(None, False), ("", False), ([], False), ({}, False), (0, True), (False, True), ("x", True)]
)
def test_reported_means_present_and_not_blank(value, reported):
    assert is_reported(value) is reported


def test_a_rejection_is_never_silent_even_if_the_validators_disagree(monkeypatch):
    import evlims.compliance.document as document_module

    class RejectsEverything:
        def is_valid(self, document):
            return False

    monkeypatch.setattr(document_module, "_fast_validator", lambda: RejectsEverything())
    with pytest.raises(ExperimentDocumentError, match=r"\$: the document does not follow"):
        validate_document(base())


METHODS = [
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


def _without_annotations(node):
    if isinstance(node, dict):
        return {
            k: _without_annotations(v)
            for k, v in node.items()
            if not k.startswith("x-") and k not in ("$schema", "$id", "title")
        }
    if isinstance(node, list):
        return [_without_annotations(v) for v in node]
    return node


@pytest.mark.parametrize("method", METHODS)
def test_separation_params_follow_the_protocol_library(method):
    """The document's separation parameters are the protocol library's, so protocol runs export as-is.

    The library's required fields are dropped: a document may report a step partially and the rules
    judge completeness. If this fails after a protocol schema change, copy protocols/schemas/<method>.json
    into $defs/params_<method> of experiment.schema.json without its x- annotations and required list.
    """
    library = json.loads((Path(__file__).resolve().parents[2] / "protocols" / "schemas" / f"{method}.json").read_text())
    expected = _without_annotations(library)
    expected.pop("required", None)
    expected.setdefault("type", "object")
    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema["$defs"][f"params_{method}"] == expected


def test_rcf_basis_uses_the_protocol_library_codes():
    document = base(separation=[{"method": "ultracentrifugation", "params": {"g_force": 1e5, "rcf_basis": "max"}}])
    validate_document(document)
    assert any(
        path == "$.separation[0].params.rcf_basis"
        for path, _ in issues(base(separation=[{"method": "ultracentrifugation", "params": {"rcf_basis": "maximum"}}]))
    )
