"""Label templates saved by a lab's admins, and labels printed: written as ZPL for the lab's template, and sent
to its printer over raw TCP (the port 9100 protocol of Zebra and most network label printers).

Sending is bounded in time (``PRINTER_TIMEOUT_S`` to connect and to send) and every attempt is audited, the
failed ones too, with what went wrong; a failure is then raised as ``PrinterUnreachable`` with the reason in the
lab's words. Only ports 9100–9109 are accepted, so a template cannot be pointed at another service."""

import ipaddress
import re
import socket

from django.core.exceptions import ValidationError
from django.db import transaction

from ..core.audit import record_event
from ..core.models import Role
from ..core.tenancy import WRITER_ROLES, ensure_role
from . import zpl
from .models import LabelTemplate

PRINTER_TIMEOUT_S = 5.0
MAX_LABELS_PER_PRINT = 500
EDITABLE = ("size", "dpi", "symbology", "fields", "printer_host", "printer_port")
HOST_NAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
SAMPLE_CODE = "ALQ-0000000-00"  # the longest code the default barcode format issues, with a split suffix


class PrinterUnreachable(Exception):
    """The printer did not take the labels; the message says why, in the lab's words."""


def template_for(lab) -> LabelTemplate:
    """The lab's template, or the defaults (unsaved) until an admin saves one."""
    found = LabelTemplate.objects.filter(lab=lab).first()
    return found or LabelTemplate(lab=lab, fields=list(LabelTemplate.DEFAULT_FIELDS))


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(HOST_NAME.match(host))


def _checked(values: dict) -> dict:
    errors = {}
    if values["size"] not in zpl.SIZES:
        errors["size"] = [f"Choose one of the label sizes: {', '.join(s.name for s in zpl.SIZES.values())}."]
    if values["dpi"] not in zpl.DPIS:
        errors["dpi"] = ["Choose 203 or 300 dpi."]
    if values["symbology"] not in zpl.SYMBOLOGIES:
        errors["symbology"] = ["Choose Data Matrix or QR code."]
    fields = values["fields"]
    if not isinstance(fields, list) or not all(isinstance(name, str) for name in fields):
        errors["fields"] = ["Give the printed lines as a list of names."]
    else:
        unknown = [name for name in fields if name not in LabelTemplate.FIELDS]
        if unknown:
            errors["fields"] = [f"Unknown line {unknown[0]!r}: choose from {', '.join(LabelTemplate.FIELDS)}."]
        elif len(fields) != len(set(fields)) or len(fields) > zpl.MAX_LINES:
            errors["fields"] = [f"Choose up to {zpl.MAX_LINES} different lines."]
    host = (values["printer_host"] or "").strip()
    if host and not _valid_host(host):
        errors["printer_host"] = ["Give the printer's host name or IP address, without a port or scheme."]
    port = values["printer_port"]
    if not isinstance(port, int) or isinstance(port, bool) or not 9100 <= port <= 9109:
        errors["printer_port"] = ["Raw label printing uses a port from 9100 to 9109."]
    if not errors:
        try:
            zpl.layout(zpl.SIZES[values["size"]], values["dpi"], SAMPLE_CODE, values["symbology"], len(fields))
        except zpl.LabelDoesNotFit as refusal:
            errors["size"] = [str(refusal)]
    if errors:
        raise ValidationError(errors)
    return values | {"printer_host": host}


@transaction.atomic
def label_template_save(*, actor, lab, changes: dict, reason: str = "") -> LabelTemplate:
    """Create or change the lab's label template (lab admins only); ValidationError naming each field at fault."""
    ensure_role(actor, lab.pk, {Role.LAB_ADMIN}, "change the lab's label template")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError({name: ["This cannot be changed."] for name in sorted(unknown)})
    current = LabelTemplate.objects.select_for_update().filter(lab=lab).first() or template_for(lab)
    before = {name: getattr(current, name) for name in EDITABLE}
    values = _checked(before | changes)
    for name, value in values.items():
        setattr(current, name, value)
    if current.pk:
        current.version += 1
    current.save()
    delta = {name: [before[name], values[name]] for name in EDITABLE if before[name] != values[name]}
    record_event(actor=actor, action="label_template.save", obj=current, lab=lab, changes=delta, reason=reason)
    return current


def _line(aliquot, name: str) -> str:
    sample = aliquot.sample
    if name == "code":
        return aliquot.barcode
    if name == "sample":
        return sample.barcode
    if name == "biofluid":
        return sample.get_biofluid_display()
    if name == "volume":
        return f"{aliquot.volume_ul.normalize():f} µL"
    if name == "collected":
        return sample.collected_at.date().isoformat() if sample.collected_at else ""
    if aliquot.box_id:
        return f"{aliquot.box.name} {aliquot.position_label}"
    return ""


def label_contents(aliquots, template: LabelTemplate) -> list[zpl.LabelContent]:
    return [
        zpl.LabelContent(code=aliquot.barcode, lines=tuple(_line(aliquot, name) for name in template.fields))
        for aliquot in aliquots
    ]


def labels_zpl(*, template: LabelTemplate, aliquots) -> str:
    """The aliquots' labels as ZPL for the template; ValidationError when a code does not fit the label."""
    try:
        return zpl.zpl_labels(
            label_contents(aliquots, template),
            size=template.label_size,
            dpi=template.dpi,
            symbology=template.symbology,
        )
    except zpl.LabelDoesNotFit as refusal:
        raise ValidationError({"size": [str(refusal)]}) from refusal


def send_to_printer(host: str, port: int, payload: bytes, timeout: float = PRINTER_TIMEOUT_S) -> None:
    """Open a TCP connection, send the bytes and close; PrinterUnreachable (in the lab's words) on any failure."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.settimeout(timeout)
            connection.sendall(payload)
            connection.shutdown(socket.SHUT_WR)
    except TimeoutError as error:
        raise PrinterUnreachable(f"The printer at {host}:{port} did not answer within {timeout:g} s.") from error
    except OSError as error:
        why = error.strerror or type(error).__name__
        raise PrinterUnreachable(f"The printer at {host}:{port} could not be reached: {why}.") from error


def labels_print(*, actor, lab, aliquots, reason: str = "") -> int:
    """Send the aliquots' labels to the lab's printer; returns the number of labels sent. The attempt is audited
    whether the printer took them or not; a failure is then raised as PrinterUnreachable."""
    ensure_role(actor, lab.pk, WRITER_ROLES, "print labels")
    aliquots = list(aliquots)
    if not aliquots:
        raise ValidationError({"aliquots": ["Choose at least one aliquot."]})
    if len(aliquots) > MAX_LABELS_PER_PRINT:
        raise ValidationError({"aliquots": [f"At most {MAX_LABELS_PER_PRINT} labels at a time."]})
    if any(aliquot.lab_id != lab.pk for aliquot in aliquots):
        raise ValidationError({"aliquots": [f"Print only aliquots of {lab.name} on its printer."]})
    template = template_for(lab)
    if not template.printer_host:
        raise ValidationError({"printer": [f"{lab.name} has no label printer address: a lab admin sets it."]})
    payload = labels_zpl(template=template, aliquots=aliquots).encode("utf-8")
    failure = None
    try:
        send_to_printer(template.printer_host, template.printer_port, payload)
    except PrinterUnreachable as error:
        failure = error
    with transaction.atomic():
        record_event(
            actor=actor,
            action="labels.print" if failure is None else "labels.print_failed",
            obj=lab,
            lab=lab,
            changes={
                "printer": f"{template.printer_host}:{template.printer_port}",
                "aliquots": [aliquot.barcode for aliquot in aliquots],
                **({"error": str(failure)} if failure else {}),
            },
            reason=reason,
        )
    if failure is not None:
        raise failure
    return len(aliquots)
