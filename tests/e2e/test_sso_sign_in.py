"""Single sign-on in the browser, against the real OpenID Connect provider of tests/sso (a process of its own):
a person signs in with the provider's button, then verifies a review; signing takes them back to the provider,
which asks for their password again, and the signature records that the provider checked who they were."""

import pytest
from playwright.sync_api import expect

from evlims.compliance.models import Signature
from tests.security.world import build_lab
from tests.sso.conftest import running_provider, switch_on

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def provider(live_server, tmp_path):
    with running_provider(tmp_path, site=live_server.url) as running:
        yield running


def provider_sign_in(page, person):
    expect(page.get_by_label("Username")).to_be_visible()
    assert page.url.startswith("http://127.0.0.1:")  # the provider's own page, not evlims
    page.get_by_label("Username").fill(person["username"])
    page.get_by_label("Password").fill(person["password"])
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_with_the_provider_and_sign_a_review_there(live_server, page, settings, provider):
    world = build_lab("WEB")
    switch_on(settings, provider, EVLIMS_OIDC_GROUP_MAP="ev-core-qa=web-lab:qa_manager")
    ines = provider.people["ines"]

    page.goto(f"{live_server.url}/login/?next=/compliance/queue/")
    page.get_by_role("link", name="Sign in with Campus login").click()
    provider_sign_in(page, ines)
    expect(page.get_by_role("heading", name="QA review queue")).to_be_visible()

    page.goto(f"{live_server.url}/compliance/reviews/{world.review.pk}/")
    form = page.locator("#sign-verify")
    expect(form.get_by_label("Your password")).to_have_count(0)
    form.get_by_label("Statement of meaning").fill("Checked against the run sheet")
    form.get_by_role("button", name="Verify and sign with Campus login").click()
    # The provider asks for the password again although its session is still open (prompt=login).
    provider_sign_in(page, ines)

    expect(page.get_by_text("Signed: verified by you.")).to_be_visible()
    signatures = page.locator("#signatures")
    expect(signatures).to_contain_text("Inès Moreau")
    expect(signatures.locator(".signature-method")).to_have_text("Re-authenticated at the identity provider")
    assert Signature.objects.get().method == Signature.Method.OIDC
