"""The OpenAPI schema documents every answer the server gives: the error answers of each operation with their
bodies, the blank choices answers carry, the bounds of ids and of lists. The documented answers are then
provoked for real and checked against the schema (status code, content type, headers and body)."""

from functools import cache
from unittest import mock

import pytest
import yaml
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError
from django.test import override_settings
from schemathesis.checks import not_a_server_error

from evlims.core.ids import MAX_ID
from evlims.instruments.services import MAX_RESULTS_PER_POST
from tests.api.evidence import particle
from tests.api.openapi import ANONYMOUS, CHECKS, key_credentials, load_schema, session_credentials
from tests.factories import DonorFactory

pytestmark = pytest.mark.django_db
METHODS = {"get", "post", "put", "patch", "delete"}
ERROR_COMPONENTS = {"Error", "ValidationError", "StaleVersion"}


@pytest.fixture(scope="module")
def schema(tmp_path_factory, django_db_blocker):
    target = tmp_path_factory.mktemp("schema") / "schema.yaml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    return yaml.safe_load(target.read_text())


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def request_properties(schema, operation) -> set:
    for media in operation.get("requestBody", {}).get("content", {}).values():
        name = media["schema"]["$ref"].rsplit("/", 1)[1]
        return set(schema["components"]["schemas"][name].get("properties", {}))
    return set()


def expected_errors(schema, path, method, operation) -> set[str]:
    """What the server answers besides success, derived from the operation as the schema describes it."""
    listing = method == "get" and "{" not in path
    codes = {"401", "403", "503"}
    if method != "get" or listing:
        codes.add("400")  # invalid input; on lists, a bad filter value or cursor
    if "{" in path or listing:
        codes.add("404")  # a record not in your labs; on lists, a page past the end
    if method == "patch" and {"reason", "version"} <= request_properties(schema, operation):
        codes.add("409")  # an edit based on a stale version
    if {"instrumentKey": []} in operation.get("security", []):
        codes.add("429")  # instrument keys are throttled
    return codes


def ref_name(media) -> str:
    return media["schema"]["$ref"].rsplit("/", 1)[1]


def test_every_operation_documents_its_error_answers(schema):
    missing = {}
    for path, method, operation in operations(schema):
        absent = expected_errors(schema, path, method, operation) - set(operation["responses"])
        if absent:
            missing[f"{method.upper()} {path}"] = sorted(absent)
    assert not missing, f"Operations without the documentation of error answers they give: {missing}"


def test_every_error_answer_has_a_json_body_of_the_error_shapes(schema):
    seen = set()
    for path, method, operation in operations(schema):
        for code, response in operation["responses"].items():
            if not code.startswith(("4", "5")):
                continue
            content = response.get("content")
            assert content and "application/json" in content, (method, path, code)
            if path == "/api/v1/files/" and code == "400":
                assert ref_name(content["application/json"]) == "FailedUpload"  # the kept file's ids too
                continue
            if (method, path, code) == ("post", "/api/v1/flow/acquisitions/", "400"):
                assert ref_name(content["application/json"]) == "FailedAcquisition"  # the kept FCS file's id too
                continue
            component = ref_name(content["application/json"])
            seen.add((code, component))
            assert component in ERROR_COMPONENTS, (method, path, code)
            if code in {"429", "503"}:
                assert "Retry-After" in response["headers"], (method, path, code)
    assert {("400", "ValidationError"), ("404", "Error"), ("409", "StaleVersion"), ("403", "Error")} <= seen


def test_error_bodies_have_the_shapes_of_the_exception_handler(schema):
    components = schema["components"]["schemas"]
    assert components["Error"]["required"] == ["detail"]
    assert components["StaleVersion"]["required"] == ["detail", "current_version"]
    assert components["StaleVersion"]["properties"]["current_version"]["type"] == "integer"
    validation = components["ValidationError"]
    assert validation["properties"]["non_field_errors"] == {"type": "array", "items": {"type": "string"}}
    assert validation["additionalProperties"] == {"$ref": "#/components/schemas/FieldErrors"}


def accepted_values(components, prop) -> set:
    """Every enum value a property's schema accepts, through $ref, oneOf, anyOf and allOf."""
    values = set(prop.get("enum", []))
    if "$ref" in prop:
        values |= accepted_values(components, components[prop["$ref"].rsplit("/", 1)[1]])
    for key in ("oneOf", "anyOf", "allOf"):
        for option in prop.get(key, []):
            values |= accepted_values(components, option)
    return values


def blank_choice_fields():
    """Model fields with choices that may be left blank: the API answers "" for them."""
    return [
        field
        for model in apps.get_app_config("evlims").get_models()
        if not model.__name__.startswith("Historical")
        for field in model._meta.get_fields()
        if getattr(field, "choices", None) and getattr(field, "blank", False)
    ]


def test_blank_choices_are_among_the_values_of_answers(schema):
    components = schema["components"]["schemas"]
    fields = blank_choice_fields()
    assert {f"{field.model.__name__}.{field.name}" for field in fields} >= {
        "Donor.age_band",
        "Sample.anticoagulant",
        "EVPreparation.claimed_subtype",
    }
    for field in fields:
        choices = {value for value, _ in field.flatchoices}
        answers = [
            (name, component["properties"][field.name])
            for name, component in components.items()
            if not name.endswith("Request") and field.name in component.get("properties", {})
        ]
        same_choices = [
            (name, prop) for name, prop in answers if accepted_values(components, prop) - {""} == choices - {""}
        ]
        assert same_choices, f"{field.model.__name__}.{field.name} is in no answer"
        for name, prop in same_choices:
            assert "" in accepted_values(components, prop), f"{name}.{field.name} answers '' but does not list it"


def test_ids_in_filters_and_paths_are_bounded_as_the_server_reads_them(schema):
    bounded = 0
    for path, method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            is_id = parameter["in"] == "path" or (
                parameter["in"] == "query" and parameter["schema"].get("format") == "int64"
            )
            chosen = "enum" in parameter["schema"]  # an integer choice (e.g. 96 or 384 wells), not an id
            paging = parameter["name"] in {"page", "page_size"}
            if parameter["schema"].get("type") == "integer" and not paging and not chosen:
                assert is_id, (method, path, parameter["name"])
                assert parameter["schema"]["minimum"] == 1, (method, path, parameter["name"])
                assert parameter["schema"]["maximum"] == MAX_ID == 2**63 - 1, (method, path, parameter["name"])
                bounded += 1
    samples = schema["paths"]["/api/v1/samples/"]["get"]["parameters"]
    assert {p["name"] for p in samples if p["schema"].get("maximum") == MAX_ID} == {"lab", "project", "donor"}
    assert bounded > 60


def test_lists_in_request_bodies_carry_the_bounds_the_server_enforces(schema):
    components = schema["components"]["schemas"]
    results = components["ResultsPostSchemaRequest"]["properties"]["results"]
    assert (results["minItems"], results["maxItems"]) == (1, MAX_RESULTS_PER_POST)
    inputs = components["RunPlanInputRequest"]["properties"]["inputs"]
    assert (inputs["minItems"], inputs["maxItems"]) == (1, 96)


# ---------------------------------------------------------------- the answers themselves


@cache
def api():
    return load_schema()


def answer(path, method, credentials, status, **request):
    """Send one request through the schema's operation; the answer must have ``status`` and conform."""
    case = api()[path][method].Case(**request)
    response = case.call(**credentials)
    assert response.status_code == status, response.text
    # A provoked outage is a 5xx on purpose: the other checks still apply to it.
    checks = [check for check in CHECKS if status < 500 or check is not not_a_server_error]
    case.validate_response(response, checks=checks, headers=credentials["headers"])
    return response.json() if response.content else None


def test_an_empty_results_list_is_refused_as_documented(evidence):
    body = answer(
        "/api/v1/results/",
        "POST",
        key_credentials(evidence.write_key),
        400,
        body={"results": []},
        media_type="application/json",
    )
    assert body == {"results": [f"Send a list of 1–{MAX_RESULTS_PER_POST} results."]}


def test_nested_field_errors_conform(staff, ours, evidence):
    inputs = [{"aliquot": ours.aliquots[0].pk, "volume_ul": "10.0", "colour": "red"}]
    body = answer(
        "/api/v1/runs/",
        "POST",
        session_credentials(staff),
        400,
        body={"project": ours.project.pk, "protocol_version": evidence.version.pk, "inputs": inputs},
        media_type="application/json",
    )
    assert list(body["inputs"][0]) == ["colour"]
    body = answer(
        "/api/v1/results/",
        "POST",
        key_credentials(evidence.write_key),
        400,
        body={"results": [particle(evidence.preparation.barcode, technique="spr")]},
        media_type="application/json",
    )
    assert list(body) == ["results[0].particle.technique"]


def test_filters_out_of_the_id_range_are_refused_as_documented(staff, ours):
    for value in (0, MAX_ID + 1):
        body = answer("/api/v1/samples/", "GET", session_credentials(staff), 400, query={"project": value})
        assert list(body) == ["project"]
    assert answer("/api/v1/samples/", "GET", session_credentials(staff), 200, query={"project": MAX_ID})["count"] == 0


def test_a_refused_search_names_the_parameter(staff, ours):
    body = answer("/api/v1/samples/", "GET", session_credentials(staff), 400, query={"search": "EVS\x00"})
    assert body == {"search": ["Null characters are not allowed."]}


def test_refusals_of_access_conform(qa_manager, ours):
    body = answer("/api/v1/samples/{id}/", "GET", ANONYMOUS, 403, path_parameters={"id": ours.sample.pk})
    assert body == {"detail": "Authentication credentials were not provided."}
    answer(
        "/api/v1/aliquots/{id}/thaw/",
        "POST",
        session_credentials(qa_manager),
        403,
        path_parameters={"id": ours.aliquots[0].pk},
        body={},
        media_type="application/json",
    )


def test_missing_records_and_pages_conform(staff, ours, theirs):
    for record in (theirs.sample.pk, MAX_ID, "abc", -1, "1\n2"):
        body = answer("/api/v1/samples/{id}/", "GET", session_credentials(staff), 404, path_parameters={"id": record})
        assert body == {"detail": "Not found."}
    answer("/api/v1/samples/", "GET", session_credentials(staff), 404, query={"page": 99})


def test_a_stale_edit_answers_409_with_the_current_version(staff, ours):
    body = answer(
        "/api/v1/donors/{id}/",
        "PATCH",
        session_credentials(staff),
        409,
        path_parameters={"id": ours.donor.pk},
        body={"diagnosis": "healthy", "reason": "typo", "version": ours.donor.version + 5},
        media_type="application/json",
    )
    assert body["current_version"] == ours.donor.version


def test_a_throttled_key_is_told_when_to_retry(evidence):
    rates = {"DEFAULT_THROTTLE_RATES": {"instrument_key": "1/min"}}
    with override_settings(REST_FRAMEWORK=settings.REST_FRAMEWORK | rates):
        answer("/api/v1/measurements/", "GET", key_credentials(evidence.read_key), 200)
        answer("/api/v1/measurements/", "GET", key_credentials(evidence.read_key), 429)


def test_a_database_outage_answers_503(staff, ours):
    with mock.patch("evlims.api.samples.SampleDetailApi.get_object", side_effect=OperationalError("gone")):
        body = answer("/api/v1/samples/{id}/", "GET", session_credentials(staff), 503, path_parameters={"id": 1})
    assert "Nothing was written" in body["detail"]


def test_blank_choices_in_answers_conform(staff, lab, ours, evidence):
    donor = DonorFactory(lab=lab, project=ours.project, age_band="")
    as_staff = session_credentials(staff)
    assert answer("/api/v1/donors/{id}/", "GET", as_staff, 200, path_parameters={"id": donor.pk})["age_band"] == ""
    sample = answer("/api/v1/samples/{id}/", "GET", as_staff, 200, path_parameters={"id": ours.sample.pk})
    assert "" in {sample["prep_spin_brake"], sample["urine_collection"]}
    path = {"id": evidence.preparation.pk}
    preparation = answer("/api/v1/preparations/{id}/", "GET", as_staff, 200, path_parameters=path)
    assert "" in {preparation["claimed_subtype"], preparation["functional_cargo"]}
