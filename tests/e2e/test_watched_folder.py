"""In the browser: a lab admin points an instrument at its folder under the site's watch root (a folder outside it
is refused on the form), a file the reader drops there shows in the ingestion list as the instrument's upload, and
its page shows the plate read from it; the copy saved next to it shows on the instrument's page as a duplicate."""

import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from evlims.core.models import Role
from evlims.instruments.services import watch_all_folders
from tests.factories import LabFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery"
GEN5 = Path(__file__).resolve().parents[1] / "fixtures" / "instruments" / "plate-reader" / "gen5-bca-two-reads.txt"


def drop(path: Path, data: bytes):
    path.write_bytes(data)
    os.utime(path, (time.time() - 600, time.time() - 600))


def test_a_dropped_file_shows_in_the_ingestion_list(live_server, page, tmp_path, settings):
    root = tmp_path / "instruments"
    (root / "synergy-h1").mkdir(parents=True)
    settings.EVLIMS = {**getattr(settings, "EVLIMS", {}), "WATCH_ROOT": str(root)}
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    member(lab, Role.LAB_ADMIN, username="boss")

    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Lab admin").click()
    page.get_by_role("link", name="Instruments and API keys").click()
    form = page.locator("#instrument-register-form")
    form.get_by_label("Name").fill("Synergy H1")
    form.get_by_label("Kind").select_option(label="Plate reader")
    form.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name=re.compile("Synergy H1"))).to_be_visible()

    watch = page.locator("#watch-folder-form")
    watch.get_by_label("Watched folder").fill("../../etc")
    watch.get_by_role("button", name="Save the folder").click()
    expect(page.locator("#watch-folder-form")).to_contain_text("The folder must lie under")

    watch = page.locator("#watch-folder-form")
    watch.get_by_label("Watched folder").fill("synergy-h1")
    watch.get_by_label("Format").select_option(label="Gen5 (BioTek) plate export as text (.txt)")
    watch.get_by_label("Read (Gen5, EnVision)").fill("562")
    watch.get_by_role("button", name="Save the folder").click()
    expect(page.locator("#watched-folder")).to_contain_text("Watching")
    expect(page.locator("#watched-file-table")).to_contain_text("No file seen yet.")

    drop(root / "synergy-h1" / "BCA 2024-03-14.txt", GEN5.read_bytes())
    drop(root / "synergy-h1" / "BCA 2024-03-14 (copy).txt", GEN5.read_bytes())
    watch_all_folders()  # what the beat task or manage.py evlims_watch does every minute

    page.goto(f"{live_server.url}/results/")
    row = page.get_by_role("row").filter(has_text="BCA 2024-03-14.txt")
    expect(row).to_contain_text("Synergy H1")
    expect(page.get_by_role("row").filter(has_text="(copy)")).to_have_count(0)
    row.get_by_role("link").first.click()
    expect(page.locator("body")).to_contain_text("BCA 2024-03-14.txt")
    expect(page.locator("body")).to_contain_text("562")

    page.goto(f"{live_server.url}/lab-admin/")
    page.get_by_role("link", name="Instruments and API keys").click()
    page.get_by_role("link", name="Synergy H1").click()
    files = page.locator("#watched-file-table")
    expect(files.get_by_role("row").filter(has_text="(copy)")).to_contain_text("Duplicate, not ingested again")
    expect(files.get_by_role("row", name=re.compile(r"^BCA 2024-03-14\.txt"))).to_contain_text("Ingested")
