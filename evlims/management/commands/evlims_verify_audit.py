"""``manage.py evlims_verify_audit``: check that no audit event was edited or removed."""

from django.core.management.base import BaseCommand, CommandError

from evlims.core.models import AuditEvent
from evlims.tasks import audit_trail_problems


class Command(BaseCommand):
    help = (
        "Walk the audit trail's hash chain and list every edited or removed event. "
        "Exits with status 1 when the trail has been tampered with."
    )

    def handle(self, *args, **options):
        problems = audit_trail_problems()
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"The audit trail has {len(problems)} problem(s).")
        count = AuditEvent.objects.count()
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {count} event(s) checked."))
