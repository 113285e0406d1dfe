"""A manifest's received_at dates the "received" custody events of the tubes it registers."""

import datetime as dt

import pytest
from django.utils import timezone

from evlims.samples.models import CustodyEvent, Sample
from evlims.samples.services import manifests

from .conftest import checked_upload, csv_bytes

pytestmark = pytest.mark.django_db


def test_manifest_received_time_dates_the_received_events(staff, project):
    data = csv_bytes(
        [
            ["biofluid", "volume_ml", "received_at", "aliquot_count", "aliquot_volume_ul"],
            ["serum", "2", "2024-05-02 09:40", "2", "500"],
            ["serum", "2", "", "1", "500"],
        ]
    )
    manifest = checked_upload(staff, project, data)
    before = timezone.now()
    manifests.manifest_commit(manifest=manifest, actor=staff)
    dated, undated = Sample.objects.order_by("id")
    events = CustodyEvent.objects.filter(kind=CustodyEvent.Kind.RECEIVED)
    assert [e.occurred_at for e in events.filter(aliquot__sample=dated)] == [dated.received_at] * 2
    assert timezone.localtime(dated.received_at).replace(tzinfo=None) == dt.datetime(2024, 5, 2, 9, 40)
    [event] = events.filter(aliquot__sample=undated)
    assert event.occurred_at == undated.received_at and event.occurred_at >= before
