"""``manage.py evlims_generate``: add a lab with lab-years of generated data, fast (bulk inserts).

    python manage.py evlims_generate                        # 100,000 preparations, ~4.5 M rows
    python manage.py evlims_generate --preparations 10000   # the other sizes follow in proportion
    python manage.py evlims_generate --preparations 2000 --samples 5000 --measurements 0 --labs 2

A loader for performance work: rows are written as plain tuples, with COPY on PostgreSQL and
``executemany`` INSERTs on SQLite (see ``evlims/demo/scale/`` for what is and is not written), one
summary audit event per lab. Every run adds new labs (``Generated Lab <n>``); the small demo
(``evlims_demo``) is a separate command, whose ``--scale large`` runs this generator.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from evlims.demo import scale


class Command(BaseCommand):
    help = "Add generated labs with lab-years of samples, runs, preparations and measurements (bulk, seeded)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--preparations",
            type=int,
            default=scale.DEFAULT_PREPARATIONS,
            help=f"EV preparations in total (default {scale.DEFAULT_PREPARATIONS:,}); sets the other defaults",
        )
        parser.add_argument("--samples", type=int, help="samples in total (default: one per preparation)")
        parser.add_argument("--measurements", type=int, help="measurements in total (default: ten per preparation)")
        parser.add_argument("--runs", type=int, help="isolation runs in total (default: one per ten preparations)")
        parser.add_argument("--labs", type=int, default=1, help="labs sharing these counts (default 1)")
        parser.add_argument(
            "--histogram-bins",
            type=int,
            default=scale.DEFAULT_HISTOGRAM_BINS,
            help=f"size-histogram bins per particle measurement (default {scale.DEFAULT_HISTOGRAM_BINS})",
        )
        parser.add_argument("--seed", type=int, default=scale.DEFAULT_SEED, help="random seed of the generator")

    def handle(self, *args, preparations, samples, measurements, runs, labs, histogram_bins, seed, **options):
        try:
            size = scale.ScaleSize.from_preparations(
                preparations,
                samples=samples,
                measurements=measurements,
                runs=runs,
                labs=labs,
                seed=seed,
                histogram_bins=histogram_bins,
            )
        except (TypeError, ValueError) as error:
            raise CommandError(str(error)) from error
        started = time.monotonic()
        verbose = options["verbosity"] > 1
        summaries = scale.generate(size, progress=self.stdout.write if verbose else None)
        elapsed = time.monotonic() - started
        rows = 0
        for summary in summaries:
            counts = summary.counts
            rows += sum(counts.values())
            self.stdout.write(
                f"{summary.lab.name} ({summary.lab.slug}): "
                + ", ".join(f"{value:,} {key.replace('_', ' ')}" for key, value in counts.items())
            )
            self.stdout.write(f"  accounts: {', '.join(user.username for user in summary.users.values())}")
        self.stdout.write(
            self.style.SUCCESS(f"Generated {rows:,} rows in {elapsed:.1f} s ({rows / max(elapsed, 1e-9):,.0f} rows/s).")
        )
