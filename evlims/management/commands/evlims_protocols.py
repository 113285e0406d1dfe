import json

from django.core.management.base import BaseCommand, CommandError

import protocols as protocol_library
from protocols.errors import ProtocolValidationError


class Command(BaseCommand):
    help = "Show the protocol library: `evlims_protocols list [--json]`."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list"])
        parser.add_argument("--json", action="store_true", help="Machine-readable output.")
        parser.add_argument("--root", help="Read this directory instead of the shipped library.")

    def handle(self, *args, action, json=False, root=None, **options):
        try:
            definitions = protocol_library.load_library(root)
        except ProtocolValidationError as exc:
            raise CommandError(str(exc))
        rows = [
            {
                "slug": d.slug,
                "version": d.version,
                "title": d.title,
                "methods": list(d.methods),
                "status": d.status,
                "misev_class": getattr(d.misev_class, "label", str(d.misev_class)),
                "content_hash": d.content_hash,
            }
            for d in definitions
        ]
        if json:
            self.stdout.write(_dumps(rows))
            return
        for row in rows:
            self.stdout.write(f"{row['slug']}@{row['version']:<8} {row['status']:<9} {' → '.join(row['methods'])}")


def _dumps(rows) -> str:
    return json.dumps(rows, indent=2, ensure_ascii=False)
