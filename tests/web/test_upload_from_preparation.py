"""An upload started from a preparation page keeps the preparation up to the mapping."""

from django.urls import reverse

from tests.fixtures.instruments import NANOSIGHT_FULL, instrument_path
from tests.web.test_results import make_preparation, upload


def test_preparation_page_upload_link_carries_the_preparation(member_client, staff, project):
    preparation = make_preparation(staff, project, "EVP-U1", final_volume_ul=100)
    page = member_client.get(reverse("evlims:preparation-detail", args=[preparation.pk])).content.decode()
    assert f"{reverse('evlims:result-upload')}?preparation=EVP-U1" in page


def test_upload_from_a_preparation_prefills_the_mapping(member_client, staff, project):
    make_preparation(staff, project, "EVP-U1", final_volume_ul=100)
    page = member_client.get(reverse("evlims:result-upload") + "?preparation=EVP-U1")
    assert page.context["form"]["preparation"].value() == "EVP-U1"
    assert "EVP-U1" in page.content.decode()
    response = upload(member_client, instrument_path(NANOSIGHT_FULL), preparation="EVP-U1")
    ingestion = response.context["ingestion"]
    assert response.redirect_chain[-1][0].endswith("?preparation=EVP-U1")
    form = response.context["form"]
    assert form["preparation_0"].value() == "EVP-U1"
    # A preparation of no lab of the user is not pre-filled (and says so).
    page = member_client.get(reverse("evlims:ingestion-detail", args=[ingestion.pk]) + "?preparation=EVP-NONE")
    assert page.context["form"]["preparation_0"].value() in (None, "")
    assert "No preparation EVP-NONE" in page.content.decode()


def test_unknown_preparation_on_the_upload_form_is_a_field_error(member_client):
    response = upload(member_client, instrument_path(NANOSIGHT_FULL), preparation="EVP-NONE")
    assert response.status_code == 200
    assert "No preparation EVP-NONE" in str(response.context["form"].errors["preparation"])
