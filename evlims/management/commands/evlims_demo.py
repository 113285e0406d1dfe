"""``manage.py evlims_demo``: load the demo labs, people, samples, storage, runs and results.

Safe to run again: a database that already holds the demo is left as it is (only the demo accounts get
the published password back), so ``make demo`` can be repeated. A database holding anything else (a user
account, a lab) is refused unless ``--force``: the demo adds labs and a superuser with a published password.
The shared protocol library (``evlims_load_protocols``) is not counted; ``make demo`` loads it first.

``--scale large`` loads lab-years of data instead: it runs ``evlims_generate`` at its full size (one
generated lab of 100,000 preparations, bulk-written; accounts without passwords, no demo labs).
"""

import argparse
import logging
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from evlims.characterization.models import Measurement
from evlims.core.models import AuditEvent, Lab
from evlims.demo import builder, people
from evlims.demo import scale as lab_years
from evlims.isolation.models import EVPreparation, IsolationRun
from evlims.samples.models import Aliquot, CustodyEvent, Donor, Sample, StorageUnit

LARGE = "large"


def scale_option(value: str) -> float | str:
    if value == LARGE:
        return value
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number or '{LARGE}', not {value!r}") from None


def data_held() -> list[str]:
    """What a database without the demo already holds that the demo would be mixed into: accounts and labs
    (every evlims record belongs to a lab, except the shared protocol library)."""
    counts = [("user account", get_user_model().objects.count()), ("lab", Lab.objects.count())]
    return [f"{count:,} {label}{'s' if count != 1 else ''}" for label, count in counts if count]


class Command(BaseCommand):
    help = "Load deterministic demo data (3 labs, ~200 donors, ~1,000 samples with their history) and print logins."

    def add_arguments(self, parser):
        parser.add_argument("--donors", type=int, default=builder.DEFAULT_DONORS, help="donors in total")
        parser.add_argument("--samples", type=int, default=builder.DEFAULT_SAMPLES, help="samples in total")
        parser.add_argument(
            "--scale",
            type=scale_option,
            default=1.0,
            help="multiply the donor and sample counts (e.g. 0.1 for a quick load, 5 for a bigger one), or "
            f"'{LARGE}': lab-years of data through evlims_generate ({lab_years.DEFAULT_PREPARATIONS:,} preparations)",
        )
        parser.add_argument(
            "--seed",
            type=int,
            help=f"random seed (default {builder.DEFAULT_SEED}; {lab_years.DEFAULT_SEED} with --scale large)",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="load even with DEBUG off or into a database that holds users or labs. The demo accounts share a "
            "published password: never on a live site.",
        )

    def handle(self, *args, donors, samples, scale, seed, force, **options):
        if scale == LARGE:
            # Generated accounts have no password, so unlike the demo this is safe with DEBUG off.
            seed = lab_years.DEFAULT_SEED if seed is None else seed
            call_command("evlims_generate", seed=seed, stdout=self.stdout, verbosity=options["verbosity"])
            return
        seed = builder.DEFAULT_SEED if seed is None else seed
        if donors < 1 or samples < 1 or scale <= 0:
            raise CommandError("--donors, --samples and --scale must be positive.")
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off, so this looks like a live site. The demo accounts share the published password "
                f"{people.DEMO_PASSWORD!r}; pass --force if this database really is a throw-away one."
            )
        held = [] if builder.demo_present() else data_held()
        if held and not force:
            raise CommandError(
                f"This database already holds {' and '.join(held)}. The demo would add its labs and a superuser "
                f"({people.SUPERUSER_NAME!r}) with the published password {people.DEMO_PASSWORD!r}. Load it into "
                "an empty database, or pass --force if this database really is a throw-away one."
            )
        if builder.demo_present():
            reset = people.reset_passwords()
            self.stdout.write(f"Demo data is already loaded; {reset} demo account password(s) reset.")
        else:
            size = builder.DemoSize(donors=donors, samples=samples, seed=seed).scaled(scale)
            started = time.monotonic()
            # Without a broker the follow-up tasks (compliance, metrics) run in-process; one log line
            # per task would bury the summary below.
            logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
            builder.build_demo(size)
            self.stdout.write(
                self.style.SUCCESS(f"Demo data loaded in {time.monotonic() - started:.1f} s (seed {size.seed}).")
            )
        self._print_summary()
        self._print_logins()

    def _print_summary(self):
        counts = [
            ("labs", Lab.objects.count()),
            ("donors", Donor.objects.count()),
            ("samples", Sample.objects.count()),
            ("aliquots", Aliquot.objects.count()),
            ("freezer boxes", StorageUnit.objects.filter(kind=StorageUnit.Kind.BOX).count()),
            ("custody events", CustodyEvent.objects.count()),
            ("isolation runs", IsolationRun.objects.count()),
            ("EV preparations", EVPreparation.objects.count()),
            ("measurements", Measurement.objects.count()),
            ("audit events", AuditEvent.objects.count()),
        ]
        self.stdout.write("  " + ", ".join(f"{count:,} {label}" for label, count in counts))
        by_fluid = Sample.objects.values_list("biofluid").annotate(n=Count("id")).order_by("biofluid")
        self.stdout.write("  samples by biofluid: " + ", ".join(f"{fluid} {n}" for fluid, n in by_fluid))

    def _print_logins(self):
        rows = people.login_rows()
        width = max(len(name) for name, *_ in rows)
        self.stdout.write(f"\nDemo logins (password for all: {people.DEMO_PASSWORD}):")
        for name, lab, role in rows:
            self.stdout.write(f"  {name.ljust(width)}  {role:<16} {lab}")
