"""In the browser: a lab admin registers an instrument, issues it a key with the scopes ticked, sees the key once
(gone after a reload), the instrument uses it against the API, and once the admin revokes it the API refuses it."""

import re

import pytest
from playwright.sync_api import expect

from evlims.core.models import AuditEvent, Role
from evlims.instruments.models import Instrument, InstrumentApiKey
from tests.factories import LabFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery"


def test_register_issue_use_and_revoke_a_key(live_server, page, browser):
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    member(lab, Role.LAB_ADMIN, username="boss")

    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Lab admin").click()
    expect(page.get_by_role("heading", name="Members of Vesicle Lab")).to_be_visible()
    expect(page.locator("#member-table")).to_contain_text("Lab admin")

    page.get_by_role("link", name="Instruments and API keys").click()
    form = page.locator("#instrument-register-form")
    form.get_by_label("Name").fill("NS300 room 2.14")
    form.get_by_label("Kind").select_option(label="Nanoparticle tracking (NanoSight)")
    form.get_by_label("Model").fill("NanoSight NS300")
    form.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name=re.compile("NS300 room 2.14"))).to_be_visible()
    expect(page.locator("#key-table")).to_contain_text("No keys yet")
    instrument = Instrument.objects.get(name="NS300 room 2.14")

    issue = page.locator("#key-issue-form")
    issue.get_by_label(re.compile("Post results")).check()
    issue.get_by_label(re.compile("Read: read the lab")).check()
    issue.get_by_label("Label (optional)").fill("acquisition PC")
    issue.get_by_role("button", name="Issue the key").click()
    shown = page.locator("#issued-key")
    expect(shown).to_contain_text("This is the only time the key is shown.")
    raw_key = page.locator("#new-key").input_value()
    key = InstrumentApiKey.objects.get(instrument=instrument)
    assert raw_key.startswith(f"evl_{key.prefix}_")
    page.locator("#copy-key").click()
    expect(page.locator("#copy-key")).to_have_text("Copied")
    expect(page.locator(f"#key-{key.pk}")).to_contain_text("Post results, Read")

    page.reload()
    expect(page.locator(f"#key-{key.pk}")).to_contain_text("acquisition PC")
    expect(page.locator("#issued-key")).to_have_count(0)
    assert raw_key not in page.content()
    assert InstrumentApiKey.objects.filter(instrument=instrument).count() == 1  # the reload issued nothing

    # The instrument, with its key and nothing else (no browser session).
    machine = browser.new_context()
    api_url = f"{live_server.url}/api/v1/instruments/{instrument.pk}/"
    headers = {"Authorization": f"Api-Key {raw_key}"}
    answer = machine.request.get(api_url, headers=headers)
    assert answer.status == 200 and answer.json()["name"] == "NS300 room 2.14"
    page.reload()
    expect(page.locator(f"#key-{key.pk}")).not_to_contain_text("never")  # its use is noted

    page.locator(f"#key-{key.pk}").get_by_role("link", name="Revoke…").click()
    expect(page.get_by_role("heading", name=re.compile(f"Revoke key {key.prefix}"))).to_be_visible()
    page.get_by_role("button", name="Revoke the key").click()
    expect(page.locator("#key-revoke-form")).to_contain_text("Say why the key is revoked.")
    page.get_by_label("Reason").fill("Acquisition PC replaced")
    page.get_by_label(re.compile("Revoke this key")).check()
    page.get_by_role("button", name="Revoke the key").click()
    expect(page.get_by_text(f"Key {key.prefix}… revoked: it no longer works.")).to_be_visible()
    expect(page.locator(f"#key-{key.pk}")).to_contain_text("Revoked")

    refused = machine.request.get(api_url, headers=headers)
    assert refused.status in (401, 403) and "Invalid or revoked API key." in refused.text()
    machine.close()
    assert list(AuditEvent.objects.filter(lab=lab).order_by("id").values_list("action", flat=True)) == [
        "instrument.register",
        "api_key.issue",
        "api_key.revoke",
    ]
