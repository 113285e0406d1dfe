"""Every write to donors, samples, aliquots and storage. Keyword-only; one transaction; one audit event."""

from contextlib import contextmanager
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..conf import evlims_settings
from ..core.audit import record_event, snapshot
from ..core.barcodes import issue_barcode, issue_barcodes
from ..core.editing import apply_edit
from ..core.tenancy import ensure_can_write
from . import selectors
from .models import Aliquot, CustodyEvent, Donor, Sample, StorageUnit

DONOR_FIELDS = {"code", "sex", "age_band", "diagnosis", "diagnosis_ontology_id", "consent_status", "project"}
SAMPLE_EDITABLE = {
    f.name
    for f in Sample._meta.get_fields()
    if getattr(f, "editable", False)
    and f.concrete
    and f.name not in {"id", "lab", "barcode", "version", "created_at", "updated_at"}
}


def _check_same_lab(lab_id, **objects):
    for name, obj in objects.items():
        if obj is not None and obj.lab_id != lab_id:
            raise ValidationError({name: "Belongs to another lab."})


def _validated(instance, *, lookups: bool = True):
    """Field validation. ``lookups=False`` skips what Django checks with a query per record (that each foreign
    key exists, the model's constraints): the bulk path leaves those to the database, which enforces them on
    insert, for related records it has just read or written itself."""
    related = [f.name for f in instance._meta.concrete_fields if f.is_relation] if not lookups else None
    instance.full_clean(exclude=related, validate_unique=False, validate_constraints=lookups)
    return instance


def _with_reason(instance, reason: str):
    """The reason also goes on the django-simple-history row the save writes, so the record's own history
    says why it was created (for a manifest import: which import and row)."""
    if reason:
        instance._change_reason = reason
    return instance


def _new_donor(*, lab, code: str, project=None, reason: str = "", lookups: bool = True, **fields) -> Donor:
    """An unsaved, validated donor as donor_create stores it."""
    donor = Donor(lab=lab, project=project, code=code, **fields)
    return _with_reason(_validated(donor, lookups=lookups), reason)


def _refuse_taken_code(lab_id, code: str, *, donor_pk=None) -> None:
    if Donor.objects.filter(lab_id=lab_id, code=code).exclude(pk=donor_pk).exists():
        raise ValidationError({"code": f"Donor code {code!r} is already used in this lab."})


@contextmanager
def _code_kept_unique(lab_id, code: str, *, donor_pk=None):
    """The write inside. The code is checked before it; a donor given the same code in between (another user,
    the same moment) fails on the database's unique constraint, reported on the code like the check's own
    refusal. Any other integrity error is not hidden."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        _refuse_taken_code(lab_id, code, donor_pk=donor_pk)
        raise


@transaction.atomic
def donor_create(*, actor, lab, code: str, project=None, reason: str = "", **fields) -> Donor:
    ensure_can_write(actor, lab.pk)
    _check_same_lab(lab.pk, project=project)
    _refuse_taken_code(lab.pk, code)
    donor = _new_donor(lab=lab, code=code, project=project, reason=reason, **fields)
    with _code_kept_unique(lab.pk, code):
        donor.save()
    record_event(
        actor=actor,
        action="donor.create",
        obj=donor,
        changes=snapshot(donor, sorted(DONOR_FIELDS)),
        reason=reason,
    )
    return donor


def donor_update(donor, *, actor, reason: str, expected_version: int, changes: dict) -> Donor:
    ensure_can_write(actor, donor.lab_id)
    _check_same_lab(donor.lab_id, project=changes.get("project"))
    code = changes.get("code", donor.code)
    if code != donor.code:
        _refuse_taken_code(donor.lab_id, code, donor_pk=donor.pk)
    with _code_kept_unique(donor.lab_id, code, donor_pk=donor.pk):
        donor = apply_edit(
            donor,
            actor=actor,
            reason=reason,
            expected_version=expected_version,
            changes=changes,
            editable=DONOR_FIELDS,
        )
        _evidence_changed(input_aliquot__sample__donor=donor)
    return donor


def _refuse_taken_barcode(lab_id, barcode: str) -> None:
    holder = selectors.barcode_holders(lab_id, [barcode]).get(barcode)
    if holder:
        raise ValidationError({"barcode": selectors.taken_barcode_message(barcode, holder)})


@contextmanager
def _barcode_kept_unique(lab_id, barcode: str):
    """The insert inside. The barcode is checked before it; a record of the lab given the same barcode in
    between (another user, the same moment) fails on the per-lab unique constraint and is reported on the
    barcode like the check's own refusal. Any other integrity error is not hidden."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        _refuse_taken_barcode(lab_id, barcode)
        raise


@transaction.atomic
def sample_register(
    *,
    actor,
    project,
    biofluid: str,
    volume_ml,
    donor=None,
    barcode: str = "",
    aliquot_volumes_ul=(),
    box=None,
    reason: str = "",
    **fields,
) -> Sample:
    """Register a received sample and, optionally, its first aliquots (placed in free positions of ``box``)."""
    ensure_can_write(actor, project.lab_id)
    _check_same_lab(project.lab_id, donor=donor, box=box)
    barcode = barcode.strip() or issue_barcode(evlims_settings.SAMPLE_BARCODE_PREFIX)
    _refuse_taken_barcode(project.lab_id, barcode)
    try:
        sample = _new_sample(
            project=project,
            donor=donor,
            barcode=barcode,
            biofluid=biofluid,
            volume_ml=volume_ml,
            reason=reason,
            **fields,
        )
    except ValidationError:
        # The model's own check of the per-lab constraint: a record of the lab took the barcode since.
        _refuse_taken_barcode(project.lab_id, barcode)
        raise
    with _barcode_kept_unique(project.lab_id, barcode):
        sample.save()
    record_event(
        actor=actor,
        action="sample.register",
        obj=sample,
        changes=snapshot(sample, ["barcode", "biofluid", "volume_ml", "project", "donor"]),
        reason=reason,
    )
    if aliquot_volumes_ul:
        aliquots_create(actor=actor, sample=sample, volumes_ul=aliquot_volumes_ul, box=box, reason=reason)
    return sample


def _new_sample(
    *, project, donor, barcode: str, biofluid: str, volume_ml, reason: str = "", now=None, lookups=True, **fields
) -> Sample:
    """An unsaved, validated sample as sample_register stores it; not received_at means received ``now``."""
    sample = _validated(
        Sample(
            lab_id=project.lab_id,
            project=project,
            donor=donor,
            barcode=barcode,
            biofluid=biofluid,
            volume_ml=volume_ml,
            **fields,
        ),
        lookups=lookups,
    )
    if sample.received_at is None:
        sample.received_at = now or timezone.now()
    return _with_reason(sample, reason)


def _evidence_changed(**lookup) -> None:
    """The preparations made from these records have a changed experiment document: refresh them on commit."""
    from ..core.hooks import preparations_changed
    from ..isolation.models import EVPreparation

    preparations_changed(EVPreparation.objects.filter(**lookup).values_list("pk", flat=True))


@transaction.atomic
def sample_update(sample, *, actor, reason: str, expected_version: int, changes: dict) -> Sample:
    ensure_can_write(actor, sample.lab_id)
    _check_same_lab(sample.lab_id, donor=changes.get("donor"), project=changes.get("project"))
    sample = apply_edit(
        sample,
        actor=actor,
        reason=reason,
        expected_version=expected_version,
        changes=changes,
        editable=SAMPLE_EDITABLE,
    )
    _evidence_changed(input_aliquot__sample=sample)
    return sample


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


def _first_event(tube, kind, actor, note: str, *, occurred_at=None) -> CustodyEvent:
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


def _received_note(sample) -> str:
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
    _check_same_lab(lab_id, box=box)


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


def _new_tube(*, sample, barcode: str, volume, parent=None, box=None, position=(None, None), reason="") -> Aliquot:
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
    return _with_reason(tube, reason)


def _new_tubes(*, actor, sample, parent, volumes, box, kind, note, reason="") -> list[Aliquot]:
    """New aliquots of ``sample`` (children of ``parent`` if given), placed in free cells of ``box``, each with
    its first custody event."""
    positions = _free_positions(box, len(volumes)) if box else [(None, None)] * len(volumes)
    barcodes = issue_barcodes(evlims_settings.ALIQUOT_BARCODE_PREFIX, len(volumes))
    tubes = []
    for barcode, volume, position in zip(barcodes, volumes, positions, strict=True):
        tube = _new_tube(
            sample=sample, barcode=barcode, volume=volume, parent=parent, box=box, position=position, reason=reason
        )
        _save_placed(tube)
        _first_event(tube, kind, actor, note).save(force_insert=True)
        tubes.append(tube)
    return tubes


def _first_aliquot_volumes(sample, volumes_ul, *, used=Decimal(0)) -> list[Decimal]:
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
    volumes = _first_aliquot_volumes(sample, volumes_ul, used=used)
    created = _new_tubes(
        actor=actor,
        sample=sample,
        parent=None,
        volumes=volumes,
        box=box,
        kind=CustodyEvent.Kind.RECEIVED,
        note=_received_note(sample),
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
def aliquot_thaw(*, actor, aliquot, note: str = "") -> Aliquot:
    ensure_can_write(actor, aliquot.lab_id)
    fresh = _locked(aliquot)
    fresh.freeze_thaw_count += 1
    fresh.version += 1
    fresh.save(update_fields=["freeze_thaw_count", "version", "updated_at"])
    _custody(fresh, CustodyEvent.Kind.THAWED, actor, note=note)
    record_event(
        actor=actor,
        action="aliquot.thaw",
        obj=fresh,
        reason=note,
        changes={"freeze_thaw_count": [fresh.freeze_thaw_count - 1, fresh.freeze_thaw_count]},
    )
    _evidence_changed(input_aliquot=fresh)
    return fresh


@transaction.atomic
def aliquot_consume(*, actor, aliquot, volume_ul, note: str = "") -> Aliquot:
    """Take volume out of an aliquot (e.g. as isolation input); refused beyond what it holds."""
    ensure_can_write(actor, aliquot.lab_id)
    fresh = _locked(aliquot)
    (volume,) = _positive_volumes([volume_ul])
    if volume > fresh.volume_ul:
        raise ValidationError({"volume_ul": f"{fresh} holds {fresh.volume_ul} µL; {volume} µL cannot be taken."})
    _take_volume(fresh, volume)
    _custody(fresh, CustodyEvent.Kind.CONSUMED, actor, volume_change_ul=-volume, note=note)
    record_event(
        actor=actor,
        action="aliquot.consume",
        obj=fresh,
        reason=note,
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


@transaction.atomic
def storage_unit_create(
    *, actor, lab, kind: str, name: str, parent=None, rows=None, columns=None, temperature_c=None
) -> StorageUnit:
    ensure_can_write(actor, lab.pk)
    _check_same_lab(lab.pk, parent=parent)
    expected_parent = StorageUnit.PARENT_KIND.get(kind)
    if expected_parent is None and parent is not None:
        raise ValidationError({"parent": "A site has no parent."})
    if expected_parent is not None and (parent is None or parent.kind != expected_parent):
        raise ValidationError({"parent": f"A {kind} belongs in a {expected_parent}."})
    if kind == StorageUnit.Kind.BOX and not (rows and columns):
        raise ValidationError({"rows": "A box needs its grid size (rows and columns)."})
    if StorageUnit.objects.filter(lab=lab, parent=parent, name=name).exists():
        raise ValidationError({"name": f"{name!r} already exists here."})
    unit = StorageUnit(
        lab=lab,
        parent=parent,
        kind=kind,
        name=name,
        rows=rows,
        columns=columns,
        temperature_c=temperature_c,
        path=f"{parent.path} / {name}" if parent else name,
    )
    _validated(unit).save()
    record_event(actor=actor, action="storage.create", obj=unit, changes=snapshot(unit, ["kind", "name", "path"]))
    return unit
