"""E-signatures under single sign-on, against a real OpenID Connect provider: a person who signs in there has
no password here, so signing sends them back to the provider to sign in again (``prompt=login``,
``max_age=0``); the signature is recorded, with its method, only when the ID token that comes back is theirs
and its ``auth_time`` is fresh. A stale or foreign re-authentication is refused and audited."""

import time
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from evlims.compliance.models import Review, Signature
from evlims.core.models import AuditEvent, ExternalIdentity
from evlims.review import services as review_services
from tests.security.world import PASSWORD, build_lab

from .conftest import ProviderBrowser, local_path
from .test_oidc_login import sign_in

pytestmark = pytest.mark.django_db
GROUP_MAP = "ev-core-qa=sso-lab:qa_manager"


@pytest.fixture
def world(db):
    return build_lab("SSO")


@pytest.fixture
def signed_in(client, sso_on, oidc_provider, world):
    """Inès, QA manager of the lab through her provider group, signed in through the provider."""

    def start(**settings):
        sso_on(EVLIMS_OIDC_GROUP_MAP=GROUP_MAP, **settings)
        _, browser = sign_in(client, oidc_provider.people["ines"])
        return get_user_model().objects.get(email="ines.moreau@example.org"), browser

    return start


def start_signing(client, review, statement="Checked against the run sheet"):
    answer = client.post(f"/compliance/reviews/{review.pk}/verify/", {"verify-statement": statement})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    return answer["Location"]


def test_the_review_page_offers_signing_at_the_provider_instead_of_a_password(client, signed_in, world):
    signed_in()
    page = client.get(f"/compliance/reviews/{world.review.pk}/").content.decode()
    assert "Verify and sign with Campus login" in page
    assert 'name="verify-password"' not in page


def test_a_fresh_reauthentication_at_the_provider_signs(client, signed_in, world):
    ines, browser = signed_in()
    url = start_signing(client, world.review)
    query = parse_qs(urlparse(url).query)
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]
    assert not Signature.objects.exists()

    back = browser.authorize(url)
    # The provider had a session from the sign-in, yet asked for the password again.
    assert browser.sign_ins == 2
    answer = client.get(local_path(back))

    assert answer.status_code == 302 and answer["Location"] == f"/compliance/reviews/{world.review.pk}/"
    signature = Signature.objects.get()
    assert (signature.signer, signature.meaning, signature.method) == (ines, "verified", Signature.Method.OIDC)
    assert signature.statement == "Checked against the run sheet"
    event = AuditEvent.objects.get(action="review.verify")
    assert event.changes["method"] == "oidc" and event.actor_id == ines.pk
    assert "Signed: verified by you." in client.get(answer["Location"]).content.decode()
    # The answer is used once: the same callback again signs nothing more and says why.
    again = client.get(local_path(back), follow=True)
    assert "does not answer a signature started here" in again.content.decode()
    assert Signature.objects.count() == 1


def test_a_stale_reauthentication_is_refused_and_audited(client, signed_in, world):
    ines, browser = signed_in(EVLIMS_OIDC_SIGNATURE_MAX_AGE="1")
    url = start_signing(client, world.review)
    # The person signs in at the provider, but the answer reaches evlims only after the site's limit.
    back = browser.authorize(url, before_return=lambda: time.sleep(2.5))
    page = client.get(local_path(back), follow=True).content.decode()

    assert not Signature.objects.exists()
    assert Review.objects.get(pk=world.review.pk).state == Review.State.SUBMITTED
    assert "a signature needs one within 1 seconds" in page and "nothing was signed" in page
    refused = AuditEvent.objects.get(action="signature.reauthentication_refused")
    assert refused.actor_id == ines.pk and refused.changes["meaning"] == "verified"
    assert isinstance(refused.changes["auth_time"], int) and "seconds before signing" in refused.changes["why"]
    assert not AuditEvent.objects.filter(action="review.verify").exists()


def test_someone_else_signing_in_at_the_provider_does_not_sign_for_the_signer(client, signed_in, world, oidc_provider):
    signed_in()
    url = start_signing(client, world.review)
    back = ProviderBrowser(oidc_provider.people["tom"]).authorize(url)
    page = client.get(local_path(back), follow=True).content.decode()
    assert not Signature.objects.exists()
    assert "confirmed someone other than you" in page
    assert AuditEvent.objects.filter(action="signature.reauthentication_refused").count() == 1


def test_an_sso_account_cannot_sign_with_a_password_or_without_auth_time(signed_in, world, oidc_provider):
    ines, _ = signed_in()
    identity = ExternalIdentity.objects.get(user=ines)
    # A script handing a password (as the web form does for local accounts) signs nothing: no password here.
    with pytest.raises(ValidationError, match="Signing needs a fresh sign-in at Campus login"):
        review_services.review_verify(actor=ines, review=world.review, password=PASSWORD, statement="ok")
    # An ID token that does not say when the person signed in cannot be shown to be fresh.
    claims = {"iss": identity.issuer, "sub": identity.subject}
    with pytest.raises(ValidationError, match="did not say when you signed in"):
        review_services.review_verify(actor=ines, review=world.review, statement="ok", reauthentication=claims)
    claims["auth_time"] = int(time.time())
    review_services.review_verify(actor=ines, review=world.review, statement="ok", reauthentication=claims)
    assert Signature.objects.get().method == Signature.Method.OIDC
    assert AuditEvent.objects.filter(action="signature.reauthentication_refused").count() == 2


def test_local_accounts_still_sign_with_their_password_when_sso_is_on(sso_on, world):
    sso_on()
    qa = world.users["qa_manager"]
    with pytest.raises(ValidationError, match="The password is not correct"):
        review_services.review_verify(actor=qa, review=world.review, password="wrong", statement="ok")
    review_services.review_verify(actor=qa, review=world.review, password=PASSWORD, statement="ok")
    assert Signature.objects.get().method == Signature.Method.PASSWORD
    assert AuditEvent.objects.get(action="review.verify").changes["method"] == "password"


def test_cancelling_at_the_provider_signs_nothing_and_is_audited(client, signed_in, world):
    signed_in()
    url = start_signing(client, world.review)
    state = parse_qs(urlparse(url).query)["state"][0]
    page = client.get(f"/sso/sign/callback/?state={state}&error=access_denied", follow=True).content.decode()
    assert "Campus login did not confirm who you are (access_denied); nothing was signed." in page
    assert not Signature.objects.exists()
    assert AuditEvent.objects.get(action="signature.reauthentication_refused").changes["auth_time"] is None


def test_the_return_page_is_not_there_without_single_sign_on(client, world):
    client.force_login(world.users["qa_manager"])
    assert client.get("/sso/sign/callback/?state=x&code=y").status_code == 404


def test_the_provider_also_honours_max_age_alone(client, signed_in, world):
    """The test provider asks for the password again on max_age=0 even without prompt=login (as the OpenID
    Connect spec asks of providers), so the signing test does not rest on prompt=login alone."""
    _, browser = signed_in()
    url = start_signing(client, world.review)
    parts = urlparse(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items() if name != "prompt"}
    back = browser.authorize(f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}")
    assert browser.sign_ins == 2
    client.get(local_path(back))
    assert Signature.objects.get().method == Signature.Method.OIDC
