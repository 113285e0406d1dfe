"""``manage.py evlims_watch``: look at every instrument's watched folder once, or keep looking (``--loop``).

The Celery beat entry ``evlims.instruments.tasks.watch_instrument_folders`` does the same every minute; this
command serves sites without a worker (cron, a systemd service). See docs/watched-folders.md."""

import argparse
import time

from django.core.management.base import BaseCommand, CommandError

from evlims.conf import evlims_settings
from evlims.instruments.models import Instrument
from evlims.instruments.services.watch import watch_all_folders, watch_folder_scan


class Command(BaseCommand):
    help = (
        "Ingest the new files of the instruments' watched folders (under EVLIMS_WATCH_ROOT) as their instruments' "
        "uploads, to be mapped and committed from the ingestion list. One pass, or --loop to keep watching."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep watching, one pass every --interval seconds.")
        parser.add_argument("--interval", type=float, default=30.0, help="Seconds between passes (default 30).")
        parser.add_argument("--instrument", type=int, help="Only this instrument's folder (its id).")
        parser.add_argument("--passes", type=int, default=0, help=argparse.SUPPRESS)  # tests: stop after n passes

    def handle(self, *args, loop=False, interval=30.0, instrument=None, passes=0, **options):
        if not str(evlims_settings.WATCH_ROOT or "").strip():
            raise CommandError("EVLIMS_WATCH_ROOT is not set: no folder may be watched on this site.")
        if interval < 1:
            raise CommandError("--interval must be at least 1 second.")
        done = 0
        while True:
            totals = self._pass(instrument)
            self.stdout.write(
                f"{totals.get('folders', 1)} folder(s): {totals['ingested']} ingested, {totals['duplicate']} "
                f"duplicate(s), {totals['failed']} failed, {totals['waiting']} waiting until completely written."
            )
            done += 1
            if not loop or (passes and done >= passes):
                return
            time.sleep(interval)

    def _pass(self, instrument_id):
        if instrument_id is None:
            return watch_all_folders()
        instrument = Instrument.objects.filter(pk=instrument_id).exclude(watch_folder="").first()
        if instrument is None:
            raise CommandError(f"No instrument {instrument_id} with a watched folder.")
        return watch_folder_scan(instrument=instrument)
