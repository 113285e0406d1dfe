"""Cryo labels through the API: the lab's template (members read, admins change), the ZPL of chosen aliquots as a
download (read back with the test ZPL reader), and labels sent to a real TCP listener standing in for the printer."""

import pytest

from evlims.core.models import AuditEvent
from evlims.labels.models import LabelTemplate
from tests.labels.printer import FakePrinter, closed_port
from tests.labels.zpl_reader import parse

pytestmark = pytest.mark.django_db
API = "/api/v1"


def _template_url(lab):
    return f"{API}/labs/{lab.pk}/label-template/"


def test_members_read_the_defaults_and_admins_change_the_template(staff_api, admin_api, lab):
    answer = staff_api.get(_template_url(lab)).json()
    assert answer["saved"] is False and answer["size"] == "cryo-1.28x0.5" and answer["dpi"] == 203
    refused = staff_api.patch(_template_url(lab), {"dpi": 300}, format="json")
    assert refused.status_code == 403
    changed = admin_api.patch(
        _template_url(lab), {"size": "cap-1x1", "symbology": "qr", "fields": ["code", "volume"]}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["saved"] is True and changed.json()["fields"] == ["code", "volume"]
    assert LabelTemplate.objects.get(lab=lab).symbology == "qr"


def test_bad_values_are_refused_by_name(admin_api, lab):
    answer = admin_api.patch(_template_url(lab), {"printer_port": 22, "fields": ["donor"]}, format="json")
    assert answer.status_code == 400 and {"printer_port", "fields"} <= set(answer.json())
    answer = admin_api.patch(_template_url(lab), {"printer_host": "http://printer/"}, format="json")
    assert answer.status_code == 400 and "printer_host" in answer.json()


def test_another_labs_template_is_not_found(staff_api, other_lab):
    assert staff_api.get(_template_url(other_lab)).status_code == 404


def test_the_zpl_download_holds_one_label_per_aliquot(staff_api, ours):
    ids = [aliquot.pk for aliquot in ours.aliquots]
    answer = staff_api.post(f"{API}/labels/zpl/", {"aliquots": ids}, format="json")
    assert answer.status_code == 200
    assert answer["Content-Disposition"] == 'attachment; filename="aliquot-labels.zpl"'
    formats = parse(answer.content.decode("utf-8"))
    assert [f.symbols[0].data for f in formats] == sorted(a.barcode for a in ours.aliquots)
    assert all(f.symbols[0].barcode == "BX" for f in formats)


def test_another_labs_aliquot_is_not_found_and_nothing_is_printed(staff_api, ours, theirs):
    answer = staff_api.post(f"{API}/labels/zpl/", {"aliquots": [theirs.aliquots[0].pk]}, format="json")
    assert answer.status_code == 404


def test_labels_go_to_the_printer_and_a_dead_printer_answers_502(staff_api, admin_api, lab, ours):
    printer = FakePrinter()
    try:
        admin_api.patch(_template_url(lab), {"printer_host": "127.0.0.1", "printer_port": printer.port}, format="json")
        answer = staff_api.post(f"{API}/labels/print/", {"aliquots": [ours.aliquots[0].pk]}, format="json")
        assert answer.status_code == 200 and answer.json() == {"sent": 1, "printer": f"127.0.0.1:{printer.port}"}
        (job,) = printer.wait_for_jobs(1)
        assert parse(job.decode())[0].symbols[0].data == ours.aliquots[0].barcode
    finally:
        printer.close()
    admin_api.patch(_template_url(lab), {"printer_port": closed_port()}, format="json")
    answer = staff_api.post(f"{API}/labels/print/", {"aliquots": [ours.aliquots[0].pk]}, format="json")
    assert answer.status_code == 502 and "could not be reached" in answer.json()["detail"]
    assert AuditEvent.objects.filter(action="labels.print_failed").exists()
