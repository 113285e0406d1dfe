"""The pages of cryo labels and notifications: the ZPL download from the label page, sending to the lab's
printer (a real TCP listener), the lab admin's template page, the notifications list with its unread count in
the top bar, marking read, and the preferences page."""

import pytest
from django.urls import reverse

from evlims.core.models import Role
from evlims.labels.models import LabelTemplate
from evlims.labels.services import label_template_save
from evlims.notifications import kinds
from evlims.notifications.models import Notification, NotificationPreference
from tests.factories import member
from tests.labels.printer import FakePrinter
from tests.labels.zpl_reader import parse

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(lab):
    return member(lab, Role.LAB_ADMIN, username="admin")


def _ids(sample):
    return "&".join(f"aliquot={a.pk}" for a in sample.aliquots.order_by("pk"))


def test_the_label_page_offers_the_zpl_download(member_client, sample):
    page = member_client.get(f"{reverse('evlims:labels')}?{_ids(sample)}")
    assert b"Cryo labels (ZPL)" in page.content and b"Send to the cryo printer" not in page.content
    download = member_client.get(f"{reverse('evlims:labels')}?{_ids(sample)}&format=zpl")
    assert download["Content-Disposition"] == 'attachment; filename="aliquot-labels.zpl"'
    formats = parse(download.content.decode())
    assert sorted(f.symbols[0].data for f in formats) == sorted(a.barcode for a in sample.aliquots.all())


def test_labels_are_sent_to_the_printer_from_the_label_page(member_client, sample, admin, lab):
    printer = FakePrinter()
    try:
        label_template_save(actor=admin, lab=lab, changes={"printer_host": "127.0.0.1", "printer_port": printer.port})
        page = member_client.get(f"{reverse('evlims:labels')}?{_ids(sample)}")
        assert b"Send to the cryo printer" in page.content
        ids = [a.pk for a in sample.aliquots.all()]
        answer = member_client.post(reverse("evlims:labels-print"), {"aliquot": ids}, follow=True)
        assert "2 labels sent to the printer of Vesicle Lab." in answer.content.decode()
        assert len(parse(printer.wait_for_jobs(1)[0].decode())) == 2
    finally:
        printer.close()


def test_the_lab_admin_saves_the_template(client, admin, lab, sample):
    client.force_login(admin)
    url = reverse("evlims:lab-admin-labels", args=[lab.pk])
    page = client.get(url)
    assert page.status_code == 200 and b"label-zpl-preview" in page.content
    answer = client.post(
        url,
        {"size": "cap-1x1", "dpi": "300", "symbology": "qr", "fields": ["code", "volume"], "printer_port": "9100"},
    )
    assert answer.status_code == 302
    template = LabelTemplate.objects.get(lab=lab)
    assert (template.size, template.dpi, template.fields) == ("cap-1x1", 300, ["code", "volume"])
    refused = client.post(
        url, {"size": "cap-1x1", "dpi": "300", "symbology": "qr", "printer_host": "http://x/", "printer_port": "9100"}
    )
    assert refused.status_code == 400 and "host name or IP address" in refused.content.decode()


def test_staff_cannot_open_the_template_page(member_client, lab):
    assert member_client.get(reverse("evlims:lab-admin-labels", args=[lab.pk])).status_code == 403


def test_the_top_bar_counts_unread_and_the_list_marks_them_read(member_client, staff, lab):
    notice = Notification.objects.create(lab=lab, recipient=staff, kind=kinds.REVIEW_APPROVED, title="EVP-1 approved")
    home = member_client.get(reverse("evlims:notification-list"))
    assert 'id="unread-count">1' in home.content.decode() and "EVP-1 approved" in home.content.decode()
    member_client.post(reverse("evlims:notification-mark-read"), {"notification": [notice.pk]})
    assert Notification.objects.get(pk=notice.pk).read_at is not None
    assert 'id="unread-count"' not in member_client.get(reverse("evlims:notification-list")).content.decode()


def test_the_preferences_page_saves_the_choices(member_client, staff):
    page = member_client.get(reverse("evlims:notification-preferences"))
    assert "Review rejected" in page.content.decode()
    checked = {f"{kind}-in_app": "on" for kind in kinds.KINDS} | {f"{kind}-email": "on" for kind in kinds.KINDS}
    del checked["review_rejected-email"]
    member_client.post(reverse("evlims:notification-preferences"), checked)
    choice = NotificationPreference.objects.get(user=staff, kind="review_rejected")
    assert choice.in_app and not choice.email
