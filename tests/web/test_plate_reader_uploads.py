"""Gen5 and EnVision files uploaded on the upload page: detected from the content, the absorbance plate named in the
form's Read field, counts and calculated plates refused on the form, and the samples of a plate read with a plate
map committed as protein results like SoftMax and EnSight ones."""

import json
from pathlib import Path

import pytest

from evlims.characterization.models import Measurement
from evlims.instruments.models import Ingestion
from tests.web.test_results import commit, make_preparation, upload

pytestmark = pytest.mark.django_db
PLATES = Path(__file__).resolve().parents[1] / "fixtures" / "instruments" / "plate-reader"
STANDARDS = {"A": 2000, "B": 1500, "C": 1000, "D": 750, "E": 500, "F": 250, "G": 125, "H": 0}
PLATE_MAP = json.dumps(
    {
        "fit": "quadratic",
        "wells": {
            **{f"{row}1:{row}2": {"role": "standard", "ug_per_ml": ug} for row, ug in STANDARDS.items()},
            "A3:A4": {"role": "sample", "name": "EV 1"},
        },
    }
)


def test_a_two_wavelength_gen5_file_needs_its_read_named_on_the_form(member_client):
    path = PLATES / "gen5-results-decimal-comma.txt"
    refused = upload(member_client, path)
    html = refused.content.decode()
    assert "2 absorbance plates in the file" in html and "&#x27;Concentration&#x27; (calculated by Gen5" in html
    counts = upload(member_client, path, read="Concentration")
    assert "is not an absorbance reading" in counts.content.decode()
    taken = upload(member_client, path, read="660")
    ingestion = taken.context["ingestion"]
    assert ingestion.status == Ingestion.Status.PREVIEW and ingestion.parsed["format"] == "gen5"
    assert ingestion.parsed["plate"]["wavelength_nm"] == 660 and 'id="plate-grid"' in taken.content.decode()


def test_an_envision_plate_with_a_plate_map_is_committed_as_protein(member_client, staff, project):
    make_preparation(staff, project, "EVP-G1", final_volume_ul=100)
    response = upload(member_client, PLATES / "envision-bca.csv", plate_map=PLATE_MAP)
    ingestion = response.context["ingestion"]
    assert ingestion.parsed["format"] == "envision" and "EV 1" in response.content.decode()
    commit(member_client, ingestion, {"preparation_0": "EVP-G1"})
    protein = Measurement.objects.select_related("protein").get().protein
    expected = next(s for s in ingestion.parsed["samples"] if s["name"] == "EV 1")["protein_ug_per_ml"]
    assert protein.concentration_ug_per_ml == pytest.approx(expected)
