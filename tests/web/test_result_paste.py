"""Results pasted from a spreadsheet: the preview of what each row records, errors naming row and column, the
commit of all rows or none (through the results post: one ingestion), the size limits, a locked preparation."""

import pytest
from django.urls import reverse

from evlims.characterization.models import MarkerResult, Measurement
from evlims.compliance.models import Review
from evlims.instruments.models import Ingestion
from evlims.web.forms.result_paste import MAX_PASTE_ROWS, number
from tests.approved_world import approved_world

from .test_results import make_preparation

URL = reverse("evlims:result-paste")
HEADER = "Preparation\tKind\tMethod\tProtein (µg/mL)\tParticles/mL\tMarker\tDetected\tAntibody clone"


@pytest.fixture
def member_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def preparations(staff, project):
    return [make_preparation(staff, project, f"EVP-P{n}") for n in (1, 2)]


def rows(*lines, header=HEADER):
    return "\r\n".join([header, *lines])


def preview(client, lab, text, **extra):
    return client.post(URL, {"lab": lab.pk, "rows": text, "paste_token": "t1", "preview": "1", **extra})


def commit(client, lab, response, **extra):
    """Press "Record these N results" on the page ``response`` shows (its text and preview hash as sent back)."""
    form = response.context["form"]
    data = {"lab": lab.pk, "rows": form.data["rows"], "paste_token": "t1", "previewed": form.data["previewed"]}
    return client.post(URL, data | {"commit": "1"} | extra)


GOOD = (
    "EVP-P1\tProtein\tBCA\t125.5\t\t\t\t",
    "EVP-P1\tParticle\tNTA\t\t1.20E+11\t\t\t",
    "EVP-P2\tMarker\tWestern blot\t\t\tCD63\tyes\tH5C6",
)


def test_three_rows_are_previewed_then_recorded_together(member_client, lab, preparations):
    response = preview(member_client, lab, rows(*GOOD))
    assert [row.summary() for row in response.context["rows"]] == [
        "125.5 µg/mL protein",
        "1.2e+11 particles/mL",
        "CD63 detected",
    ]
    page = response.content.decode()
    assert "Record these 3 results" in page and "Protein quantification" in page and "Western blot" in page
    assert not Measurement.objects.exists()  # nothing is recorded at preview

    recorded = commit(member_client, lab, response)
    assert recorded.status_code == 302
    ingestion = Ingestion.objects.get()
    assert recorded["Location"] == reverse("evlims:ingestion-detail", args=[ingestion.pk])
    recorded = Measurement.objects.filter(ingestion=ingestion)
    assert sorted(recorded.values_list("kind", flat=True)) == ["marker", "particle", "protein"]
    assert recorded.get(kind="protein").values == {"protein_ug_per_ml": 125.5}
    assert recorded.get(kind="particle").values["particles_per_ml"] == 1.2e11
    assert MarkerResult.objects.get().antibody_clone == "H5C6"
    assert commit(member_client, lab, response).status_code in (200, 302)  # a resend records nothing more
    assert Measurement.objects.count() == 3


def test_errors_name_the_row_and_the_column_and_nothing_is_recorded(member_client, lab, preparations):
    text = rows(
        GOOD[0],
        "EVP-P1\tProtein\tBCA\t1,5\t\t\t\t",
        "EVP-NONE\tParticle\tNTA\t\t2e11\t\t\t",
        "EVP-P2\tMarker\tWestern blot\t\t\tCD-63\tmaybe\tH5C6",
        "EVP-P2\tMarker\tWestern blot\t\t\tCD9\tno\t",
    )
    response = preview(member_client, lab, text)
    errors = {row.number: row.errors for row in response.context["rows"]}
    assert errors[2] == []
    assert errors[3] == [("Protein (µg/mL)", "Give a number such as 1.5 or 1.2E+11 (a decimal comma is not read).")]
    assert errors[4] == [("Preparation", f"No preparation EVP-NONE in {lab.name}.")]
    assert ("Marker", "CD-63 is not in the marker vocabulary. Did you mean CD63? Correct it, or tick “Record unknown "
            "markers as typed”.") in errors[5]  # fmt: skip
    assert ("Detected", "“maybe” is not read as yes or no (detected / not detected).") in errors[5]
    assert errors[6][0][0] == "Antibody clone"
    page = response.content.decode()
    assert "Row 3, Protein (µg/mL): Give a number" in page and 'id="record-rows"' not in page
    assert commit(member_client, lab, response).status_code == 200
    assert not Measurement.objects.exists()


def test_a_row_the_service_refuses_refuses_them_all(member_client, lab, preparations, staff, project):
    from evlims.isolation.models import IsolationRun

    planned = IsolationRun.objects.create(
        lab=lab, project=project, code="RUN-PLANNED", protocol_name="SEC", operator=staff
    )
    make_preparation(staff, project, "EVP-PLANNED", run=planned)
    response = preview(member_client, lab, rows(*GOOD, "EVP-PLANNED\tProtein\tBCA\t10\t\t\t\t"))
    assert response.context["ready"]
    response = commit(member_client, lab, response)
    assert response.status_code == 200
    [row] = [row for row in response.context["rows"] if row.errors]
    assert row.number == 5 and row.errors[0][0] == "Preparation" and "not completed" in row.errors[0][1]
    assert not Measurement.objects.exists() and not Ingestion.objects.exists()


def test_the_rows_committed_are_those_previewed(member_client, lab, preparations):
    response = preview(member_client, lab, rows(*GOOD))
    data = {"lab": lab.pk, "rows": rows(*GOOD[:2]), "paste_token": "t1", "commit": "1"}
    response = member_client.post(URL, data | {"previewed": response.context["form"].data["previewed"]})
    assert "changed since they were previewed" in response.content.decode()
    assert not Measurement.objects.exists()


def test_the_header_names_columns_in_the_lab_words(member_client, lab, preparations):
    response = preview(member_client, lab, rows("EVP-P1\t125", header="Preparation\tColour"))
    assert "Row 1, column 2 (“Colour”) is not a column read here" in response.context["general"][0]
    text = rows("EVP-P1\t80.5", header="barcode\tprotein (ug/ml)")  # case, µ/u and aliases read alike
    response = preview(member_client, lab, text, protein_assay="micro_bca")
    [row] = response.context["rows"]
    assert row.errors == [] and row.document["protein"] == {"assay": "micro_bca", "concentration_ug_per_ml": 80.5}
    response = preview(member_client, lab, text)
    assert response.context["rows"][0].errors[0][0] == "Method"


def test_size_limits_are_refused_with_a_clear_error(member_client, lab, settings):
    too_many = rows(*["EVP-P1\tProtein\tBCA\t1\t\t\t\t"] * (MAX_PASTE_ROWS + 1))
    response = preview(member_client, lab, too_many)
    assert (
        f"{MAX_PASTE_ROWS + 1:,} rows were pasted; at most {MAX_PASTE_ROWS}"
        in response.context["form"].errors["rows"][0]
    )
    too_big = rows("x" * (1024 * 1024))
    response = preview(member_client, lab, too_big)
    assert "at most 1,048,576 (1 MB) is read at a time" in response.context["form"].errors["rows"][0]


def test_an_approved_preparation_shows_the_approval_and_asks_for_a_reason(member_client, lab, project, staff):
    world = approved_world(lab, project, staff)
    response = preview(member_client, lab, rows(f"{world.preparation.barcode}\tProtein\tBCA\t55\t\t\t\t"))
    assert 'id="approval-warning"' in response.content.decode()
    refused = commit(member_client, lab, response)
    assert "approved and locked" in refused.context["form"].errors["reason"][0]
    assert not Measurement.objects.filter(kind="protein").exists()
    assert commit(member_client, lab, response, reason="BCA added after release").status_code == 302
    assert Review.objects.get(pk=world.review.pk).state == Review.State.VOIDED


def test_numbers_are_read_as_a_spreadsheet_copies_them():
    assert number("1.20E+11") == 1.2e11 and number("120,000") == 120000 and number(" 5 ") == 5
    for bad in ("1,5", "abc", "nan"):
        with pytest.raises(ValueError):
            number(bad)
