"""``manage.py evlims_anchor_audit``: write an anchor of the audit trail now (the hourly task does the same)."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from evlims.core.audit_anchors import write_anchor


class Command(BaseCommand):
    help = (
        "Append an anchor of the audit trail (its newest event, that event's seal, the number of events), sealed "
        "with the audit key, to the folder EVLIMS_AUDIT_ANCHOR_DIR. evlims_verify_audit then reports events "
        "removed up to that point, however the database was changed."
    )

    def handle(self, *args, **options):
        try:
            anchor, path = write_anchor()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        except OSError as error:
            raise CommandError(f"The anchor could not be written: {error}") from error
        if anchor["last_id"] is None:
            covered = "the audit trail is empty"
        else:
            covered = f"{anchor['count']} event(s) up to event {anchor['last_id']}"
        self.stdout.write(
            self.style.SUCCESS(f"Anchor written to {path}: {covered}, sealed with the key '{anchor['key_id']}'.")
        )
