"""In the browser: a lab admin sets the lab's cryo label template and printer, ticks a sample's aliquots and
downloads their labels as ZPL (read back: one symbol per aliquot), sends them to the printer (a real TCP listener
on localhost); then reads a notification from the bell in the top bar, marks it read and turns off its e-mails."""

import pytest
from playwright.sync_api import expect

from evlims.core.models import Role
from evlims.labels.models import LabelTemplate
from evlims.notifications import kinds
from evlims.notifications.models import Notification, NotificationPreference
from evlims.samples import services
from tests.factories import LabFactory, ProjectFactory, member, storage_box
from tests.labels.printer import FakePrinter
from tests.labels.zpl_reader import parse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery"


@pytest.fixture
def printer():
    listener = FakePrinter()
    yield listener
    listener.close()


def _sign_in(page, url, username):
    page.goto(f"{url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_cryo_labels_from_template_to_printer_and_notifications(live_server, page, printer):
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    boss = member(lab, Role.LAB_ADMIN, username="boss")
    project = ProjectFactory(lab=lab, code="PLASMA1")
    sample = services.sample_register(
        actor=boss,
        project=project,
        biofluid="blood_plasma",
        volume_ml=4,
        aliquot_volumes_ul=[250, 250],
        box=storage_box(lab),
    )
    Notification.objects.create(
        lab=lab,
        recipient=boss,
        kind=kinds.APPROVAL_VOIDED,
        title=f"Approval of {sample.barcode} voided",
        body="A change voided the approval.",
    )

    _sign_in(page, live_server.url, "boss")
    expect(page.locator("#unread-count")).to_contain_text("1")
    page.get_by_role("link", name="Lab admin").click()
    page.get_by_role("link", name="Cryo labels").click()
    form = page.locator("#label-template-form")
    form.get_by_label("Label size").select_option(value="cryo-1.28x0.5")
    form.get_by_label("Printer resolution").select_option(value="300")
    form.get_by_label("Symbol").select_option(label="Data Matrix")
    form.get_by_label("Sample code").check()
    form.get_by_role("button", name="Save the template").click()
    expect(page.locator("#label-template-form")).to_contain_text("Choose up to 4 different lines.")
    form.get_by_label("Collection date").uncheck()
    form.get_by_label("Printer address (optional)").fill("127.0.0.1")
    form.get_by_label("Printer port").fill(str(printer.port))
    form.get_by_role("button", name="Save the template").click()
    expect(page.locator("#label-template-summary")).to_contain_text(f"127.0.0.1:{printer.port}")
    assert LabelTemplate.objects.get(lab=lab).dpi == 300

    page.goto(f"{live_server.url}/samples/{sample.pk}/")
    page.get_by_label("Select all for labels").check()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Cryo labels (ZPL)").click()
    download = download_info.value
    assert download.suggested_filename == "aliquot-labels.zpl"
    formats = parse(open(download.path(), encoding="utf-8").read())
    barcodes = sorted(aliquot.barcode for aliquot in sample.aliquots.all())
    assert [f.symbols[0].data for f in formats] == barcodes
    assert all(sample.barcode in [t.data for t in f.texts] for f in formats)

    page.get_by_role("button", name="Labels (print)").click()
    page.get_by_role("button", name="Send to the cryo printer").click()
    expect(page.get_by_role("alert")).to_contain_text("2 labels sent to the printer of Vesicle Lab.")
    (job,) = printer.wait_for_jobs(1)
    assert [f.symbols[0].data for f in parse(job.decode())] == barcodes

    page.locator("#nav-notifications").click()
    expect(page.locator("#notification-list")).to_contain_text(f"Approval of {sample.barcode} voided")
    page.get_by_role("button", name="Mark read").click()
    expect(page.locator("#unread-count")).to_have_count(0)
    assert Notification.objects.get().read_at is not None

    page.get_by_role("link", name="What I receive").click()
    page.get_by_label("Approval voided by e-mail").uncheck()
    page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_role("alert")).to_contain_text("Your notification preferences are saved.")
    choice = NotificationPreference.objects.get(user=boss, kind=kinds.APPROVAL_VOIDED)
    assert choice.in_app and not choice.email
