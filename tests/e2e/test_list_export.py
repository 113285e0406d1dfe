"""The preparation list in the browser: filtered by a search and a biofluid, sorted by clicking a header (twice,
for the other direction), and downloaded as CSV: the file holds every row the filters match, in the page's
order, not only the page shown."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from evlims.core.models import Role
from evlims.isolation.models import EVPreparation, IsolationRun
from evlims.samples.services import sample_register
from tests.factories import LabFactory, ProjectFactory, member
from tests.run_states import completed_run_fields

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"


def bench():
    """Five plasma and two serum preparations of one lab, and one plasma preparation of another lab."""
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    other = LabFactory(name="Other Lab", slug="other-lab")
    staff = member(lab, Role.LAB_STAFF, username="ana")
    outsider = member(other, Role.LAB_STAFF, username="olga")
    for owner, user, barcodes in (
        (lab, staff, [("EV-P-3", "blood_plasma"), ("EV-P-0", "blood_plasma"), ("EV-P-4", "blood_plasma")]),
        (lab, staff, [("EV-P-1", "blood_plasma"), ("EV-S-0", "serum"), ("EV-P-2", "blood_plasma")]),
        (lab, staff, [("EV-S-1", "serum")]),
        (other, outsider, [("EV-P-9", "blood_plasma")]),
    ):
        project = ProjectFactory(lab=owner)
        for barcode, biofluid in barcodes:
            sample = sample_register(
                actor=user, project=project, biofluid=biofluid, volume_ml=Decimal("2"), aliquot_volumes_ul=[1000]
            )
            run = IsolationRun.objects.create(
                lab=owner,
                project=project,
                code=f"RUN-{barcode}",
                protocol_name="SEC qEV",
                method="sec",
                operator=user,
                **completed_run_fields(),
            )
            EVPreparation.objects.create(
                lab=owner, run=run, input_aliquot=sample.aliquots.get(), barcode=barcode, input_volume_ul=500
            )


def sign_in(page, base_url):
    page.goto(f"{base_url}/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your labs at a glance")).to_be_visible()


def first_column(page) -> list[str]:
    return [text.strip() for text in page.locator("#preparation-table tbody tr td:first-child a").all_inner_texts()]


def test_filter_sort_and_download_the_preparation_list(live_server, page, settings):
    settings.EVLIMS = {"PAGE_SIZE": 2}
    bench()
    sign_in(page, live_server.url)
    page.goto(live_server.url + reverse("evlims:preparation-list"))
    page.get_by_label("Search", exact=True).fill("ev-p")
    page.get_by_label("Biofluid").select_option(label="Blood plasma")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("5 preparations")).to_be_visible()

    page.get_by_role("link", name="Preparation", exact=True).click()
    header = page.locator("#preparation-table th[aria-sort]")
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(header).to_contain_text("▲")
    assert first_column(page) == ["EV-P-0", "EV-P-1"]
    page.get_by_role("link", name="Preparation", exact=True).click()
    expect(header).to_have_attribute("aria-sort", "descending")
    assert first_column(page) == ["EV-P-4", "EV-P-3"]
    # The next page keeps the filters and the sort.
    page.get_by_role("link", name="Next").click()
    expect(page.locator("#preparation-table tbody tr")).to_have_count(2)
    assert first_column(page) == ["EV-P-2", "EV-P-1"]
    expect(page.get_by_label("Search", exact=True)).to_have_value("ev-p")
    expect(header).to_have_attribute("aria-sort", "descending")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV", exact=True).click()
    download = download_info.value
    assert re.fullmatch(r"evlims-ev-preparations-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8-sig").read())))
    assert rows[0][:3] == ["Preparation", "State", "Run"]
    # Every row the filters match (all pages), in the page's order; nothing of the other lab, no serum.
    assert [row[0] for row in rows[1:]] == ["EV-P-4", "EV-P-3", "EV-P-2", "EV-P-1", "EV-P-0"]
    biofluid = rows[0].index("Biofluid")
    assert {row[biofluid] for row in rows[1:]} == {"Blood plasma"}
