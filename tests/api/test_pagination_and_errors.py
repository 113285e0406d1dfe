import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from evlims.api.exceptions import errors_named_as_payload, exception_handler, validation_detail
from evlims.api.pagination import EvlimsPageNumberPagination
from evlims.core.errors import ConflictError, NotFound
from tests.factories import DonorFactory

pytestmark = pytest.mark.django_db
DONORS = "/api/v1/donors/"


@pytest.fixture
def seven_donors(lab):
    return [DonorFactory(lab=lab, code=f"D-{n}") for n in range(7)]


@override_settings(EVLIMS={"PAGE_SIZE": 3})
def test_pages_follow_the_configured_size(staff_api, seven_donors):
    first = staff_api.get(DONORS).json()
    assert first["count"] == 7 and len(first["results"]) == 3
    assert first["previous"] is None and first["next"].endswith("/api/v1/donors/?page=2")
    last = staff_api.get(DONORS + "?page=3").json()
    assert [row["code"] for row in last["results"]] == ["D-6"] and last["next"] is None


def test_page_size_parameter_chooses_within_the_cap(staff_api, seven_donors):
    assert len(staff_api.get(DONORS + "?page_size=2").json()["results"]) == 2
    paginator = EvlimsPageNumberPagination()
    assert paginator.get_page_size(Request(APIRequestFactory().get("/", {"page_size": 100000}))) == 500
    assert paginator.get_page_size(Request(APIRequestFactory().get("/"))) == 50


def test_page_past_the_end_is_not_found(staff_api, seven_donors):
    response = staff_api.get(DONORS + "?page=9")
    assert response.status_code == 404 and response.json() == {"detail": "Invalid page."}


def test_validation_error_without_fields_becomes_non_field_errors():
    assert validation_detail(ValidationError("Broken.")) == {"non_field_errors": ["Broken."]}
    assert validation_detail(ValidationError({"__all__": ["Both."], "code": ["Taken."]})) == {
        "non_field_errors": ["Both."],
        "code": ["Taken."],
    }


def test_domain_errors_become_http_answers():
    assert exception_handler(NotFound(), {}).status_code == 404
    conflict = exception_handler(ConflictError(current_version=4), {})
    assert conflict.status_code == 409 and conflict.data["current_version"] == 4
    assert "changed by someone else" in conflict.data["detail"]
    invalid = exception_handler(ValidationError({"volume_ul": "Too much."}), {})
    assert invalid.status_code == 400 and invalid.data == {"volume_ul": ["Too much."]}
    assert exception_handler(ValueError("a bug"), {}) is None  # left to Django: a 500 is a bug to fix


def test_service_field_names_are_translated_to_payload_names():
    with pytest.raises(ApiValidationError) as raised, errors_named_as_payload(volumes_ul="aliquot_volumes_ul"):
        raise ValidationError({"volumes_ul": "Too much.", "box": "Full."})
    assert raised.value.detail == {"aliquot_volumes_ul": ["Too much."], "box": ["Full."]}


def test_database_outage_maps_to_503_with_retry_after():
    from django.db import OperationalError

    from evlims.api.exceptions import exception_handler

    response = exception_handler(OperationalError("server closed the connection unexpectedly"), {})
    assert response.status_code == 503 and response["Retry-After"]


def test_huge_id_filter_is_a_400_not_an_overflow(db):
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from evlims.core.models import Membership, Role
    from tests.factories import LabFactory

    user = get_user_model().objects.create_user("filterer", password="x" * 12)
    Membership.objects.create(user=user, lab=LabFactory(), role=Role.LAB_STAFF)
    client = APIClient()
    client.force_authenticate(user)
    response = client.get("/api/v1/preparations/", {"run": "41351820591254701879590912"})
    assert response.status_code == 400 and "run" in response.json()
