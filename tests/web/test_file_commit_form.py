"""The page that commits a previewed particle file: the dilution it does not record (a required choice, the
name's suggestion pre-filled), the captures the instrument marked invalid, the measurement time, the reason an
approved preparation asks for, and a form that keeps every value typed when it is shown again."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse

from evlims.characterization.models import Measurement
from evlims.core.models import AuditEvent
from evlims.instruments.models import Ingestion
from evlims.review import services as review_services
from tests.approved_world import approved_world
from tests.fixtures.instruments import NANOSIGHT_BEADS_COMBINED, NANOSIGHT_ONE_UNRELIABLE, instrument_path
from tests.web.test_results import commit, make_preparation, upload

pytestmark = pytest.mark.django_db
SAMPLE = "EV12_1in2000"


@pytest.fixture
def preparation(staff, project):
    return make_preparation(staff, project, "EVP-W1", final_volume_ul=100)


def unreliable_upload(client):
    return upload(client, instrument_path(NANOSIGHT_ONE_UNRELIABLE))


def test_a_refused_commit_keeps_every_value_typed_the_barcode_included(member_client, preparation):
    ingestion = unreliable_upload(member_client).context["ingestion"]
    typed = {"preparation_0": "EVP-W1", "dilution_0": "", "calibration": "100 nm beads, same day", "reason": "rerun"}
    response = commit(member_client, ingestion, typed)
    html = response.content.decode()
    assert "The file records no dilution" in str(response.context["form"].errors["dilution_0"])
    assert 'value="EVP-W1"' in html
    assert 'value="100 nm beads, same day"' in html and 'value="rerun"' in html
    # A refusal of the service (here: an unknown preparation on another row) keeps them too.
    response = commit(member_client, ingestion, {**typed, "dilution_0": "2000", "preparation_0": "EVP-NOPE"})
    html = response.content.decode()
    assert 'value="EVP-NOPE"' in html and 'value="2000"' in html
    assert not Measurement.objects.exists()


def test_the_dilution_choice_is_shown_only_when_the_file_records_none(member_client, preparation):
    page = unreliable_upload(member_client)
    form = page.context["form"]
    assert {"dilution_0", "undiluted_0"} <= set(form.fields)
    # The name's suggestion is pre-filled, with where it comes from.
    assert form["dilution_0"].value() == 2000.0
    assert "Suggested by the name (“1in2000”)" in page.content.decode()
    beads_diluted = upload(member_client, instrument_path(NANOSIGHT_BEADS_COMBINED).parent / "beads2.csv")
    assert not any(name.startswith(("dilution_", "undiluted_")) for name in beads_diluted.context["form"].fields)


def test_undiluted_is_an_explicit_choice(member_client, preparation):
    ingestion = unreliable_upload(member_client).context["ingestion"]
    both = commit(member_client, ingestion, {"preparation_0": "EVP-W1", "dilution_0": "2000", "undiluted_0": "on"})
    assert "not both" in str(both.context["form"].errors["dilution_0"])
    commit(member_client, ingestion, {"preparation_0": "EVP-W1", "undiluted_0": "on"})
    analysis = Measurement.objects.get().particle
    assert analysis.dilution_factor == 1.0
    assert analysis.concentration_per_ml == pytest.approx((2.10e08 + 2.30e08 + 2.20e08 + 2.40e08) / 4)


def test_the_preview_shows_the_acquisition_time_and_the_instruments_verdict(member_client, preparation):
    html = unreliable_upload(member_client).content.decode()
    assert "3 Mar 2025 14:02 (from the file, site time)" in html
    assert "<strong>invalid</strong> (Unreliable (instrument))" in html
    assert "Keep captures the instrument marked invalid" in html


def test_the_result_page_says_when_it_was_measured_and_which_captures_count(member_client, preparation):
    ingestion = unreliable_upload(member_client).context["ingestion"]
    commit(member_client, ingestion, {"preparation_0": "EVP-W1", "dilution_0": "2000"})
    measurement = Measurement.objects.get()
    assert measurement.measured_at == datetime(2025, 3, 3, 14, 2, 11, tzinfo=ZoneInfo(settings.TIME_ZONE))
    page = member_client.get(reverse("evlims:preparation-detail", args=[preparation.pk])).content.decode()
    assert "Measured 3 Mar 2025 14:02 (from the file) · uploaded " in page
    assert "Mean of 4 of 5 captures; capture 3 left out: Unreliable (instrument)" in page


def test_kept_invalid_captures_are_said_to_be_kept(member_client, preparation):
    ingestion = unreliable_upload(member_client).context["ingestion"]
    data = {"preparation_0": "EVP-W1", "dilution_0": "2000", "keep_invalid_captures": "on"}
    commit(member_client, ingestion, data)
    event = AuditEvent.objects.get(action="ingestion.commit", object_id=str(ingestion.pk))
    assert event.changes["keep_invalid_captures"] is True
    page = member_client.get(reverse("evlims:preparation-detail", args=[preparation.pk])).content.decode()
    assert "Mean of 5 of 5 captures; capture 3 kept although marked invalid (Unreliable (instrument))" in page


def test_a_file_without_an_acquisition_time_asks_for_it_and_says_what_was_used(member_client, preparation):
    ingestion = upload(member_client, instrument_path(NANOSIGHT_BEADS_COMBINED)).context["ingestion"]
    page = member_client.get(reverse("evlims:ingestion-detail", args=[ingestion.pk]))
    assert "measured_at" in page.context["form"].fields
    assert "not stated in the file" in page.content.decode()
    commit(
        member_client,
        ingestion,
        {"preparation_1": "EVP-W1", "dilution_1": "10000", "measured_at": "2025-02-01T09:30"},
    )
    measurement = Measurement.objects.get()
    assert measurement.measured_at == datetime(2025, 2, 1, 9, 30, tzinfo=ZoneInfo(settings.TIME_ZONE))
    page = member_client.get(reverse("evlims:preparation-detail", args=[preparation.pk])).content.decode()
    assert "Measured 1 Feb 2025 09:30 (as given when recorded; the file states none)" in page


def test_an_approved_preparation_asks_for_a_reason_and_warns_before_saving(member_client, lab, project, staff):
    world = approved_world(lab, project, staff)
    ingestion = unreliable_upload(member_client).context["ingestion"]
    data = {"preparation_0": world.preparation.barcode, "dilution_0": "2000"}
    response = commit(member_client, ingestion, data)
    html = response.content.decode()
    assert 'id="approval-warning"' in html and "Reason for the change" in html
    assert "locked" in str(response.context["form"].errors["reason"])
    assert f'value="{world.preparation.barcode}"' in html
    assert review_services.is_locked(world.preparation)
    commit(member_client, ingestion, {**data, "reason": "Second NTA run after the review"})
    assert Ingestion.objects.get(pk=ingestion.pk).status == Ingestion.Status.COMMITTED
    assert not review_services.is_locked(world.preparation)
