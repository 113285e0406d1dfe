"""The lab's label template (saved by its admins only, checked field by field) and labels sent to its printer:
a real TCP listener on localhost receives the ZPL; an unreachable printer is a clear error, audited too."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from evlims.core.models import AuditEvent, Role
from evlims.labels import services
from evlims.labels.models import LabelTemplate
from tests.labels.printer import FakePrinter, closed_port
from tests.labels.zpl_reader import parse
from tests.security.world import build_lab

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return build_lab("LBL")


@pytest.fixture
def printer():
    listener = FakePrinter()
    yield listener
    listener.close()


def _save(world, **changes):
    return services.label_template_save(
        actor=world.users[Role.LAB_ADMIN], lab=world.lab, changes=changes, reason="New printer"
    )


def test_a_lab_without_a_template_prints_the_defaults(world):
    template = services.template_for(world.lab)
    assert template.pk is None
    assert (template.size, template.dpi, template.symbology) == ("cryo-1.28x0.5", 203, "datamatrix")
    assert template.fields == LabelTemplate.DEFAULT_FIELDS


def test_an_admin_saves_the_template_and_the_change_is_audited(world):
    template = _save(world, size="cap-1x1", dpi=300, symbology="qr", fields=["code", "sample"])
    saved = (template.size, template.dpi, template.symbology, template.fields)
    assert saved == ("cap-1x1", 300, "qr", ["code", "sample"])
    event = AuditEvent.objects.filter(action="label_template.save").latest("id")
    assert event.lab_id == world.lab.pk and event.changes["size"] == ["cryo-1.28x0.5", "cap-1x1"]
    again = _save(world, printer_host="zebra-3.lab.example.org", printer_port=9101)
    assert again.pk == template.pk and again.version == 2 and again.printer_host == "zebra-3.lab.example.org"


@pytest.mark.parametrize("role", [Role.LAB_STAFF, Role.QA_MANAGER])
def test_only_admins_change_the_template(world, role):
    with pytest.raises(PermissionDenied):
        services.label_template_save(actor=world.users[role], lab=world.lab, changes={"dpi": 300}, reason="")
    assert not LabelTemplate.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"size": "a4"}, "size"),
        ({"dpi": 600}, "dpi"),
        ({"symbology": "code128"}, "symbology"),
        ({"fields": ["code", "donor"]}, "fields"),
        ({"fields": "code"}, "fields"),
        ({"fields": ["code", "code"]}, "fields"),
        ({"printer_host": "http://zebra:9100"}, "printer_host"),
        ({"printer_port": 22}, "printer_port"),
        ({"printer_port": "9100"}, "printer_port"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_template_values_are_refused_by_name(world, changes, field):
    with pytest.raises(ValidationError) as refusal:
        _save(world, **changes)
    assert field in refusal.value.message_dict
    assert not LabelTemplate.objects.exists()


def test_labels_are_sent_to_the_printer_as_zpl_and_audited(world, printer):
    _save(world, printer_host="127.0.0.1", printer_port=printer.port, fields=["code", "biofluid", "volume"])
    aliquots = list(world.sample.aliquots.order_by("barcode"))
    sent = services.labels_print(actor=world.users[Role.LAB_STAFF], lab=world.lab, aliquots=aliquots, reason="")
    assert sent == 3
    (job,) = printer.wait_for_jobs(1)
    formats = parse(job.decode("utf-8"))
    assert [f.symbols[0].data for f in formats] == [a.barcode for a in aliquots]
    assert [t.data for t in formats[0].texts] == [aliquots[0].barcode, "Blood plasma", "500 µL"]
    event = AuditEvent.objects.filter(action="labels.print").latest("id")
    assert event.changes["aliquots"] == [a.barcode for a in aliquots]
    assert event.changes["printer"] == f"127.0.0.1:{printer.port}"


def test_an_unreachable_printer_is_a_clear_error_and_the_attempt_is_audited(world):
    port = closed_port()
    _save(world, printer_host="127.0.0.1", printer_port=port)
    with pytest.raises(services.PrinterUnreachable, match=f"127.0.0.1:{port} could not be reached"):
        services.labels_print(actor=world.users[Role.LAB_STAFF], lab=world.lab, aliquots=[world.aliquot], reason="")
    event = AuditEvent.objects.filter(action="labels.print_failed").latest("id")
    assert "could not be reached" in event.changes["error"]


def test_a_printer_that_never_answers_is_given_up_after_the_timeout(world, monkeypatch):
    """A non-routable address (TEST-NET-1 is never answered) with a short timeout: the send gives up in time."""
    monkeypatch.setattr(services, "PRINTER_TIMEOUT_S", 0.2)
    with pytest.raises(services.PrinterUnreachable):
        services.send_to_printer("192.0.2.1", 9100, b"^XA^XZ", timeout=0.2)


def test_printing_needs_an_address_a_writer_and_the_lab_s_own_aliquots(world):
    other = build_lab("OTH")
    staff = world.users[Role.LAB_STAFF]
    with pytest.raises(ValidationError, match="no label printer address"):
        services.labels_print(actor=staff, lab=world.lab, aliquots=[world.aliquot], reason="")
    _save(world, printer_host="127.0.0.1")
    with pytest.raises(ValidationError, match="Print only aliquots of"):
        services.labels_print(actor=staff, lab=world.lab, aliquots=[other.aliquot], reason="")
    with pytest.raises(PermissionDenied):
        services.labels_print(actor=world.users[Role.QA_MANAGER], lab=world.lab, aliquots=[world.aliquot], reason="")
    assert not AuditEvent.objects.filter(action__startswith="labels.print").exists()
