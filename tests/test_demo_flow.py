"""The demo shows nano-flow cytometry: each lab's reference preparation has an EV sample FCS file read and gated
on a PE axis calibrated to MESF, with a buffer-only and a detergent-lysis control, so the flow pages, the controls'
lysis drop and the MIFlowCyt-EV rules have something to show."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from evlims.compliance.models import ComplianceEvaluation
from evlims.core.models import Lab, Role
from evlims.cytometry.controls import control_summary
from evlims.cytometry.models import FlowAcquisition
from evlims.demo import flow, people


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("evlims_demo", donors=12, samples=60, force=True, stdout=StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(demo_world, db):
    return demo_world


def test_the_synthetic_files_are_the_same_bytes_for_the_same_seed():
    first = flow.fcs_file(7, particles=100, noise=20, tube="EV sample")
    assert first == flow.fcs_file(7, particles=100, noise=20, tube="EV sample")
    assert first != flow.fcs_file(8, particles=100, noise=20, tube="EV sample")


@pytest.mark.parametrize("plan", people.LABS, ids=[plan.slug for plan in people.LABS])
def test_each_lab_has_a_gated_ev_sample_file_with_calibration_and_controls(demo, plan):
    lab = Lab.objects.get(slug=plan.slug)
    sample = FlowAcquisition.objects.get(lab=lab, role=FlowAcquisition.Role.SAMPLE)
    assert sample.status == FlowAcquisition.Status.READ and sample.event_count == 20_000
    assert sample.density["shown"] > 0
    result = sample.results.get()
    counts = {c["gate"]: c for c in result.counts}
    assert counts["EVs"]["events"] == 16_000
    assert 35 < counts["CD63+"]["percent_of_parent"] < 55
    assert 20 < counts["CD81+"]["percent_of_parent"] < 40
    # 16,000 events in 10 µL of a 1:100 dilution.
    assert result.concentration_per_ml == pytest.approx(16_000 / 0.010 * 100)
    assert result.axes["FL2-H"] == "MESF" and result.measurement is not None
    assert [c.units for c in result.calibrations.all()] == ["MESF"]
    summary = control_summary(sample)
    roles = {c.role for c in sample.control_acquisitions.all()}
    assert roles == set(FlowAcquisition.Role.values) - {"sample", "beads"}
    assert 0.9 < summary["linearity"]["slope"] < 1.1
    assert summary["lysis_drop"] > 90
    assert sample.data_accession == f"DEMO-FCM-{sample.preparation.barcode}"


@pytest.mark.parametrize("plan", people.LABS, ids=[plan.slug for plan in people.LABS])
def test_the_reference_preparation_meets_every_mandatory_miflowcyt_ev_rule(demo, plan):
    lab = Lab.objects.get(slug=plan.slug)
    sample = FlowAcquisition.objects.get(lab=lab, role=FlowAcquisition.Role.SAMPLE)
    report = ComplianceEvaluation.objects.get(preparation=sample.preparation).full_report
    unmet = [
        rule["id"]
        for rule in report["miflowcyt_ev"]["rules"]
        if rule["level"].startswith("mandatory") and rule["status"] in ("fail", "insufficient_data")
    ]
    assert unmet == []


def test_the_flow_pages_of_the_demo_open(demo, client):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.get(username=people.username(people.LABS[0], Role.LAB_ADMIN))
    client.force_login(admin)
    sample = FlowAcquisition.objects.get(lab=admin.evlims_memberships.get().lab, role=FlowAcquisition.Role.SAMPLE)
    page = client.get(reverse("evlims:flow-detail", args=[sample.pk])).content.decode()
    assert "CD63+" in page and "MESF" in page and "Detergent lysis" in page
    assert sample.file_name in client.get(reverse("evlims:flow-list")).content.decode()
