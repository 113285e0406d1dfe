"""A lab member writes a two-step protocol in the form (pre-clearing spin, then SEC): the step's fields follow its
method, a missing required parameter is flagged live at its field, fixed, the draft saved; the YAML tab then
shows the same protocol."""

import re

import pytest
from playwright.sync_api import expect

from evlims.core.models import Role
from evlims.isolation.models import ProtocolVersion
from evlims.isolation.services import parse_protocol_text
from tests.factories import LabFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_write_a_two_step_protocol_in_the_form(live_server, page):
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    member(lab, Role.LAB_STAFF, username="ana")

    page.goto(f"{live_server.url}/protocols/new/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Write a protocol version")).to_be_visible()
    expect(page.locator("#tab-form")).to_have_class(re.compile("active"))
    # The script replaces the plain form's position and removal fields with buttons.
    expect(page.get_by_role("button", name="Show the fields of the chosen methods")).to_be_hidden()

    page.get_by_label("Title").fill("Plasma SEC with pre-clearing")
    page.get_by_label("Identifier").fill("plasma-sec")
    page.get_by_label("Version").fill("1.0.0")
    page.get_by_label("Description").fill("Plasma cleared at 2,500 × g, then a home-made CL-2B column.")
    page.get_by_label("Reference").fill("Böing AN, et al. J Extracell Vesicles 2014;3:23430")
    page.get_by_label("DOI").fill("10.3402/jev.v3.23430")

    # Step 1: a pre-clearing spin. Choosing the method draws its fields, in the lab's words and units.
    steps = page.locator("#protocol-steps > li.protocol-step")
    first = steps.nth(0)
    first.get_by_label("Method").select_option(label="Differential centrifugation (one spin)")
    expect(first.get_by_label(re.compile(r"^Speed \(× g\)"))).to_be_visible()
    first.get_by_label("Short label").fill("pre-clearing")
    first.get_by_label(re.compile(r"^Speed \(× g\)")).fill("2,500")
    first.get_by_label(re.compile(r"^Duration \(min\)")).fill("15")

    # The required "Fraction kept" is still empty: the check says so at the field.
    error = first.locator('[data-field="steps-0-p_fraction_kept"] .field-error')
    expect(error).to_have_text("Step 1, Fraction kept: required: choose one")
    expect(page.locator("#form-problem-list")).to_contain_text("Step 1, Fraction kept: required: choose one")
    first.get_by_label(re.compile(r"^Fraction kept")).select_option(label="Supernatant")
    expect(error).to_have_count(0)

    # Step 2: SEC, added without leaving the page.
    page.get_by_role("button", name="Add a step").click()
    expect(steps).to_have_count(2)
    second = steps.nth(1)
    expect(second.locator(".step-number")).to_have_text("Step 2")
    second.get_by_label("Method").select_option(label="Size-exclusion chromatography")
    expect(second.get_by_label(re.compile(r"^Bed volume \(mL\)"))).to_be_visible()
    second.get_by_label(re.compile(r"^Resin")).fill("Sepharose CL-2B")
    second.get_by_label(re.compile(r"^Bed volume \(mL\)")).fill("10")
    second.get_by_label(re.compile(r"^Fraction volume \(mL\)")).fill("0.5")
    second.get_by_label(re.compile(r"^Fractions collected")).fill("20")
    second.get_by_label(re.compile(r"^Fractions pooled")).fill("4, 5, 6")
    second.get_by_label(re.compile(r"^Mode")).select_option(label="Gravity flow")
    expect(page.locator("#form-valid")).to_be_visible()
    expect(page.locator("#form-chain")).to_have_text(
        "Differential centrifugation (one spin) → Size-exclusion chromatography"
    )

    page.get_by_label("Note for the audit trail").fill("New plasma SEC protocol")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_text(re.compile(r"Draft .* saved"))).to_be_visible()
    version = ProtocolVersion.objects.get(protocol__lab=lab)
    assert version.methods == ["differential_centrifugation", "sec"]
    assert version.definition["steps"][0]["params"]["fraction_kept"] == "supernatant"

    # The draft opens again in the form, and the YAML tab shows the same protocol.
    page.get_by_role("link", name="Edit this draft").click()
    expect(page.locator("#protocol-steps > li.protocol-step")).to_have_count(2)
    expect(page.get_by_label("Title")).to_have_value("Plasma SEC with pre-clearing")
    page.get_by_role("button", name="YAML", exact=True).click()
    editor = page.get_by_label("Protocol (YAML)")
    expect(editor).to_contain_text("method: sec")
    assert parse_protocol_text(editor.input_value()).content_hash == version.content_hash
