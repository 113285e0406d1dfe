"""API edits of records an approval covers: without a reason, 400 naming ``reason`` and nothing written; with one,
the approval is voided with it."""

import pytest
from rest_framework.test import APIClient

from evlims.compliance.models import Review
from tests.approved_world import approved_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(lab, project, staff):
    return approved_world(lab, project, staff)


@pytest.fixture
def staff_api(staff):
    client = APIClient()
    client.force_login(staff)
    return client


def still_approved(world) -> bool:
    world.review.refresh_from_db()
    return world.review.state == Review.State.APPROVED


def test_thaw_without_a_reason_is_a_400_naming_reason(staff_api, world):
    url = f"/api/v1/aliquots/{world.aliquot.pk}/thaw/"
    response = staff_api.post(url, {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    assert world.preparation.barcode in response.json()["reason"][0]
    assert still_approved(world)
    assert staff_api.post(url, {"reason": "Repeat blot"}, format="json").status_code == 200
    assert not still_approved(world)


def test_step_correction_without_a_reason_is_a_400_naming_reason(staff_api, world):
    url = f"/api/v1/runs/{world.run.pk}/steps/"
    response = staff_api.post(url, {"number": 1, "observed": {"duration_min": 20}}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    assert still_approved(world)
    body = {"number": 1, "observed": {"duration_min": 20}, "reason": "Centrifuge log says 20 min"}
    assert staff_api.post(url, body, format="json").status_code == 200
    assert not still_approved(world)


@pytest.mark.parametrize("path", ["samples", "donors", "runs", "preparations"])
def test_edits_without_a_reason_are_a_400_naming_reason(staff_api, world, path):
    record = {"samples": world.sample, "donors": world.donor, "runs": world.run, "preparations": world.preparation}
    change = {
        "samples": {"remarks": "Lipaemic"},
        "donors": {"age_band": "60-69"},
        "runs": {"equipment": "qEV lot 7"},
        "preparations": {"buffer": "PBS"},
    }[path]
    url = f"/api/v1/{path}/{record[path].pk}/"
    response = staff_api.patch(url, {**change, "version": record[path].version}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    assert still_approved(world)
    response = staff_api.patch(url, {**change, "version": record[path].version, "reason": "Corrected"}, format="json")
    assert response.status_code == 200, response.json()
    assert not still_approved(world)
