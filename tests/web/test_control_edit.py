"""Changing a control material after it was defined: the audited service (lab admins, a reason, targets both or
neither, samples of its lab, one audit event with old and new values) and its page, which explains provisional
baselines and keeps a refusal on the form."""

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from evlims.core.models import AuditEvent, Role
from evlims.metrics.models import ControlMaterial
from evlims.metrics.services import controls
from tests.control_world import BASELINE, two_levels
from tests.factories import SampleFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


@pytest.fixture
def admin(lab):
    return member(lab, Role.LAB_ADMIN, username="admin")


@pytest.fixture
def world(lab, project, staff):
    return two_levels(lab, project, staff)


def test_the_service_changes_targets_and_relinks_samples_in_one_audit_event(admin, world, project):
    SampleFactory(project=project, barcode="CTRL-LOW-2")
    controls.control_material_update(
        actor=admin,
        material=world.low,
        reason="Targets from the ring trial; second lot",
        changes={
            "target_mean_particles_per_ug": 1e10,
            "target_sd_particles_per_ug": 1e9,
            "sample_barcodes": ["CTRL-LOW-2"],
        },
    )
    world.low.refresh_from_db()
    assert world.low.target_mean_particles_per_ug == 1e10
    assert [s.barcode for s in world.low.samples.all()] == ["CTRL-LOW-2"]
    [event] = AuditEvent.objects.filter(action="control_material.update")
    assert event.actor == admin and event.reason == "Targets from the ring trial; second lot"
    assert event.changes == {
        "target_mean_particles_per_ug": [None, 1e10],
        "target_sd_particles_per_ug": [None, 1e9],
        "samples": [["CTRL-LOW"], ["CTRL-LOW-2"]],
    }


@pytest.mark.parametrize(
    ("changes", "reason", "field"),
    [
        ({"baseline_points": 20}, "", "reason"),
        ({"target_sd_particles_per_ug": 1e9}, "sd only", "target_sd_particles_per_ug"),
        ({"baseline_points": 1}, "one point", "baseline_points"),
        ({"name": "High EV reference"}, "clash", "name"),
        ({"name": "  "}, "blank", "name"),
        ({"sample_barcodes": ["ELSEWHERE-1"]}, "other lab", "sample_barcodes"),
        ({"lab": 3}, "move", "lab"),
        ({"baseline_points": BASELINE}, "same", "__all__"),
    ],
)
def test_the_service_refuses_naming_the_field(admin, world, other_lab, changes, reason, field):
    SampleFactory(project__lab=other_lab, barcode="ELSEWHERE-1")
    with pytest.raises(ValidationError) as refused:
        controls.control_material_update(actor=admin, material=world.low, reason=reason, changes=changes)
    assert field in refused.value.message_dict
    assert not AuditEvent.objects.filter(action="control_material.update").exists()


def test_only_lab_admins_change_a_material(staff, world):
    with pytest.raises(PermissionDenied):
        controls.control_material_update(
            actor=staff, material=world.low, reason="why not", changes={"baseline_points": 20}
        )


def test_the_page_explains_provisional_baselines_and_saves_with_a_reason(client, admin, world):
    client.force_login(admin)
    detail = client.get(reverse("evlims:control-detail", args=[world.low.pk])).content.decode()
    url = reverse("evlims:control-edit", args=[world.low.pk])
    assert url in detail
    page = client.get(url).content.decode()
    assert 'id="baseline-explanation"' in page and "provisional" in page and "CLSI C24 ask for at least 20" in page
    assert "CTRL-LOW" in page and "geometric mean" in page
    data = {
        "name": "Low EV reference",
        "description": "",
        "target_mean_particles_per_ug": "",
        "target_sd_particles_per_ug": "",
        "baseline_points": "20",
        "sample_barcodes": "CTRL-LOW",
        "reason": "",
    }
    refused = client.post(url, data)
    assert refused.status_code == 200 and "This field is required." in refused.content.decode()
    refused = client.post(url, data | {"reason": "Targets", "target_mean_particles_per_ug": "1e10"})
    assert "Give both the target mean and the target SD, or neither." in refused.content.decode()
    assert not AuditEvent.objects.filter(action="control_material.update").exists()
    response = client.post(url, data | {"reason": "Full baseline of 20 runs"}, follow=True)
    assert "its charts are judged again" in response.content.decode()
    assert ControlMaterial.objects.get(pk=world.low.pk).baseline_points == 20
    assert AuditEvent.objects.get(action="control_material.update").changes == {"baseline_points": [BASELINE, 20]}


def test_staff_see_no_edit_link_and_are_refused(client, staff, world):
    client.force_login(staff)
    url = reverse("evlims:control-edit", args=[world.low.pk])
    assert url not in client.get(reverse("evlims:control-detail", args=[world.low.pk])).content.decode()
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "x", "baseline_points": "20", "name": "x"}).status_code == 403


def test_another_labs_material_is_a_404(client, admin, other_lab):
    material = ControlMaterial.objects.create(lab=other_lab, name="Theirs")
    client.force_login(admin)
    assert client.get(reverse("evlims:control-edit", args=[material.pk])).status_code == 404
