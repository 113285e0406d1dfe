"""Writes to aliquots: first aliquots of a sample, splits, moves, thaws, volume taken, shipment or disposal.

Each change of a tube is also a custody event (where it went, the volume it gained or lost)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ...conf import evlims_settings
from ...core.audit import record_event
from ...core.barcodes import issue_barcodes
from ...core.tenancy import ensure_can_write
from ..models import Aliquot, CustodyEvent, Sample, StorageUnit
from ._common import check_same_lab, evidence_changed, with_reason


def _positive_volumes(volumes_ul) -> list[Decimal]:
    volumes = []
    for index, volume in enumerate(volumes_ul, start=1):
        try:
            value = Decimal(str(volume))
        except ArithmeticError:
            raise ValidationError({"volumes_ul": f"Aliquot {index}: {volume!r} is not a number."})
        if not value.is_finite() or value <= 0:
            raise ValidationError({"volumes_ul": f"Aliquot {index}: volume must be more than 0 µL."})
        volumes.append(value)
    if not volumes:
        raise ValidationError({"volumes_ul": "Give at least one aliquot volume."})
    return volumes


def _custody_event(aliquot, kind, actor, **fields) -> CustodyEvent:
    return CustodyEvent(
        lab_id=aliquot.lab_id,
        aliquot=aliquot,
        kind=kind,
        actor=actor,
        occurred_at=fields.pop("occurred_at", None) or timezone.now(),
        **fields,
    )


def _custody(aliquot, kind, actor, **fields):
    event = _custody_event(aliquot, kind, actor, **fields)
    event.save(force_insert=True)
    return event


def first_custody_event(tube, kind, actor, note: str, *, occurred_at=None) -> CustodyEvent:
    """The first custody event of a new tube: where it went and the volume it holds."""
    return _custody_event(
        tube,
        kind,
        actor,
        occurred_at=occurred_at,
        to_location=_location(tube),
        volume_change_ul=tube.volume_ul,
        note=note,
    )


def received_note(sample) -> str:
    return f"Aliquoted from sample {sample}"


def _free_positions(box, count: int):
    taken = set(Aliquot.objects.filter(box=box).values_list("position_row", "position_column"))
    free = [(r, c) for r in range(1, box.rows + 1) for c in range(1, box.columns + 1) if (r, c) not in taken]
    if len(free) < count:
        raise ValidationError({"box": f"Box {box} has {len(free)} free positions; {count} needed."})
    return free[:count]


def _ensure_box(box, lab_id):
    if box is None:
        return
    if box.kind != StorageUnit.Kind.BOX:
        raise ValidationError({"box": f"{box} is a {box.get_kind_display().lower()}, not a box."})
    check_same_lab(lab_id, box=box)


def _save_placed(aliquot):
    """Save a tube (new, or moved). A clash on the database's constraints is named: a new tube's issued barcode
    taken in the lab (the sequence is behind the stored tubes), or the box position taken meanwhile."""
    try:
        with transaction.atomic():
            aliquot.save()
    except IntegrityError:
        others = Aliquot.objects.filter(lab_id=aliquot.lab_id, barcode=aliquot.barcode)
        if aliquot.pk is None and others.exists():
            raise ValidationError(
                {
                    "barcode": f"{aliquot.barcode}, issued to a new aliquot, is already in use by an aliquot of "
                    "this lab: the barcode sequence is behind the stored records. Ask an administrator."
                }
            )
        if aliquot.box_id is None:
            raise
        raise ValidationError({"position": f"Position {aliquot.position_label} in {aliquot.box} is already taken."})


def aliquot_build(*, sample, barcode: str, volume, parent=None, box=None, position=(None, None), reason="") -> Aliquot:
    """An unsaved aliquot of ``sample`` holding ``volume`` µL (a child of ``parent`` if given)."""
    row, column = position
    tube = Aliquot(
        lab_id=sample.lab_id,
        sample=sample,
        parent=parent,
        barcode=barcode,
        initial_volume_ul=volume,
        volume_ul=volume,
        box=box,
        position_row=row,
        position_column=column,
        freeze_thaw_count=parent.freeze_thaw_count if parent else 0,
    )
    return with_reason(tube, reason)


def _new_tubes(*, actor, sample, parent, volumes, box, kind, note, reason="") -> list[Aliquot]:
    """New aliquots of ``sample`` (children of ``parent`` if given), placed in free cells of ``box``, each with
    its first custody event."""
    positions = _free_positions(box, len(volumes)) if box else [(None, None)] * len(volumes)
    barcodes = issue_barcodes(evlims_settings.ALIQUOT_BARCODE_PREFIX, len(volumes))
    tubes = []
    for barcode, volume, position in zip(barcodes, volumes, positions, strict=True):
        tube = aliquot_build(
            sample=sample, barcode=barcode, volume=volume, parent=parent, box=box, position=position, reason=reason
        )
        _save_placed(tube)
        first_custody_event(tube, kind, actor, note, occurred_at=_received_at(sample, kind)).save(force_insert=True)
        tubes.append(tube)
    return tubes


def _received_at(sample, kind):
    """A tube is received when its sample was (the time typed at intake), not when it is registered."""
    return sample.received_at if kind == CustodyEvent.Kind.RECEIVED else None


def first_aliquot_volumes(sample, volumes_ul, *, used=Decimal(0)) -> list[Decimal]:
    """The checked volumes of new first-generation aliquots: positive, and together no more than what is left of
    the sample after ``used`` µL."""
    volumes = _positive_volumes(volumes_ul)
    available = Decimal(sample.volume_ml) * 1000 - used
    if sum(volumes) > available:
        raise ValidationError(
            {
                "volumes_ul": f"Aliquots total {sum(volumes)} µL but only {available} µL of "
                f"{sample} is not yet aliquoted."
            }
        )
    return volumes


@transaction.atomic
def aliquots_create(*, actor, sample, volumes_ul, box=None, reason: str = "") -> list[Aliquot]:
    """First-generation aliquots of a sample; their total cannot exceed what is left of the sample."""
    ensure_can_write(actor, sample.lab_id)
    _ensure_box(box, sample.lab_id)
    _positive_volumes(volumes_ul)  # malformed volumes are refused before the sample is locked
    Sample.objects.select_for_update().filter(pk=sample.pk).first()
    used = sum(
        Aliquot.objects.filter(sample=sample, parent=None).values_list("initial_volume_ul", flat=True),
        Decimal(0),
    )
    volumes = first_aliquot_volumes(sample, volumes_ul, used=used)
    created = _new_tubes(
        actor=actor,
        sample=sample,
        parent=None,
        volumes=volumes,
        box=box,
        kind=CustodyEvent.Kind.RECEIVED,
        note=received_note(sample),
        reason=reason,
    )
    record_event(
        actor=actor,
        action="sample.aliquot",
        obj=sample,
        changes={"aliquots": [[a.barcode, str(a.volume_ul)] for a in created]},
        reason=reason,
    )
    return created


def _location(aliquot) -> str:
    return f"{aliquot.box} {aliquot.position_label}" if aliquot.box_id else ""


def _take_volume(aliquot, volume) -> None:
    """Remove volume from a locked aliquot; an emptied tube is consumed and leaves its box position."""
    aliquot.volume_ul -= volume
    aliquot.version += 1
    if aliquot.volume_ul == 0:
        aliquot.status = Aliquot.Status.CONSUMED
        aliquot.box, aliquot.position_row, aliquot.position_column = None, None, None
    aliquot.save()


def _locked(aliquot) -> Aliquot:
    """Re-read the aliquot under a row lock so volume checks see committed values."""
    fresh = Aliquot.objects.select_for_update(of=("self",)).select_related("box").get(pk=aliquot.pk)
    if fresh.status != Aliquot.Status.AVAILABLE:
        raise ValidationError({"aliquot": f"{fresh} is {fresh.get_status_display().lower()}."})
    return fresh


@transaction.atomic
def aliquot_split(*, actor, aliquot, volumes_ul, box=None, reason: str = "") -> list[Aliquot]:
    """Split an aliquot into children; the parent keeps what is left (and is consumed at zero)."""
    ensure_can_write(actor, aliquot.lab_id)
    _ensure_box(box, aliquot.lab_id)
    parent = _locked(aliquot)
    volumes = _positive_volumes(volumes_ul)
    total = sum(volumes)
    if total > parent.volume_ul:
        raise ValidationError({"volumes_ul": f"Children total {total} µL but {parent} holds {parent.volume_ul} µL."})
    children = _new_tubes(
        actor=actor,
        sample=parent.sample,
        parent=parent,
        volumes=volumes,
        box=box,
        kind=CustodyEvent.Kind.ALIQUOTED,
        note=f"Split from {parent}",
    )
    before = parent.volume_ul
    _take_volume(parent, total)
    _custody(
        parent,
        CustodyEvent.Kind.ALIQUOTED,
        actor,
        volume_change_ul=-total,
        note="Split into " + ", ".join(c.barcode for c in children),
    )
    record_event(
        actor=actor,
        action="aliquot.split",
        obj=parent,
        reason=reason,
        changes={
            "volume_ul": [str(before), str(parent.volume_ul)],
            "children": [c.barcode for c in children],
        },
    )
    return children


@transaction.atomic
def aliquot_move(*, actor, aliquot, box, row: int, column: int, reason: str = "") -> Aliquot:
    ensure_can_write(actor, aliquot.lab_id)
    _ensure_box(box, aliquot.lab_id)
    if box is None:
        raise ValidationError({"box": "Choose a box."})
    if not (1 <= row <= box.rows and 1 <= column <= box.columns):
        raise ValidationError({"position": f"{box} has rows 1–{box.rows} and columns 1–{box.columns}."})
    fresh = _locked(aliquot)
    origin = _location(fresh)
    fresh.box, fresh.position_row, fresh.position_column = box, row, column
    fresh.version += 1
    _save_placed(fresh)
    _custody(fresh, CustodyEvent.Kind.MOVED, actor, from_location=origin, to_location=_location(fresh))
    record_event(
        actor=actor,
        action="aliquot.move",
        obj=fresh,
        reason=reason,
        changes={"location": [origin, _location(fresh)]},
    )
    return fresh


@transaction.atomic
def aliquot_thaw(*, actor, aliquot, reason: str = "") -> Aliquot:
    ensure_can_write(actor, aliquot.lab_id)
    fresh = _locked(aliquot)
    fresh.freeze_thaw_count += 1
    fresh.version += 1
    fresh.save(update_fields=["freeze_thaw_count", "version", "updated_at"])
    _custody(fresh, CustodyEvent.Kind.THAWED, actor, note=reason)
    record_event(
        actor=actor,
        action="aliquot.thaw",
        obj=fresh,
        reason=reason,
        changes={"freeze_thaw_count": [fresh.freeze_thaw_count - 1, fresh.freeze_thaw_count]},
    )
    evidence_changed(actor=actor, reason=reason, input_aliquot=fresh)
    return fresh


@transaction.atomic
def aliquot_consume(*, actor, aliquot, volume_ul, reason: str = "") -> Aliquot:
    """Take volume out of an aliquot (e.g. as isolation input); refused beyond what it holds."""
    ensure_can_write(actor, aliquot.lab_id)
    fresh = _locked(aliquot)
    (volume,) = _positive_volumes([volume_ul])
    if volume > fresh.volume_ul:
        raise ValidationError({"volume_ul": f"{fresh} holds {fresh.volume_ul} µL; {volume} µL cannot be taken."})
    _take_volume(fresh, volume)
    _custody(fresh, CustodyEvent.Kind.CONSUMED, actor, volume_change_ul=-volume, note=reason)
    record_event(
        actor=actor,
        action="aliquot.consume",
        obj=fresh,
        reason=reason,
        changes={"volume_ul": [str(fresh.volume_ul + volume), str(fresh.volume_ul)]},
    )
    return fresh


@transaction.atomic
def aliquot_release(*, actor, aliquot, kind: str, reason: str, destination: str = "") -> Aliquot:
    """Ship or dispose of an aliquot: it leaves its box and can no longer be used."""
    ensure_can_write(actor, aliquot.lab_id)
    statuses = {
        CustodyEvent.Kind.SHIPPED: Aliquot.Status.SHIPPED,
        CustodyEvent.Kind.DISPOSED: Aliquot.Status.DISPOSED,
    }
    if kind not in statuses:
        raise ValidationError({"kind": "Choose shipped or disposed."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why (and, for a shipment, to whom)."})
    fresh = _locked(aliquot)
    origin = _location(fresh)
    fresh.status = statuses[kind]
    fresh.box, fresh.position_row, fresh.position_column = None, None, None
    fresh.version += 1
    fresh.save()
    _custody(fresh, kind, actor, from_location=origin, to_location=destination, note=reason)
    record_event(
        actor=actor,
        action=f"aliquot.{kind}",
        obj=fresh,
        reason=reason,
        changes={"status": [Aliquot.Status.AVAILABLE, fresh.status]},
    )
    return fresh
