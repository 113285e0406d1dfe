"""``manage.py evlims_lab``: labs, projects and memberships set up from a shell, each change audited."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from evlims.core.models import AuditEvent, Lab, Membership, Project, Role
from evlims.core.tenancy import visible_lab_ids
from evlims.tasks import audit_trail_problems
from tests.factories import UserFactory


def lab_command(*args) -> str:
    out = StringIO()
    call_command("evlims_lab", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


def test_a_lab_its_project_and_a_member_from_the_command_line(alice):
    assert "Lab created: Vesicle Biology Lab (slug vesicle)." in lab_command(
        "create", "Vesicle Biology Lab", "--slug", "vesicle"
    )
    assert "PLASMA-01" in lab_command("project", "vesicle", "PLASMA-01", "Plasma EV cohort")
    assert "alice is Lab staff in Vesicle Biology Lab." in lab_command("member", "Vesicle Biology Lab", "alice")

    lab = Lab.objects.get(slug="vesicle")
    assert Project.objects.get(lab=lab).title == "Plasma EV cohort"
    assert visible_lab_ids(alice) == [lab.pk]
    events = AuditEvent.objects.order_by("id")
    assert list(events.values_list("action", "actor_label")) == [
        ("lab.create", "system"),
        ("project.create", "system"),
        ("membership.create", "system"),
    ]
    assert {event.reason for event in events} == {"Set up with manage.py evlims_lab"}
    assert all(event.lab_id == lab.pk for event in events)
    assert audit_trail_problems() == []


def test_the_slug_comes_from_the_name_and_the_listing_shows_everything(alice):
    lab_command("create", "Renal EV Unit")
    lab_command("project", "renal-ev-unit", "URINE-1", "Urine cohort", "--description", "Spot urine.")
    lab_command("member", "renal-ev-unit", "alice", "--role", "qa_manager", "--reason", "Joins QA")

    listing = lab_command("list")
    assert "Renal EV Unit (slug renal-ev-unit)" in listing
    assert "project URINE-1 — Urine cohort" in listing
    assert "member  alice (QA manager)" in listing
    assert AuditEvent.objects.get(action="membership.create").reason == "Joins QA"


def test_member_changes_a_role_and_removes_a_member(alice):
    lab_command("create", "Vesicle Biology Lab", "--slug", "vesicle")
    lab_command("member", "vesicle", "alice")
    assert "alice is Lab admin" in lab_command("member", "vesicle", "alice", "--role", "lab_admin")
    assert Membership.objects.get(user=alice).role == Role.LAB_ADMIN
    assert AuditEvent.objects.get(action="membership.edit").changes == {"role": ["lab_staff", "lab_admin"]}
    lab_command("member", "vesicle", "alice", "--role", "lab_admin")  # the same role again: nothing to record
    assert AuditEvent.objects.filter(action__startswith="membership.").count() == 2

    assert "alice removed from Vesicle Biology Lab." in lab_command("member", "vesicle", "alice", "--remove")
    assert not Membership.objects.exists()
    assert AuditEvent.objects.get(action="membership.remove").changes == {"user": "alice", "role": "lab_admin"}
    assert audit_trail_problems() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["project", "nowhere", "P1", "Title"], r"No lab with the slug or name 'nowhere' \(labs: vesicle\)"),
        (["member", "vesicle", "bob"], "No user 'bob'. Create the account first"),
        (["member", "vesicle", "alice", "--remove"], "alice is not a member of Vesicle Biology Lab."),
        (["create", "Vesicle Biology Lab"], "name: Lab with this Name already exists."),
        (["create", "Another Lab", "--slug", "vesicle"], "slug: Lab with this Slug already exists."),
        (["project", "vesicle", "P1", "Again"], "Project with this Lab and Code already exists."),
    ],
)
def test_mistakes_are_command_errors_that_say_what_to_do(alice, args, message):
    lab_command("create", "Vesicle Biology Lab", "--slug", "vesicle")
    lab_command("project", "vesicle", "P1", "Title")
    events = AuditEvent.objects.count()
    with pytest.raises(CommandError, match=message):
        lab_command(*args)
    assert AuditEvent.objects.count() == events


def test_an_unknown_role_is_refused_by_the_parser(alice):
    lab_command("create", "Vesicle Biology Lab", "--slug", "vesicle")
    with pytest.raises(CommandError, match="invalid choice: 'boss'"):
        lab_command("member", "vesicle", "alice", "--role", "boss")
