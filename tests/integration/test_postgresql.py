"""Behaviour that only a real PostgreSQL can show: row locks under concurrent writers, and the demo
loader on the database the full stack runs on."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections

from evlims.core.models import AuditEvent
from evlims.samples import services
from evlims.samples.models import Aliquot, Sample
from evlims.tasks import audit_trail_problems

pytestmark = pytest.mark.django_db(transaction=True)

WRITERS = 4
SAMPLES_PER_WRITER = 5


def test_runs_on_postgresql():
    assert connection.vendor == "postgresql"


def test_concurrent_writers_get_unique_barcodes_and_an_unbroken_audit_chain(staff, project, box):
    start_together = threading.Barrier(WRITERS)

    def write_samples(_):
        try:
            start_together.wait()
            for _ in range(SAMPLES_PER_WRITER):
                services.sample_register(
                    actor=staff,
                    project=project,
                    biofluid="blood_plasma",
                    volume_ml=Decimal("2"),
                    aliquot_volumes_ul=[500, 500],
                    box=box,
                )
        finally:
            connections.close_all()

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(write_samples, range(WRITERS)))

    expected = WRITERS * SAMPLES_PER_WRITER
    assert Sample.objects.values("barcode").distinct().count() == expected
    assert Aliquot.objects.values("barcode").distinct().count() == 2 * expected
    assert Aliquot.objects.values("position_row", "position_column").distinct().count() == 2 * expected
    # Appends were serialised on the chain head: every event links to the one before it.
    assert AuditEvent.objects.count() == 2 * expected
    assert audit_trail_problems() == []


def test_demo_loads_on_postgresql_with_an_intact_audit_trail(db):
    call_command("evlims_demo", donors=10, samples=45, force=True, stdout=StringIO())
    assert Sample.objects.count() == 45
    assert audit_trail_problems() == []
