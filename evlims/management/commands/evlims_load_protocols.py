from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from evlims.isolation.services import library_load
from protocols.errors import ProtocolValidationError


class Command(BaseCommand):
    help = "Validate the shipped protocol library and upsert it into the database (safe to re-run)."

    def add_arguments(self, parser):
        parser.add_argument("--root", help="Load from this directory instead of the shipped library.")

    def handle(self, *args, root=None, **options):
        try:
            counts = library_load(root=root)
        except (ValidationError, ProtocolValidationError) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", [str(exc)])))
        self.stdout.write(
            f"Protocol library: {counts['created']} new, {counts['unchanged']} unchanged, "
            f"{counts['drafts_updated']} drafts updated."
        )
