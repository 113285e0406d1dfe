"""Correcting and voiding tracer readouts and spikes in the browser: the forms on the record's page (for the
recorder or a lab admin only), the reason required under its field, the versions listed, the recovery and its
uncertainty budget shown from the current version."""

import pytest
from django.test import Client

from evlims.core.models import AuditEvent, Role
from evlims.standards.models import Status, TracerReadout
from tests.security.world import build_lab

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    w = build_lab("CRP")
    w.preparation.final_volume_ul = 100
    w.preparation.save(update_fields=["final_volume_ul"])
    return w


def _browser(user):
    client = Client()
    client.force_login(user)
    return client


def _figures(readout, **changes):
    return {
        "value": readout.value,
        "unit": readout.unit,
        "replicates": readout.replicates,
        "dilution_factor": 1,
        "measured_at": readout.measured_at.strftime("%Y-%m-%dT%H:%M"),
    } | changes


def test_the_readout_page_offers_the_forms_and_a_correction_replaces_the_recovery(world):
    browser = _browser(world.staff)
    readout = world.tracer_readout
    page = browser.get(f"/standards/readouts/{readout.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="correct-form"' in html and 'id="void-form"' in html and "Reason for the change" in html
    assert 'id="uncertainty-budget"' in html and "Assigned value of the lot" in html
    refused = browser.post(f"/standards/readouts/{readout.pk}/correct/", _figures(readout, value=5e8))
    assert refused.status_code == 200 and "This field is required" in refused.content.decode()
    assert TracerReadout.all_versions.filter(lab=world.lab).count() == 1
    done = browser.post(
        f"/standards/readouts/{readout.pk}/correct/",
        _figures(readout, value=5e8, volume_uncertainty_default="on", reason="Read the wrong channel"),
    )
    new = TracerReadout.objects.get(lab=world.lab)
    assert done.status_code == 302 and done["Location"] == f"/standards/readouts/{new.pk}/"
    assert new.value == 5e8 and new.supersedes_id == readout.pk and "100 µL pipette" in new.volume_uncertainty_basis
    html = browser.get(done["Location"]).content.decode()
    assert "Final volume of the preparation" in html and 'id="budget-volume"' in html
    assert "Read the wrong channel" in html  # the superseded version's reason, in the versions table
    prep = browser.get(f"/preparations/{world.preparation.pk}/").content.decode()
    assert "50.0 ±" in prep and "40.0 ±" not in prep
    old = browser.get(f"/standards/readouts/{readout.pk}/").content.decode()
    assert 'id="not-current"' in old and 'id="correct-form"' not in old


def test_voiding_from_the_page_and_who_may(world):
    readout = world.tracer_readout
    qa = _browser(world.users[Role.QA_MANAGER])
    assert 'id="void-form"' not in qa.get(f"/standards/readouts/{readout.pk}/").content.decode()
    qa.post(f"/standards/readouts/{readout.pk}/void/", {"reason": "not mine"})
    assert TracerReadout.objects.filter(pk=readout.pk).exists()
    other = _browser(build_lab("CRQ").staff)
    assert other.get(f"/standards/readouts/{readout.pk}/").status_code == 404
    assert other.post(f"/standards/readouts/{readout.pk}/void/", {"reason": "x"}).status_code == 404
    browser = _browser(world.staff)
    done = browser.post(f"/standards/readouts/{readout.pk}/void/", {"reason": "Tube swapped"})
    assert done.status_code == 302 and done["Location"] == f"/preparations/{world.preparation.pk}/"
    assert TracerReadout.all_versions.get(pk=readout.pk).status == Status.VOIDED
    assert AuditEvent.objects.filter(action="tracer_readout.void", reason="Tube swapped").exists()


def test_a_spike_page_corrects_the_spike_and_refuses_a_void_in_words(world):
    browser = _browser(world.users[Role.LAB_ADMIN])
    spike = world.spike
    page = browser.get(f"/standards/spikes/{spike.pk}/").content.decode()
    assert 'id="correct-form"' in page and "Recoveries of its current tracer readouts" in page
    refused = browser.post(f"/standards/spikes/{spike.pk}/void/", {"reason": "Wrong run"}).content.decode()
    assert "void them first" in refused
    figures = {
        "amount": 20,
        "amount_unit": "µL",
        "amount_uncertainty": 0.2,
        "amount_uncertainty_basis": "Gravimetric check 2026-03",
        "matrix": spike.matrix,
        "spiked_at": spike.spiked_at.strftime("%Y-%m-%dT%H:%M"),
        "reason": "20 µL were spiked",
    }
    done = browser.post(f"/standards/spikes/{spike.pk}/correct/", figures)
    assert done.status_code == 302
    html = browser.get(done["Location"]).content.decode()
    assert "± 0.2 µL" in html and "Gravimetric check 2026-03" in html and "20.0 ±" in html
