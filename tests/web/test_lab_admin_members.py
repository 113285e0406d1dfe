"""The members page of lab administration: only the lab's admins see and use it (its other members get the 403
page, other labs are a 404); adding a member by username or e-mail, changing a role and removing a member each
go through the tenancy services with the reason typed, one audit event each; the last admin stays."""

import pytest
from django.urls import reverse

from evlims.core.models import AuditEvent, Membership, Role
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(lab):
    return member(lab, Role.LAB_ADMIN, username="boss")


@pytest.fixture
def admin_client(client, boss):
    client.force_login(boss)
    return client


def member_pages(lab, membership):
    return [
        ("get", reverse("evlims:lab-admin-members", args=[lab.pk])),
        ("post", reverse("evlims:lab-admin-members", args=[lab.pk])),
        ("get", reverse("evlims:lab-admin-member", args=[membership.pk])),
        ("post", reverse("evlims:lab-admin-member-role", args=[membership.pk])),
        ("post", reverse("evlims:lab-admin-member-remove", args=[membership.pk])),
    ]


@pytest.mark.parametrize("role", [Role.LAB_STAFF, Role.QA_MANAGER])
def test_other_members_of_the_lab_get_the_403_page(client, lab, boss, role):
    someone = member(lab, role, username="someone")
    client.force_login(someone)
    for method, url in member_pages(lab, Membership.objects.get(user=boss)):
        response = getattr(client, method)(url, {"role": "lab_staff", "reason": "x", "confirm": "on"})
        assert response.status_code == 403, url
        assert b'id="error-page"' in response.content
        assert b"Only an admin of this lab manages its members, instruments and API keys." in response.content
    assert client.get(reverse("evlims:lab-admin")).status_code == 403
    assert Membership.objects.get(user=boss).role == Role.LAB_ADMIN
    assert not AuditEvent.objects.filter(action__startswith="membership.").exists()


def test_an_admin_of_another_lab_gets_a_404(client, lab, other_lab, boss):
    stranger = member(other_lab, Role.LAB_ADMIN, username="stranger")
    client.force_login(stranger)
    for method, url in member_pages(lab, Membership.objects.get(user=boss)):
        assert getattr(client, method)(url, {"role": "lab_staff", "reason": "x", "confirm": "on"}).status_code == 404
    assert client.get(reverse("evlims:lab-admin-members", args=[999999])).status_code == 404


def test_the_top_bar_links_lab_admins_only(client, lab, boss, staff):
    client.force_login(boss)
    assert b'id="nav-lab-admin"' in client.get(reverse("evlims:home")).content
    client.force_login(staff)
    assert b'id="nav-lab-admin"' not in client.get(reverse("evlims:home")).content


def test_an_admin_of_one_lab_goes_straight_to_its_members(admin_client, lab):
    response = admin_client.get(reverse("evlims:lab-admin"))
    assert response.status_code == 302 and response.url == reverse("evlims:lab-admin-members", args=[lab.pk])


def test_an_admin_of_several_labs_chooses_one(client, lab, other_lab, boss):
    Membership.objects.create(user=boss, lab=other_lab, role=Role.LAB_ADMIN)
    client.force_login(boss)
    page = client.get(reverse("evlims:lab-admin")).content.decode()
    assert "Vesicle Lab" in page and "Other Lab" in page


def test_the_list_shows_each_member_with_role_and_since_when_in_the_labs_words(admin_client, lab, staff, qa_manager):
    page = admin_client.get(reverse("evlims:lab-admin-members", args=[lab.pk])).content.decode()
    row = page[page.index(f'id="member-{Membership.objects.get(user=qa_manager).pk}"') :]
    assert "qa" in row[:400] and "QA manager" in row[:400]
    assert Membership.objects.get(user=qa_manager).created_at.strftime("%Y-%m-%d") in row[:600]
    assert "Lab staff" in page and "Lab admin" in page
    for raw in ("lab_staff", "qa_manager", "lab_admin"):
        assert f">{raw}<" not in page


def test_adding_a_member_by_username_and_by_e_mail(admin_client, lab, boss):
    UserFactory(username="carla", email="carla@example.org")
    UserFactory(username="dev", email="Dev@Example.org")
    url = reverse("evlims:lab-admin-members", args=[lab.pk])

    response = admin_client.post(url, {"login": "carla", "role": "lab_staff", "reason": "Joins the plasma project"})
    assert response.status_code == 302
    response = admin_client.post(url, {"login": "dev@example.org", "role": "qa_manager", "reason": "New QA"})
    assert response.status_code == 302
    assert "dev joined Vesicle Lab as QA manager." in admin_client.get(url).content.decode()

    roles = dict(Membership.objects.filter(lab=lab).values_list("user__username", "role"))
    assert roles == {"boss": "lab_admin", "carla": "lab_staff", "dev": "qa_manager"}
    events = list(AuditEvent.objects.filter(action="membership.create").order_by("id"))
    assert [(e.changes, e.reason, e.actor_label) for e in events] == [
        ({"user": "carla", "role": "lab_staff"}, "Joins the plasma project", "boss"),
        ({"user": "dev", "role": "qa_manager"}, "New QA", "boss"),
    ]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"login": "nobody", "role": "lab_staff", "reason": "x"}, "login", "No active account has the username"),
        ({"login": "staff", "role": "lab_staff", "reason": "x"}, "login", "staff is already a member of this lab"),
        ({"login": "twin@example.org", "role": "lab_staff", "reason": "x"}, "login", "Several accounts share"),
        ({"login": "carla", "role": "lab_staff", "reason": ""}, "reason", "Say why this person joins the lab."),
        ({"login": "carla", "role": "overlord", "reason": "x"}, "role", "Select a valid choice"),
        ({"login": "", "role": "lab_staff", "reason": "x"}, "login", "Give the username or e-mail address"),
    ],
)
def test_a_refused_addition_says_why_and_writes_nothing(admin_client, lab, staff, data, field, message):
    UserFactory(username="carla")
    UserFactory(username="twin1", email="twin@example.org")
    UserFactory(username="twin2", email="TWIN@example.org")
    response = admin_client.post(reverse("evlims:lab-admin-members", args=[lab.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["add_form"].errors[field]
    assert Membership.objects.filter(lab=lab).count() == 2
    assert not AuditEvent.objects.filter(action__startswith="membership.").exists()


def test_changing_a_role(admin_client, lab, staff):
    membership = Membership.objects.get(user=staff)
    page = admin_client.get(reverse("evlims:lab-admin-member", args=[membership.pk])).content.decode()
    assert "Lab staff in Vesicle Lab since" in page
    assert page.count('id="role_reason"') == 1 and page.count('id="remove_reason"') == 1  # each label its field
    url = reverse("evlims:lab-admin-member-role", args=[membership.pk])

    refused = admin_client.post(url, {"role": "qa_manager", "reason": ""})
    assert refused.status_code == 400 and "Say why the role changes." in refused.content.decode()
    same = admin_client.post(url, {"role": "lab_staff", "reason": "x"})
    assert same.status_code == 400 and "staff already has this role." in same.content.decode()

    response = admin_client.post(url, {"role": "qa_manager", "reason": "Moved to QA"})
    assert response.status_code == 302 and response.url == reverse("evlims:lab-admin-members", args=[lab.pk])
    assert Membership.objects.get(pk=membership.pk).role == Role.QA_MANAGER
    event = AuditEvent.objects.get(action="membership.edit")
    assert (event.changes, event.reason, event.actor_label) == (
        {"role": ["lab_staff", "qa_manager"]},
        "Moved to QA",
        "boss",
    )


def test_removing_a_member_needs_a_reason_and_a_confirmation(admin_client, lab, staff):
    membership = Membership.objects.get(user=staff)
    url = reverse("evlims:lab-admin-member-remove", args=[membership.pk])
    refused = admin_client.post(url, {"reason": "Left the institute"})
    assert refused.status_code == 400 and "Tick the box to confirm the removal." in refused.content.decode()
    refused = admin_client.post(url, {"confirm": "on"})
    assert refused.status_code == 400 and "Say why this person leaves the lab." in refused.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()

    response = admin_client.post(url, {"reason": "Left the institute", "confirm": "on"})
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    event = AuditEvent.objects.get(action="membership.remove")
    assert (event.changes, event.reason) == ({"user": "staff", "role": "lab_staff"}, "Left the institute")
    assert "staff was removed from Vesicle Lab." in admin_client.get(response.url).content.decode()


def test_the_last_admin_can_be_neither_demoted_nor_removed(admin_client, lab, boss):
    membership = Membership.objects.get(user=boss)
    demoted = admin_client.post(
        reverse("evlims:lab-admin-member-role", args=[membership.pk]), {"role": "lab_staff", "reason": "Stepping down"}
    )
    assert demoted.status_code == 400
    assert "boss is the last admin of this lab" in demoted.content.decode()
    assert "Make another member a lab admin first." in demoted.content.decode()
    removed = admin_client.post(
        reverse("evlims:lab-admin-member-remove", args=[membership.pk]), {"reason": "Leaving", "confirm": "on"}
    )
    assert removed.status_code == 400 and "boss is the last admin of this lab" in removed.content.decode()
    assert Membership.objects.get(pk=membership.pk).role == Role.LAB_ADMIN
    assert not AuditEvent.objects.filter(action__startswith="membership.").exists()


def test_with_a_second_admin_an_admin_may_step_down(admin_client, lab, boss):
    member(lab, Role.LAB_ADMIN, username="deputy")
    membership = Membership.objects.get(user=boss)
    response = admin_client.post(
        reverse("evlims:lab-admin-member-role", args=[membership.pk]), {"role": "lab_staff", "reason": "Stepping down"}
    )
    assert response.status_code == 302 and response.url == reverse("evlims:home")
    assert Membership.objects.get(pk=membership.pk).role == Role.LAB_STAFF
    assert admin_client.get(reverse("evlims:lab-admin-members", args=[lab.pk])).status_code == 403


def test_forms_refuse_a_post_without_the_csrf_token(lab, boss, staff):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(boss)
    response = client.post(
        reverse("evlims:lab-admin-member-role", args=[Membership.objects.get(user=staff).pk]),
        {"role": "qa_manager", "reason": "x"},
    )
    assert response.status_code == 403
    assert Membership.objects.get(user=staff).role == Role.LAB_STAFF
