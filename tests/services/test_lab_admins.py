"""A lab keeps an admin: its admins cannot demote or remove the last one (two demoting each other at once cannot
both succeed: the lab's admin rows are locked); a site administrator still may, being able to name a new one."""

import pytest
from django.core.exceptions import ValidationError

from evlims.core import labs
from evlims.core.models import AuditEvent, Membership, Role
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db


def test_the_last_admin_is_neither_demoted_nor_removed_by_a_lab_admin(lab):
    boss = member(lab, Role.LAB_ADMIN, username="boss")
    membership = Membership.objects.get(user=boss)
    with pytest.raises(ValidationError) as demoted:
        labs.membership_set(actor=boss, lab=lab, user=boss, role=Role.LAB_STAFF, reason="Stepping down")
    assert "boss is the last admin of this lab" in demoted.value.message_dict["role"][0]
    with pytest.raises(ValidationError, match="last admin of this lab"):
        labs.membership_remove(membership, actor=boss, reason="Leaving")
    assert Membership.objects.get(pk=membership.pk).role == Role.LAB_ADMIN
    assert not AuditEvent.objects.exists()


def test_one_of_two_admins_may_go_but_not_the_second(lab):
    boss, deputy = member(lab, Role.LAB_ADMIN, username="boss"), member(lab, Role.LAB_ADMIN, username="deputy")
    labs.membership_set(actor=boss, lab=lab, user=boss, role=Role.QA_MANAGER, reason="Moves to QA")
    with pytest.raises(ValidationError, match="deputy is the last admin"):
        labs.membership_remove(Membership.objects.get(user=deputy), actor=deputy, reason="Leaving")
    assert Membership.objects.get(user=deputy).role == Role.LAB_ADMIN


def test_an_admin_of_another_lab_does_not_count(lab, other_lab):
    boss = member(lab, Role.LAB_ADMIN, username="boss")
    Membership.objects.create(user=UserFactory(username="elsewhere"), lab=other_lab, role=Role.LAB_ADMIN)
    with pytest.raises(ValidationError, match="last admin"):
        labs.membership_set(actor=boss, lab=lab, user=boss, role=Role.LAB_STAFF, reason="x")


def test_other_members_are_changed_and_removed_freely(lab, staff):
    boss = member(lab, Role.LAB_ADMIN, username="boss")
    labs.membership_set(actor=boss, lab=lab, user=staff, role=Role.QA_MANAGER, reason="QA")
    labs.membership_remove(Membership.objects.get(user=staff), actor=boss, reason="Left")
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "membership.edit",
        "membership.remove",
    ]


@pytest.mark.parametrize("site_admin", [None, "superuser"])
def test_a_site_administrator_may_leave_a_lab_without_admins(lab, site_admin):
    actor = UserFactory(username="root", is_superuser=True) if site_admin else None
    boss = member(lab, Role.LAB_ADMIN, username="boss")
    labs.membership_set(actor=actor, lab=lab, user=boss, role=Role.LAB_STAFF, reason="Lab closing")
    labs.membership_remove(Membership.objects.get(user=boss), actor=actor, reason="Lab closed")
    assert not Membership.objects.filter(lab=lab).exists()
