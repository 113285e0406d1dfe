"""``manage.py evlims_verify_audit``: check that no audit event, anchored state, record, signature or review
state was changed behind the application."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Max

from evlims.core.audit_anchors import anchor_dir, read_anchors
from evlims.core.models import AuditEvent
from evlims.tasks import audit_trail_problems


class Command(BaseCommand):
    help = (
        "Walk the audit trail's sealed chain and compare it with the anchors kept outside the database; compare "
        "records with their history, signatures with what they signed, review states with the trail. Lists "
        "every problem found and exits with status 1 when there is any."
    )

    def handle(self, *args, **options):
        problems = audit_trail_problems()
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"The audit trail has {len(problems)} problem(s).")
        count = AuditEvent.objects.count()
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {count} event(s) checked."))
        folder = anchor_dir()
        if folder is None:
            self.stdout.write(
                "No anchor folder is configured (EVLIMS_AUDIT_ANCHOR_DIR): removal of the newest events, or of "
                "every event, cannot be detected."
            )
        else:
            anchors, _ = read_anchors(folder)
            self.stdout.write(f"{len(anchors)} anchor(s) in {folder} compared.")
        unsealed = AuditEvent.objects.filter(key_id="").aggregate(count=Count("id"), last=Max("id"))
        if unsealed["count"] and getattr(settings, "EVLIMS_AUDIT_UNKEYED_UNTIL", None) is None:
            self.stdout.write(
                f"{unsealed['count']} event(s) up to event {unsealed['last']} were written before the trail was "
                f"keyed. Set EVLIMS_AUDIT_UNKEYED_UNTIL = {unsealed['last']} so that no later unsealed event is "
                "accepted, even in a chain rewritten from its start."
            )
