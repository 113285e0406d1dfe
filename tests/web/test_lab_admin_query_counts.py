"""The lab administration pages answer in the same number of queries with few or many members, instruments and
keys."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from evlims.core.models import Membership, Role
from evlims.instruments import services
from tests.factories import member

pytestmark = pytest.mark.django_db


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def grow(boss, lab, instrument, start, count):
    for n in range(start, start + count):
        member(lab, Role.LAB_STAFF if n % 2 else Role.QA_MANAGER, username=f"person{n}")
        other = services.instrument_register(actor=boss, lab=lab, name=f"Reader {n}", kind="plate_reader")
        services.api_key_issue(actor=boss, instrument=other, scopes=["read"])
        key, raw = services.api_key_issue(actor=boss, instrument=instrument, scopes=["results:write"], label=f"PC {n}")
        services.api_key_authenticate(raw)
        if n % 2:
            services.api_key_revoke(actor=boss, key=key, reason="rotated")


def pages(client, lab, instrument, membership, key):
    urls = [
        reverse("evlims:lab-admin-members", args=[lab.pk]),
        reverse("evlims:lab-admin-member", args=[membership.pk]),
        reverse("evlims:lab-admin-instruments", args=[lab.pk]),
        reverse("evlims:lab-admin-instrument", args=[instrument.pk]),
        reverse("evlims:lab-admin-key-revoke", args=[key.pk]),
    ]
    return [queries_for(client, url) for url in urls]


def test_lab_admin_pages_are_flat(client, lab):
    boss = member(lab, Role.LAB_ADMIN, username="boss")
    client.force_login(boss)
    instrument = services.instrument_register(actor=boss, lab=lab, name="NS300", kind="nta")
    key, _ = services.api_key_issue(actor=boss, instrument=instrument, scopes=["read"])
    membership = Membership.objects.get(user=boss)
    grow(boss, lab, instrument, 0, 2)
    small = pages(client, lab, instrument, membership, key)
    grow(boss, lab, instrument, 2, 12)
    large = pages(client, lab, instrument, membership, key)
    assert small == large
