"""Reference materials in the browser's forms: a lot, a spike, a tracer readout and a dilution series recorded
through the pages, the recovery with its uncertainty on the preparation page, the league table, and another
lab's records out of reach."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from evlims.core.models import AuditEvent, Role
from evlims.standards.models import DilutionSeries, ReferenceMaterialLot, Spike, TracerReadout
from tests.security.world import build_lab

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    w = build_lab("WEB")
    w.preparation.final_volume_ul = 100
    w.preparation.save(update_fields=["final_volume_ul"])
    return w


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_lot_spike_readout_and_the_recovery_on_the_preparation_page(world):
    client = _client(world.staff)
    answer = client.post(
        reverse("evlims:standards-lot-new"),
        {
            "lab": world.lab.pk,
            "material": "rEV (recombinant GFP EVs)",
            "lot_number": "REV-7",
            "readout": "fluorescent_nta",
            "assigned_value": "1e10",
            "assigned_uncertainty": "1e9",
            "unit": "particles/mL",
        },
    )
    lot = ReferenceMaterialLot.objects.get(lot_number="REV-7")
    assert answer.status_code == 302 and answer.url == reverse("evlims:standards-lot", args=[lot.pk])
    refused = client.post(
        reverse("evlims:standards-spike-new"),
        {"lot": lot.pk, "run": world.run.code, "amount": "5", "amount_unit": "pg"},
    )
    assert refused.status_code == 200 and "particles" in refused.content.decode()
    answer = client.post(
        reverse("evlims:standards-spike-new"),
        {"lot": lot.pk, "run": world.run.code, "amount": "10", "amount_unit": "µL"},
    )
    assert answer.status_code == 302
    spike = Spike.objects.get(lot=lot)
    answer = client.post(
        reverse("evlims:standards-readout-new"),
        {
            "spike": spike.pk,
            "preparation": world.preparation.barcode,
            "value": "4e8",
            "standard_uncertainty": "2e7",
            "unit": "particles/mL",
            "replicates": "3",
        },
    )
    assert answer.status_code == 302
    assert TracerReadout.objects.count() == 2  # the world's own readout and this one
    page = client.get(reverse("evlims:preparation-detail", args=[world.preparation.pk])).content.decode()
    assert "Spike recovery" in page
    assert "40.0 ± 4.5 %" in page
    assert AuditEvent.objects.filter(action="tracer_readout.record").count() == 2
    home = client.get(reverse("evlims:standards")).content.decode()
    assert "rEV (recombinant GFP EVs)" in home and "recovery-by-method" in home
    comparison = client.get(reverse("evlims:dashboard-comparison")).content.decode()
    # The run's two readouts of 40 %, of two lots (10 % each, independent) and one readout with u = 5 %:
    # u(mean) = sqrt(2.0² + 2.0² + 1.0²) = 3.0 points.
    assert "Spike recovery by separation method" in comparison
    assert re.search(r"40\.0 ± 3(\.0)? %", comparison)


def test_dilution_series_form_and_its_page(world):
    client = _client(world.staff)
    answer = client.post(
        reverse("evlims:standards-series-new"),
        {
            "preparation": world.preparation.barcode,
            "technique": "nta",
            "points": "200, 4.9e8, 5.1e8\n400, 2.4e8, 2.6e8\n800, 1.25e8, 1.25e8\n1600, 4e7, 4e7",
        },
    )
    assert answer.status_code == 302
    series = DilutionSeries.objects.filter(preparation=world.preparation).latest("id")
    page = client.get(reverse("evlims:standards-series", args=[series.pk])).content.decode()
    assert "1.00 × 10¹¹/mL" in page and "1:200, 1:400, 1:800" in page
    assert "Outside" in page
    bad = client.post(
        reverse("evlims:standards-series-new"),
        {"preparation": world.preparation.barcode, "technique": "nta", "points": "200, lots"},
    )
    assert bad.status_code == 200 and "Line 1" in bad.content.decode()


def test_league_table_page(world):
    page = _client(world.staff).get(reverse("evlims:standards-league"))
    assert page.status_code == 200
    assert "Method league table" in page.content.decode()


def test_another_labs_records_are_out_of_reach(world):
    other = build_lab("FOE")
    client = _client(other.users[Role.LAB_ADMIN])
    assert client.get(reverse("evlims:standards-lot", args=[world.reference_lot.pk])).status_code == 404
    assert client.get(reverse("evlims:standards-series", args=[world.dilution_series.pk])).status_code == 404
    home = client.get(reverse("evlims:standards")).content.decode()
    assert world.reference_lot.material not in home
    answer = client.post(
        reverse("evlims:standards-readout-new"),
        {"spike": world.spike.pk, "preparation": world.preparation.barcode, "value": "1", "unit": "particles/mL"},
    )
    assert answer.status_code == 200 and TracerReadout.objects.filter(lab=other.lab).count() == 1
