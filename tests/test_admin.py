"""The admin manages labs, projects and memberships through the tenancy services: every save is an audit
event with the reason typed on the form, and a lab admin with staff access sees only their own labs."""

import pytest
from django.urls import reverse

from evlims.core.models import AuditEvent, Lab, Membership, Project, Role
from evlims.tasks import audit_trail_problems
from tests.factories import LabFactory, ProjectFactory, UserFactory, member


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def site_admin(client, superuser):
    client.force_login(superuser)
    return client


def test_a_superuser_creates_a_lab_a_project_and_a_membership(site_admin, superuser):
    response = site_admin.post(reverse("admin:evlims_lab_add"), {"name": "Vesicle Biology Lab", "slug": "vesicle"})
    assert response.status_code == 302, response.content.decode()[:2000]
    lab = Lab.objects.get(slug="vesicle")
    site_admin.post(
        reverse("admin:evlims_project_add"),
        {"lab": lab.pk, "code": "PLASMA-01", "title": "Plasma cohort", "description": "", "reason": "New grant"},
    )
    alice = UserFactory(username="alice")
    site_admin.post(reverse("admin:evlims_membership_add"), {"user": alice.pk, "lab": lab.pk, "role": "lab_staff"})

    assert Project.objects.get(lab=lab).code == "PLASMA-01"
    assert Membership.objects.get(user=alice).role == Role.LAB_STAFF
    events = list(AuditEvent.objects.order_by("id").values_list("action", "actor_label", "reason"))
    assert events == [
        ("lab.create", "root", "Added in the admin"),
        ("project.create", "root", "New grant"),
        ("membership.create", "root", "Added in the admin"),
    ]
    assert audit_trail_problems() == []


def test_a_change_needs_a_reason_and_is_audited_with_it(site_admin, lab):
    project = ProjectFactory(lab=lab, code="P1", title="Old title")
    url = reverse("admin:evlims_project_change", args=[project.pk])
    data = {"code": "P1", "title": "New title", "description": "", "expected_version": project.version}

    refused = site_admin.post(url, data)
    assert refused.status_code == 200 and "Say why this record is being changed." in refused.content.decode()
    assert Project.objects.get(pk=project.pk).title == "Old title"

    assert site_admin.post(url, data | {"reason": "Typo in the title"}).status_code == 302
    project.refresh_from_db()
    assert (project.title, project.version) == ("New title", 2)
    event = AuditEvent.objects.get(action="project.edit")
    assert (event.reason, event.changes) == ("Typo in the title", {"title": ["Old title", "New title"]})


def test_a_project_saved_from_a_stale_form_is_refused(site_admin, lab):
    project = ProjectFactory(lab=lab, code="P1", title="Title")
    url = reverse("admin:evlims_project_change", args=[project.pk])
    data = {"code": "P1", "title": "Mine", "description": "", "reason": "Mine", "expected_version": project.version}
    site_admin.post(url, data | {"title": "Theirs", "reason": "Theirs"})

    response = site_admin.post(url, data)
    assert "changed by someone else" in response.content.decode()
    assert Project.objects.get(pk=project.pk).title == "Theirs"


def test_a_role_change_and_a_removal_are_audited(site_admin, lab):
    alice = member(lab, Role.LAB_STAFF, username="alice")
    membership = Membership.objects.get(user=alice)
    change = reverse("admin:evlims_membership_change", args=[membership.pk])
    site_admin.post(change, {"role": "qa_manager", "reason": "Moved to QA"})
    assert Membership.objects.get(pk=membership.pk).role == Role.QA_MANAGER

    site_admin.post(reverse("admin:evlims_membership_delete", args=[membership.pk]), {"post": "yes"})
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert list(AuditEvent.objects.order_by("id").values_list("action", "reason")) == [
        ("membership.edit", "Moved to QA"),
        ("membership.remove", "Removed in the admin"),
    ]


def test_labs_and_projects_cannot_be_deleted_and_the_audit_trail_is_read_only(site_admin, lab):
    project = ProjectFactory(lab=lab)
    assert site_admin.get(reverse("admin:evlims_lab_delete", args=[lab.pk])).status_code == 403
    assert site_admin.get(reverse("admin:evlims_project_delete", args=[project.pk])).status_code == 403
    site_admin.post(
        reverse("admin:evlims_lab_change", args=[lab.pk]), {"name": "Renamed", "slug": lab.slug, "reason": "x"}
    )
    event = AuditEvent.objects.get(action="lab.edit")
    assert site_admin.get(reverse("admin:evlims_auditevent_changelist")).status_code == 200
    assert site_admin.get(reverse("admin:evlims_auditevent_change", args=[event.pk])).status_code == 200
    assert site_admin.get(reverse("admin:evlims_auditevent_add")).status_code == 403


def test_a_lab_admin_with_staff_access_manages_only_their_own_lab(client, lab, other_lab):
    boss = member(lab, Role.LAB_ADMIN, username="boss", is_staff=True)
    boss.user_permissions.add(*_permissions("add_membership", "change_membership", "view_membership", "view_lab"))
    client.force_login(boss)
    newcomer = UserFactory(username="newcomer")
    member(other_lab, Role.LAB_STAFF, username="stranger")

    listed = client.get(reverse("admin:evlims_membership_changelist")).content.decode()
    assert "boss" in listed and "stranger" not in listed
    form = client.get(reverse("admin:evlims_membership_add")).content.decode()
    assert lab.name in form and other_lab.name not in form
    refused = client.post(
        reverse("admin:evlims_membership_add"), {"user": newcomer.pk, "lab": other_lab.pk, "role": "lab_staff"}
    )
    assert refused.status_code == 200 and not Membership.objects.filter(user=newcomer).exists()
    client.post(reverse("admin:evlims_membership_add"), {"user": newcomer.pk, "lab": lab.pk, "role": "lab_staff"})
    assert Membership.objects.get(user=newcomer).lab == lab
    assert client.get(reverse("admin:evlims_lab_add")).status_code == 403  # labs are a site administrator's


def _permissions(*codenames):
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(content_type__app_label="evlims", codename__in=codenames)


def test_the_services_refuse_a_staff_user_who_is_not_a_lab_admin(db, lab):
    from django.core.exceptions import PermissionDenied

    from evlims.core import labs

    staff = member(lab, Role.LAB_STAFF, username="staff", is_staff=True)
    with pytest.raises(PermissionDenied):
        labs.project_create(actor=staff, lab=lab, code="X", title="X")
    with pytest.raises(PermissionDenied):
        labs.lab_create(actor=staff, name="Mine")
    assert not Lab.objects.exclude(pk=lab.pk).exists() and not AuditEvent.objects.exists()
    LabFactory()  # other labs do not change that
    with pytest.raises(PermissionDenied):
        labs.membership_set(actor=staff, lab=lab, user=staff, role=Role.LAB_ADMIN)


def test_the_last_lab_admin_is_neither_demoted_nor_removed_in_the_admin(client, lab):
    """The service refuses it; the admin says so on the form and offers no deletion (never a 500)."""
    boss = member(lab, Role.LAB_ADMIN, username="boss", is_staff=True)
    boss.user_permissions.add(*_permissions("change_membership", "delete_membership", "view_membership"))
    client.force_login(boss)
    membership = Membership.objects.get(user=boss)
    change = reverse("admin:evlims_membership_change", args=[membership.pk])
    refused = client.post(change, {"role": "lab_staff", "reason": "Stepping down"})
    assert refused.status_code == 200
    assert "boss is the last admin of this lab" in refused.content.decode()
    assert client.get(reverse("admin:evlims_membership_delete", args=[membership.pk])).status_code == 403
    bulk = client.post(
        reverse("admin:evlims_membership_changelist"),
        {"action": "delete_selected", "_selected_action": [membership.pk], "post": "yes"},
        follow=True,
    )
    assert bulk.status_code in (200, 403)
    assert Membership.objects.get(pk=membership.pk).role == Role.LAB_ADMIN

    member(lab, Role.LAB_ADMIN, username="deputy")  # with a second admin, stepping down is allowed
    client.post(change, {"role": "lab_staff", "reason": "Stepping down"})
    assert Membership.objects.get(pk=membership.pk).role == Role.LAB_STAFF
