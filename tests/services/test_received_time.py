"""A "received" custody event takes the time the sample was received, not the time it was registered: on the
intake page, through the API and in a manifest import."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from evlims.samples import services
from evlims.samples.models import CustodyEvent, Sample

RECEIVED = dt.datetime(2024, 5, 2, 9, 40, tzinfo=dt.UTC)


def received_events(sample):
    return list(
        CustodyEvent.objects.filter(aliquot__sample=sample, kind=CustodyEvent.Kind.RECEIVED).values_list(
            "occurred_at", flat=True
        )
    )


@pytest.mark.django_db
def test_service_dates_the_received_event_at_the_received_time(staff, project):
    sample = services.sample_register(
        actor=staff,
        project=project,
        biofluid="serum",
        volume_ml=Decimal("2"),
        received_at=RECEIVED,
        aliquot_volumes_ul=[500, 500],
    )
    assert received_events(sample) == [RECEIVED, RECEIVED]


@pytest.mark.django_db
def test_without_a_received_time_the_event_is_the_registration(staff, project):
    before = timezone.now()
    sample = services.sample_register(
        actor=staff, project=project, biofluid="serum", volume_ml=Decimal("2"), aliquot_volumes_ul=[500]
    )
    [occurred] = received_events(sample)
    assert occurred == sample.received_at and occurred >= before


@pytest.mark.django_db
def test_intake_page_dates_the_received_event_at_the_typed_time(client, staff, project):
    client.force_login(staff)
    data = {
        "project": project.pk,
        "biofluid": "serum",
        "volume_ml": "3",
        "received_at": "2024-05-02T09:40",
        "aliquot_count": "2",
        "aliquot_volume_ul": "250",
    }
    response = client.post(reverse("evlims:sample-create"), data)
    assert response.status_code == 302
    sample = Sample.objects.get()
    assert received_events(sample) == [sample.received_at] * 2
    assert timezone.localtime(sample.received_at).strftime("%Y-%m-%d %H:%M") == "2024-05-02 09:40"
