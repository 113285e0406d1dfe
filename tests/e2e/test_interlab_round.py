"""In the browser: a coordinating lab opens a comparison round, enrols three labs, adds an item for each and
ships them; each participant reports its result on the item it received; the coordinator closes the round and
reads every z-score; a participant then reads its own scores and the others by code only."""

import pytest
from playwright.sync_api import expect

from tests.approved_world import PASSWORD
from tests.factories import LabFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, base_url, username):
    page.goto(f"{base_url}/comparisons/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_full_round_define_ship_report_score(live_server, page, browser):
    coordinating = LabFactory(name="Reference EV Lab", slug="reference-ev")
    member(coordinating, username="cora")
    partners = [
        LabFactory(name=f"Partner Lab {name}", slug=f"partner-{name.lower()}") for name in ("North", "South", "East")
    ]
    people = [member(lab, username=f"user-{lab.slug}") for lab in partners]

    log_in(page, live_server.url, "cora")
    page.get_by_role("link", name="New round").click()
    page.get_by_label("Scheme code").fill("EV-EQA")
    page.get_by_label("Scheme name").fill("Plasma EV particle count")
    page.get_by_label("Round code").fill("2026-1")
    page.get_by_label("Material of the items").fill("Pooled plasma lot P-7")
    page.get_by_label("σ_pt (standard deviation for proficiency assessment)").fill("5e8")
    page.get_by_role("button", name="Open the round").click()
    expect(page.get_by_role("heading", name="Plasma EV particle count: round 2026-1")).to_be_visible()

    for lab in partners:
        page.locator("#enrol-form").get_by_label("Participant lab").select_option(label=lab.name)
        page.get_by_role("button", name="Enrol").click()
        expect(page.locator("#participants")).to_contain_text(lab.name)
    for index in range(len(partners)):
        page.locator("#item-form").get_by_label("Participant").select_option(index=index + 1)
        page.get_by_role("button", name="Add the item").click()
        expect(page.locator("#participants")).to_contain_text(f"2026-1-00{index + 1}")
    page.get_by_role("button", name="Ship the items").click()
    expect(page.get_by_text("Items sent, results awaited").first).to_be_visible()

    for person, value in zip(people, ["5.0e9", "5.3e9", "7.9e9"], strict=True):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        participant = context.new_page()
        log_in(participant, live_server.url, person.username)
        participant.get_by_role("link", name="Report").first.click()
        participant.get_by_label("Result", exact=True).fill(value)
        participant.get_by_label("Standard uncertainty u(x)").fill("1e8")
        participant.get_by_role("button", name="Report the result").click()
        expect(participant.locator("#your-items")).to_contain_text("Change the result")
        context.close()

    page.reload()
    expect(page.locator("#scores")).to_contain_text("Partner Lab East")
    page.get_by_role("button", name="Close and score the round").click()
    expect(page.get_by_text("Closed and scored").first).to_be_visible()
    east = page.locator("#scores").get_by_role("row").filter(has_text="Partner Lab East")
    expect(east).to_contain_text("unsatisfactory")
    expect(page.locator("#assigned-value")).to_contain_text("Robust consensus")

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    north = context.new_page()
    log_in(north, live_server.url, people[0].username)
    north.get_by_role("link", name="2026-1").first.click()
    expect(north.locator("#summary")).to_contain_text("(you)")
    expect(north.locator("#summary").get_by_role("row")).to_have_count(4)
    expect(north.locator("#scores")).to_contain_text("satisfactory")
    body = north.locator("main").inner_text()
    assert "Partner Lab South" not in body and "Partner Lab East" not in body
    context.close()
