"""The audit-trail check: an intact chain passes; an edited, removed or truncated trail is reported."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from evlims.core.models import AuditEvent
from evlims.samples import services
from evlims.tasks import audit_trail_problems, verify_audit_trail


@pytest.fixture
def trail(staff, project):
    for volume in ("1", "2", "3"):
        services.sample_register(actor=staff, project=project, biofluid="serum", volume_ml=Decimal(volume))
    return list(AuditEvent.objects.order_by("id"))


def run_command() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("evlims_verify_audit", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_intact_trail_passes(trail):
    out, _ = run_command()
    assert "intact: 3 event(s)" in out
    assert verify_audit_trail() == 0


def test_edited_event_is_reported(trail):
    AuditEvent.objects.filter(pk=trail[1].pk).update(reason="Nothing to see here")
    with pytest.raises(CommandError, match="1 problem"):
        run_command()
    assert audit_trail_problems() == [f"event {trail[1].pk}: content does not match its hash (the event was edited)."]
    assert verify_audit_trail.delay().get() == 1


def test_removed_event_is_reported(trail):
    AuditEvent.objects.filter(pk=trail[1].pk).delete()
    problems = audit_trail_problems()
    assert problems == [f"event {trail[2].pk}: link to the previous event is broken (an event was removed)."]
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("evlims_verify_audit", stdout=StringIO(), stderr=err)
    assert problems[0] in err.getvalue()


def test_removed_newest_event_is_reported(trail):
    AuditEvent.objects.filter(pk=trail[-1].pk).delete()
    problems = audit_trail_problems()
    assert len(problems) == 1 and problems[0].startswith("chain head")


def test_empty_trail_is_intact(db):
    assert audit_trail_problems() == []
