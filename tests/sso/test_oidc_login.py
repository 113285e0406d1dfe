"""Signing in through a real OpenID Connect provider (tests/sso/provider, django-oauth-toolkit in a process of
its own): the sign-in page's button, the round trip, the account made through the audited service, and lab
memberships following the provider's groups where the site maps them."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth import get_user_model

from evlims.core.models import AuditEvent, ExternalIdentity, Membership, Role
from tests.factories import LabFactory

from .conftest import ProviderBrowser, local_path

pytestmark = pytest.mark.django_db
GROUP_MAP = "ev-core-qa=core-lab:qa_manager, all-staff=core-lab:lab_staff; all-staff=other-lab:lab_staff"


def sign_in(client, person, next_url="/"):
    """A person's sign-in through the provider: evlims's redirect, the provider's form, the way back."""
    start = client.get(f"/sso/login/?next={next_url}")
    assert start.status_code == 302
    browser = ProviderBrowser(person)
    back = browser.authorize(start["Location"])
    return client.get(local_path(back)), browser


def test_the_sign_in_page_offers_the_provider_only_when_configured(client, sso_on):
    assert "Sign in with" not in client.get("/login/").content.decode()
    assert client.get("/sso/login/").status_code == 404
    sso_on()
    page = client.get("/login/?next=/samples/").content.decode()
    assert "Sign in with Campus login" in page
    assert 'href="/sso/login/?next=/samples/"' in page


def test_a_first_sign_in_makes_the_account_and_gives_the_mapped_roles(client, sso_on, oidc_provider):
    core, other = LabFactory(slug="core-lab"), LabFactory(slug="other-lab")
    unmapped = LabFactory(slug="unmapped-lab")
    sso_on(EVLIMS_OIDC_GROUP_MAP=GROUP_MAP)
    answer, browser = sign_in(client, oidc_provider.people["ines"], next_url="/samples/")

    assert answer.status_code == 302 and answer["Location"] == "/samples/"
    assert browser.sign_ins == 1
    user = get_user_model().objects.get(email="ines.moreau@example.org")
    assert int(client.session["_auth_user_id"]) == user.pk
    assert not user.has_usable_password()
    assert (user.first_name, user.last_name) == ("Inès", "Moreau")
    identity = ExternalIdentity.objects.get(user=user)
    assert identity.issuer == oidc_provider.issuer and identity.subject
    roles = dict(Membership.objects.filter(user=user).values_list("lab__slug", "role"))
    # The highest role where two groups name a lab; no membership where the map names none.
    assert roles == {core.slug: Role.QA_MANAGER, other.slug: Role.LAB_STAFF}
    assert unmapped.slug not in roles
    event = AuditEvent.objects.get(action="account.sso_create")
    assert event.changes["memberships"] == {"core-lab": [None, "qa_manager"], "other-lab": [None, "lab_staff"]}
    assert event.changes["subject"] == identity.subject and event.actor_id == user.pk


def test_a_later_sign_in_finds_the_account_by_subject_and_follows_the_groups(client, sso_on, oidc_provider):
    core = LabFactory(slug="core-lab")
    sso_on(EVLIMS_OIDC_GROUP_MAP=GROUP_MAP)
    sign_in(client, oidc_provider.people["tom"])
    tom = get_user_model().objects.get(email="tom.berg@example.org")
    assert Membership.objects.get(user=tom, lab=core).role == Role.LAB_STAFF
    # The site's admin made Tom a lab admin by hand; the provider still says only "all-staff": the map wins
    # in the labs it names, and the change is audited with the sign-in.
    Membership.objects.filter(user=tom, lab=core).update(role=Role.LAB_ADMIN)
    kept = Membership.objects.create(user=tom, lab=LabFactory(slug="kept-lab"), role=Role.QA_MANAGER)
    client.logout()
    answer, _ = sign_in(client, oidc_provider.people["tom"])
    assert answer.status_code == 302
    assert get_user_model().objects.filter(email="tom.berg@example.org").count() == 1
    assert Membership.objects.get(user=tom, lab=core).role == Role.LAB_STAFF
    assert Membership.objects.get(pk=kept.pk).role == Role.QA_MANAGER  # a lab the map does not name
    event = AuditEvent.objects.filter(action="account.sso_sign_in").get()
    assert event.changes["memberships"] == {"core-lab": ["lab_admin", "lab_staff"]}


def test_without_a_group_map_memberships_are_left_to_the_lab_admins(client, sso_on, oidc_provider):
    LabFactory(slug="core-lab")
    sso_on()
    sign_in(client, oidc_provider.people["ines"])
    user = get_user_model().objects.get(email="ines.moreau@example.org")
    assert not Membership.objects.filter(user=user).exists()
    assert "memberships" not in AuditEvent.objects.get(action="account.sso_create").changes


def test_a_refused_or_unknown_answer_signs_nobody_in(client, sso_on):
    sso_on()
    start = client.get("/sso/login/")
    state = parse_qs(urlparse(start["Location"]).query)["state"][0]
    refused = client.get(f"/sso/callback/?state={state}&error=access_denied", follow=True)
    assert refused.redirect_chain[-1][0] == "/login/"
    assert "Campus login did not sign you in here" in refused.content.decode()
    # An answer to a request this browser never made (a forged or replayed state) is refused too.
    client.get("/sso/login/")
    forged = client.get("/sso/callback/?state=forged&code=anything", follow=True)
    assert forged.redirect_chain[-1][0] == "/login/" and "_auth_user_id" not in client.session
    assert not get_user_model().objects.exists()


def test_a_deactivated_account_is_signed_out_and_cannot_sign_in_again(client, sso_on, oidc_provider):
    sso_on()
    sign_in(client, oidc_provider.people["ines"])
    assert client.get("/samples/").status_code == 200
    get_user_model().objects.filter(email="ines.moreau@example.org").update(is_active=False)
    assert client.get("/samples/")["Location"].startswith("/login/")
    answer, _ = sign_in(client, oidc_provider.people["ines"])
    assert answer["Location"] == "/login/"
    assert client.get("/samples/")["Location"].startswith("/login/")
