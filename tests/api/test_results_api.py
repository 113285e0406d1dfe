"""Posting results: instrument keys and people, idempotent retries, run-id dedupe, all-or-nothing bulk posts."""

import pytest

from evlims.characterization.models import Measurement, ParticleAnalysis, SizeBin
from evlims.instruments.models import Ingestion
from evlims.instruments.services import MAX_RESULTS_PER_POST
from tests.api.conftest import key_client
from tests.api.evidence import marker, particle, protein

pytestmark = pytest.mark.django_db
RESULTS = "/api/v1/results/"


def counts():
    return Measurement.objects.count(), Ingestion.objects.count(), SizeBin.objects.count()


def post(client, results, key=None, **body):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(RESULTS, {"results": results, **body}, format="json", **headers)


def test_instrument_posts_nta_results_in_the_parse_shape(write_key_api, evidence):
    document = particle(evidence.preparation.barcode, bins=4)
    response = post(write_key_api, [document], external_run_id="NS300-7")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "committed" and body["external_run_id"] == "NS300-7"
    measurement = Measurement.objects.get(pk=body["measurements"][0])
    assert measurement.instrument == evidence.instrument and measurement.recorded_by is None
    assert measurement.ingestion_id == body["ingestion"] and measurement.preparation == evidence.preparation
    assert measurement.particle.concentration_per_ml == 4.3e10
    assert list(measurement.particle.bins.values_list("bin_center_nm", flat=True)) == [50.5, 51.5, 52.5, 53.5]
    assert "Idempotent-Replayed" not in response


def test_person_posts_to_their_only_lab(staff_api, evidence):
    response = post(staff_api, [protein(evidence.preparation.barcode), marker(evidence.preparation.barcode)])
    assert response.status_code == 201, response.json()
    ingestion = Ingestion.objects.get(pk=response.json()["ingestion"])
    assert ingestion.submitted_by.username == "staff" and ingestion.instrument is None
    assert Measurement.objects.filter(ingestion=ingestion).count() == 2


def test_person_in_several_labs_names_the_lab(staff, staff_api, evidence, other_lab):
    from evlims.core.models import Membership, Role

    Membership.objects.create(user=staff, lab=other_lab, role=Role.LAB_STAFF)
    response = post(staff_api, [protein(evidence.preparation.barcode)])
    assert response.status_code == 400 and response.json() == {"lab": ["Name the lab the results belong to."]}
    response = post(staff_api, [protein(evidence.preparation.barcode)], lab=evidence.preparation.lab_id)
    assert response.status_code == 201


def test_read_only_person_cannot_post(qa_api, evidence):
    before = counts()
    response = post(qa_api, [protein(evidence.preparation.barcode)])
    assert response.status_code == 403
    assert counts() == before


def test_idempotent_retry_returns_the_first_answer_and_writes_nothing(write_key_api, evidence):
    results = [marker(evidence.preparation.barcode), protein(evidence.preparation.barcode)]
    first = post(write_key_api, results, key="7c0e-retry")
    after_first = counts()
    again = post(write_key_api, results, key="7c0e-retry")
    assert again.status_code == first.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert counts() == after_first
    assert Ingestion.objects.filter(idempotency_key="7c0e-retry").count() == 1


def test_same_key_with_another_body_is_422(write_key_api, evidence):
    post(write_key_api, [marker(evidence.preparation.barcode)], key="k-1")
    before = counts()
    response = post(write_key_api, [marker(evidence.preparation.barcode, protein="CD81")], key="k-1")
    assert response.status_code == 422
    assert response.json() == {"Idempotency-Key": ["This key was already used for a different request."]}
    assert counts() == before


def test_keys_are_per_client(write_key_api, staff_api, evidence):
    """A person and an instrument using the same key string do not collide."""
    assert post(write_key_api, [marker(evidence.preparation.barcode)], key="shared").status_code == 201
    response = post(staff_api, [protein(evidence.preparation.barcode)], key="shared")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response


def test_overlong_idempotency_key_is_refused(write_key_api, evidence):
    response = post(write_key_api, [marker(evidence.preparation.barcode)], key="x" * 121)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()


def test_external_run_id_is_stored_once(write_key_api, evidence):
    """The evidence already holds the instrument's FIRST-RUN: posting it again answers with that ingestion."""
    before = counts()
    response = post(write_key_api, [marker(evidence.preparation.barcode)], external_run_id="FIRST-RUN")
    assert response.status_code == 201 and response["Idempotent-Replayed"] == "true"
    assert response.json() == {
        "ingestion": evidence.ingestion.pk,
        "status": "committed",
        "external_run_id": "FIRST-RUN",
        "measurements": [evidence.measurement.pk],
    }
    assert counts() == before
    other = post(write_key_api, [marker(evidence.preparation.barcode)], external_run_id="SECOND-RUN")
    assert other.status_code == 201 and "Idempotent-Replayed" not in other


def test_bulk_post_is_all_or_nothing(write_key_api, evidence):
    barcode = evidence.preparation.barcode
    results = [marker(barcode), protein(barcode), particle(barcode), particle(barcode), marker(barcode)]
    results[3]["particle"]["histogram"]["concentration_per_ml"].pop()
    before = counts()
    response = post(write_key_api, results)
    assert response.status_code == 400
    assert response.json() == {
        "results[3].particle.histogram": ["bin_center_nm and concentration_per_ml must have the same length."]
    }
    assert counts() == before


def test_full_bulk_post_is_accepted_and_one_more_is_refused(write_key_api, evidence):
    barcode = evidence.preparation.barcode
    results = [protein(barcode, value=float(i)) for i in range(MAX_RESULTS_PER_POST)]
    response = post(write_key_api, results)
    assert response.status_code == 201
    assert len(response.json()["measurements"]) == MAX_RESULTS_PER_POST
    before = counts()
    response = post(write_key_api, results + [protein(barcode)])
    assert response.status_code == 400
    assert response.json() == {"results": [f"Send a list of 1–{MAX_RESULTS_PER_POST} results."]}
    assert counts() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["particle"].update(concentration_per_ml="NaN"), "results[0].particle.concentration_per_ml"),
        (lambda d: d["particle"].update(size_mode_nm="Infinity"), "results[0].particle.size_mode_nm"),
        (lambda d: d["particle"].update(concentration_per_ml=-1), "results[0].particle.concentration_per_ml"),
        (lambda d: d["particle"]["histogram"].update(bin_center_nm=[1.0]), "results[0].particle.histogram"),
        (lambda d: d["particle"]["captures"][0].update(d50_nm=-3), "results[0].particle.captures[0].d50_nm"),
        (lambda d: d["particle"].update(dilution_factor=0.5), "results[0].particle.dilution_factor"),
        (lambda d: d.update(kind="spectroscopy"), "results[0].kind"),
        (lambda d: d.pop("particle"), "results[0].particle"),
        (lambda d: d.update(protein={"assay": "bca", "concentration_ug_per_ml": 1}), "results[0].protein"),
        (lambda d: d.update(preparation="EVP-9999999"), "results[0].preparation"),
        (lambda d: d.pop("preparation"), "results[0].preparation"),
    ],
    ids=[
        "nan",
        "infinity",
        "negative",
        "histogram-length",
        "negative-capture",
        "dilution-below-1",
        "unknown-kind",
        "missing-part",
        "stray-part",
        "unknown-barcode",
        "no-subject",
    ],
)
def test_bad_results_name_the_field_and_write_nothing(write_key_api, evidence, change, field):
    document = particle(evidence.preparation.barcode)
    change(document)
    before = counts()
    response = post(write_key_api, [document])
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert counts() == before


@pytest.mark.parametrize("body", ['{"results": [NaN]}', '{"results": [{"kind": "particle"', "[1, 2]"])
def test_malformed_json_is_a_400(write_key_api, evidence, body):
    before = counts()
    response = write_key_api.post(RESULTS, body, content_type="application/json")
    assert response.status_code == 400
    assert counts() == before


@pytest.mark.parametrize("results", [[], {"kind": "marker"}, "CD63", None])
def test_results_must_be_a_non_empty_list(write_key_api, evidence, results):
    response = write_key_api.post(RESULTS, {"results": results}, format="json")
    assert response.status_code == 400 and "results" in response.json()


def test_key_of_another_lab_cannot_post_to_our_preparation(evidence, their_evidence):
    before = counts()
    response = post(key_client(their_evidence.write_key), [marker(evidence.preparation.barcode)])
    assert response.status_code == 400
    assert response.json() == {
        "results[0].preparation": [f"No preparation {evidence.preparation.barcode} in this lab."]
    }
    assert counts() == before


def test_key_cannot_post_to_another_lab_by_naming_it(evidence, their_evidence):
    response = post(
        key_client(their_evidence.write_key), [marker(evidence.preparation.barcode)], lab=evidence.preparation.lab_id
    )
    assert response.status_code == 400
    assert list(response.json()) == ["lab"]


def test_person_cannot_name_another_lab(staff_api, evidence, their_evidence):
    response = post(staff_api, [marker(their_evidence.preparation.barcode)], lab=their_evidence.preparation.lab_id)
    assert response.status_code == 400 and list(response.json()) == ["lab"]


def test_measurements_filter_and_typed_detail(read_key_api, staff_api, evidence):
    post(staff_api, [marker(evidence.preparation.barcode), protein(evidence.spare_preparation.barcode)])
    rows = read_key_api.get(f"/api/v1/measurements/?preparation={evidence.preparation.pk}&kind=particle").json()
    assert [row["id"] for row in rows["results"]] == [evidence.measurement.pk]
    rows = read_key_api.get(f"/api/v1/measurements/?preparation={evidence.spare_preparation.pk}").json()
    assert [row["kind"] for row in rows["results"]] == ["protein"]
    assert read_key_api.get("/api/v1/measurements/?kind=spectroscopy").status_code == 400
    detail = read_key_api.get(f"/api/v1/measurements/{evidence.measurement.pk}/").json()
    assert detail["protein"] is None and detail["marker"] is None
    assert detail["particle"]["histogram"] == {
        "bin_center_nm": [50.5, 51.5, 52.5, 53.5, 54.5],
        "concentration_per_ml": [1e6, 2e6, 3e6, 4e6, 5e6],
    }
    assert detail["particle"]["captures"][0]["name"] == "video 1"
    assert detail["values"]["particles_per_ml"] == 4.3e10
    marker_row = Measurement.objects.get(kind="marker")
    detail = read_key_api.get(f"/api/v1/measurements/{marker_row.pk}/").json()
    assert detail["marker"]["protein"] == "CD63" and detail["marker"]["detection"] == "detected"
    assert detail["particle"] is None
    assert ParticleAnalysis.objects.count() == 1
