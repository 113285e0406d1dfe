"""``manage.py evlims_metrics --csv FILE [--json]``: yield and purity figures from a CSV, without the database."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from evlims.metrics import figures
from evlims.metrics.csv_input import CsvInputError, metrics_report, read_preparations_csv

MISSING = "-"


def _format_cell(value: object) -> str:
    if value is None:
        return MISSING
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    cells = [[title for _, title in columns]]
    for row in rows:
        cells.append([_format_cell(row[key]) for key, _ in columns])
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    padded = ("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in cells)
    return "\n".join(line.rstrip() for line in padded)


class Command(BaseCommand):
    help = (
        "Compute particle and protein yield per mL of input, particles per µg protein with its purity class, "
        "and per-run mean and CV% from a preparations CSV. Reads only the file; never touches the database."
    )
    # The command is a pure file-in, report-out tool; system and migration checks would need a database.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("--csv", dest="csv_path", required=True, metavar="FILE", help="preparations CSV")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args, csv_path: str, **options):
        try:
            with open(csv_path, encoding="utf-8-sig", newline="") as handle:
                preparations = read_preparations_csv(handle)
        except OSError as error:
            raise CommandError(f"cannot read {csv_path}: {error.strerror or error}")
        except UnicodeDecodeError as error:
            raise CommandError(f"{csv_path} is not UTF-8 text (byte {error.start})")
        except CsvInputError as error:
            raise CommandError(f"{csv_path}:\n{error}")
        report = metrics_report(preparations)
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, allow_nan=False))
            return
        self.stdout.write("Preparations")
        self.stdout.write(
            _table(
                report["preparations"],
                [("preparation", "preparation")]
                + [(figure.key, figure.short_label.lower()) for figure in figures.CSV_REPORT],
            )
        )
        self.stdout.write("\nRuns")
        self.stdout.write(
            _table(
                report["runs"],
                [
                    ("run", "run"),
                    ("n", "n"),
                    ("mean_particles_per_ug", "mean particles/µg"),
                    ("cv_pct_particles_per_ug", "CV% particles/µg"),
                ],
            )
        )
