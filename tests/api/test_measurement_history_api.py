"""GET /measurements/?status=: current results by default, superseded, voided or every version on request, each
row naming its status; an unknown status is a 400 naming ``status``; the parameter is in the OpenAPI schema."""

import pytest
import yaml
from django.core.management import call_command

from evlims.characterization.corrections import result_correct, result_void
from evlims.characterization.services import record_results
from tests.api.evidence import marker, protein

pytestmark = pytest.mark.django_db
LIST = "/api/v1/measurements/"


@pytest.fixture
def history(staff, lab, evidence):
    """On the spare preparation: a protein count corrected once (old superseded, new current) and a CD63 voided."""
    barcode = evidence.spare_preparation.barcode
    old, cd63 = record_results(actor=staff, lab=lab, documents=[protein(barcode), marker(barcode, "CD63")])
    corrected = protein(barcode) | {"protein": {"assay": "bca", "concentration_ug_per_ml": 125.0}}
    new = result_correct(actor=staff, measurement=old, document=corrected, reason="Dilution not applied")
    result_void(actor=staff, measurement=cd63, reason="Antibody lot recalled")
    return {"superseded": old, "current": new, "voided": cd63, "preparation": evidence.spare_preparation}


def listed(staff_api, history, query=""):
    response = staff_api.get(f"{LIST}?preparation={history['preparation'].pk}{query}")
    assert response.status_code == 200, response.json()
    return {row["id"]: (row["status"], row["supersedes"]) for row in response.json()["results"]}


def test_the_list_shows_current_results_unless_asked(staff_api, history):
    current, old, voided = history["current"], history["superseded"], history["voided"]
    assert listed(staff_api, history) == {current.pk: ("current", old.pk)}
    assert listed(staff_api, history, "&status=current") == {current.pk: ("current", old.pk)}
    assert listed(staff_api, history, "&status=superseded") == {old.pk: ("superseded", None)}
    assert listed(staff_api, history, "&status=voided") == {voided.pk: ("voided", None)}
    assert listed(staff_api, history, "&status=all") == {
        current.pk: ("current", old.pk),
        old.pk: ("superseded", None),
        voided.pk: ("voided", None),
    }


def test_another_labs_history_stays_out(staff_api, history, their_evidence):
    rows = staff_api.get(f"{LIST}?status=all&page_size=200").json()["results"]
    assert {row["lab"] for row in rows} == {history["preparation"].lab_id}


@pytest.mark.parametrize("value", ["deleted", "CURRENT", ""])
def test_an_unknown_status_is_a_400_naming_it(staff_api, history, value):
    response = staff_api.get(f"{LIST}?status={value}")
    if value == "":  # an empty parameter is no parameter: the default
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert list(response.json()) == ["status"], response.json()


def test_the_schema_documents_the_status_parameter(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--file", str(target))  # warnings: tests/api/test_schema.py

    schema = yaml.safe_load(target.read_text())
    parameters = schema["paths"][LIST]["get"]["parameters"]
    status = next(p for p in parameters if p["name"] == "status")
    assert set(status["schema"]["enum"]) == {"current", "superseded", "voided", "all"}
    assert "current (the default" in status["description"]
    row = schema["components"]["schemas"]["MeasurementListOutput"]["properties"]
    assert {"status", "supersedes"} <= set(row)
