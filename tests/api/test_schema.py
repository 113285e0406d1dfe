"""The OpenAPI document is valid and complete; its reference pages load nothing from the internet."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command

pytestmark = pytest.mark.django_db

EXPECTED_OPERATIONS = {
    ("/api/v1/projects/", "get"),
    ("/api/v1/projects/{id}/", "get"),
    ("/api/v1/donors/", "get"),
    ("/api/v1/donors/", "post"),
    ("/api/v1/donors/{id}/", "get"),
    ("/api/v1/donors/{id}/", "patch"),
    ("/api/v1/samples/", "get"),
    ("/api/v1/samples/", "post"),
    ("/api/v1/samples/{id}/", "get"),
    ("/api/v1/samples/{id}/", "patch"),
    ("/api/v1/samples/{id}/aliquots/", "post"),
    ("/api/v1/aliquots/", "get"),
    ("/api/v1/aliquots/{id}/", "get"),
    ("/api/v1/storage-units/", "get"),
    ("/api/v1/storage-units/", "post"),
    ("/api/v1/storage-units/{id}/", "get"),
    ("/api/v1/storage-units/{id}/grid/", "get"),
    ("/api/v1/custody-events/", "get"),
    ("/api/v1/custody-events/{id}/", "get"),
} | {
    (f"/api/v1/aliquots/{{id}}/{action}/", "post") for action in ("split", "move", "thaw", "consume", "ship", "dispose")
}
INSTRUMENT_AND_EVIDENCE_OPERATIONS = {
    ("/api/v1/instruments/", "get"),
    ("/api/v1/instruments/", "post"),
    ("/api/v1/instruments/{id}/", "get"),
    ("/api/v1/instruments/{id}/keys/", "post"),
    ("/api/v1/instruments/{id}/keys/{key_pk}/revoke/", "post"),
    ("/api/v1/results/", "post"),
    ("/api/v1/files/", "post"),
    ("/api/v1/ingestions/", "get"),
    ("/api/v1/ingestions/{id}/", "get"),
    ("/api/v1/ingestions/{id}/commit/", "post"),
    ("/api/v1/measurements/", "get"),
    ("/api/v1/measurements/{id}/", "get"),
    ("/api/v1/raw-files/{id}/download/", "get"),
    ("/api/v1/protocols/", "get"),
    ("/api/v1/protocols/{id}/", "get"),
    ("/api/v1/protocol-versions/", "get"),
    ("/api/v1/protocol-versions/", "post"),
    ("/api/v1/protocol-versions/{id}/", "get"),
    ("/api/v1/protocol-versions/{id}/approve/", "post"),
    ("/api/v1/protocol-versions/{id}/retire/", "post"),
    ("/api/v1/runs/", "get"),
    ("/api/v1/runs/", "post"),
    ("/api/v1/runs/{id}/", "get"),
    ("/api/v1/preparations/", "get"),
    ("/api/v1/preparations/{id}/", "get"),
    ("/api/v1/preparations/{id}/compliance/", "get"),
    ("/api/v1/preparations/{id}/metrics/", "get"),
    ("/api/v1/preparations/{id}/experiment/", "get"),
    ("/api/v1/reviews/", "get"),
    ("/api/v1/reviews/", "post"),
    ("/api/v1/reviews/{id}/", "get"),
} | {(f"/api/v1/runs/{{id}}/{action}/", "post") for action in ("start", "steps", "complete", "abort")}


@pytest.fixture(scope="module")
def schema(tmp_path_factory, django_db_blocker):
    target = tmp_path_factory.mktemp("schema") / "schema.yaml"
    with django_db_blocker.unblock():
        # Raises on any warning or on a document that fails OpenAPI 3 validation.
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    return yaml.safe_load(target.read_text())


def _operations(schema):
    return {
        (path, method)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_schema_covers_every_endpoint(schema):
    assert schema["openapi"].startswith("3.")
    assert EXPECTED_OPERATIONS <= _operations(schema)
    assert INSTRUMENT_AND_EVIDENCE_OPERATIONS <= _operations(schema)


def test_lists_are_paginated_and_document_their_filters(schema):
    samples = schema["paths"]["/api/v1/samples/"]["get"]
    names = {parameter["name"] for parameter in samples["parameters"]}
    assert {"page", "page_size", "ordering", "search", "biofluid", "project", "donor"} <= names
    assert {"collected_at_after", "collected_at_before"} <= names
    ordering = next(p for p in samples["parameters"] if p["name"] == "ordering")
    assert "collected_at" in ordering["description"]
    response = samples["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = schema["components"]["schemas"][response.rsplit("/", 1)[1]]
    assert {"count", "next", "previous", "results"} <= set(page["properties"])


def test_write_endpoints_carry_examples(schema):
    for path, method in [
        ("/api/v1/samples/", "post"),
        ("/api/v1/samples/{id}/", "patch"),
        ("/api/v1/donors/", "post"),
        ("/api/v1/donors/{id}/", "patch"),
        ("/api/v1/storage-units/", "post"),
        ("/api/v1/aliquots/{id}/split/", "post"),
        ("/api/v1/aliquots/{id}/move/", "post"),
        ("/api/v1/aliquots/{id}/ship/", "post"),
    ]:
        content = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
        assert content.get("examples"), (path, method)


def test_both_authentication_schemes_are_documented(schema):
    assert {"basicAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_new_writes_carry_request_and_response_examples(schema):
    for path, method in sorted(op for op in INSTRUMENT_AND_EVIDENCE_OPERATIONS if op[1] == "post"):
        operation = schema["paths"][path][method]
        if path.endswith("/start/"):
            assert "requestBody" not in operation  # starting a run takes no body
            continue
        content = operation["requestBody"]["content"]
        assert any(media.get("examples") for media in content.values()), (path, method)
    for path in ("/api/v1/results/", "/api/v1/files/", "/api/v1/instruments/"):
        responses = schema["paths"][path]["post"]["responses"]
        assert responses["201"]["content"]["application/json"].get("examples"), path


def test_instrument_keys_are_documented_only_where_accepted(schema):
    assert schema["components"]["securitySchemes"]["instrumentKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schema["components"]["securitySchemes"]["instrumentKey"]["description"],
    }

    def accepts_key(path, method):
        return {"instrumentKey": []} in schema["paths"][path][method].get("security", [])

    assert accepts_key("/api/v1/results/", "post") and accepts_key("/api/v1/files/", "post")
    assert accepts_key("/api/v1/measurements/", "get") and accepts_key("/api/v1/ingestions/{id}/commit/", "post")
    assert not accepts_key("/api/v1/samples/", "get") and not accepts_key("/api/v1/runs/", "post")
    assert not accepts_key("/api/v1/instruments/", "post")


def test_nta_example_has_the_parse_shape(schema):
    """The documented instrument post carries a particle part shaped like `evlims_parse --json` samples."""
    from evlims.instruments.parsers.results import Capture, Histogram, ParticleSample

    examples = schema["paths"]["/api/v1/results/"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    nta = next(example["value"] for example in examples.values() if "NTA" in example["summary"])
    part = nta["results"][0]["particle"]
    parse_keys = set(ParticleSample("x", None, False, None, None, [], Histogram()).to_dict())
    assert parse_keys <= set(part) and set(part) - parse_keys == {
        "technique",
        "size_mean_nm",
        "size_mode_nm",
        "size_sd_nm",
        "d10_nm",
        "d50_nm",
        "d90_nm",
    }
    assert set(part["captures"][0]) == set(Capture("x", None).to_dict())


@pytest.mark.parametrize("url", ["/api/schema/", "/api/v1/schema/"])
def test_schema_is_served(client, url):
    response = client.get(url, HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert ("/api/v1/samples/", "post") in _operations(response.json())


@pytest.mark.parametrize(
    ("url", "schema_url"),
    [
        ("/api/v1/schema/swagger/", "/api/v1/schema/"),
        ("/api/v1/schema/redoc/", "/api/v1/schema/"),
        ("/api/schema/swagger/", "/api/schema/"),
    ],
)
def test_reference_pages_use_only_local_static_files(client, url, schema_url):
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert schema_url in page
    references = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)
    assert any(reference.endswith(".js") for reference in references)
    for reference in references:
        assert reference.startswith("/static/drf_spectacular_sidecar/"), reference
        assert finders.find(reference.removeprefix("/static/")), f"{reference} is not a bundled static file"
    assert "https://" not in page and "http://" not in page


def _request_components(schema):
    return {name: component for name, component in schema["components"]["schemas"].items() if name.endswith("Request")}


def test_request_bodies_refuse_what_they_do_not_declare(schema):
    requests = _request_components(schema)
    assert {"SampleCreateInputRequest", "ResultPayloadRequest", "MarkerPayloadRequest", "LysatePayloadRequest"} <= set(
        requests
    )
    for name, component in requests.items():
        if "properties" in component:
            assert component.get("additionalProperties") is False, name
    for name, component in schema["components"]["schemas"].items():
        if not name.endswith("Request") and "properties" in component:
            assert component.get("additionalProperties") is not False, f"{name}: answers may grow"


def test_every_body_of_a_write_is_a_documented_closed_object(schema):
    components = schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                reference = media["schema"]["$ref"].rsplit("/", 1)[1]
                assert components[reference].get("additionalProperties") is False, (path, method)


def _enum(components, prop) -> set:
    reference = (prop["allOf"][0] if "allOf" in prop else prop)["$ref"]
    return set(components[reference.rsplit("/", 1)[1]]["enum"])


def test_enumerations_are_listed(schema):
    from evlims.samples.vocabulary import biofluid_choices

    components = schema["components"]["schemas"]
    sample = components["SampleCreateInputRequest"]["properties"]
    assert _enum(components, sample["biofluid"]) == {value for value, _ in biofluid_choices()}
    particle = components["ParticlePayloadRequest"]["properties"]
    assert _enum(components, particle["technique"]) == {"nta", "zetaview", "trps", "nanoflow", "dls", "other"}
    scopes = components["ApiKeyIssueInputRequest"]["properties"]["scopes"]["items"]
    assert _enum(components, scopes) == {"read", "results:write"}
    assert _enum(components, components["FileUploadInputRequest"]["properties"]["format"]) >= {"auto", "generic"}
    method = components["ResultPayloadRequest"]["properties"]["method"]["description"]
    assert "western_blot, elisa, flow_cytometry, immunogold_em, mass_spectrometry, other" in method
