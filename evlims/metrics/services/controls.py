"""Writing control materials: lab admins define a reference material and link the samples it was drawn
from. Every write checks the role, runs in one transaction and leaves an audit event."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from ...core.audit import record_event, snapshot
from ...core.models import Role
from ...core.tenancy import ensure_role
from ...samples.models import Sample
from ..models import ControlMaterial
from ..westgard import full_baseline_points

ADMIN_ROLES = frozenset({Role.LAB_ADMIN})
MATERIAL_FIELDS = (
    "name",
    "description",
    "target_mean_particles_per_ug",
    "target_sd_particles_per_ug",
    "baseline_points",
)
# The SD is estimated from the baseline (n-1), so it needs at least two points.
MIN_BASELINE_POINTS = 2
MAX_BASELINE_POINTS = 200
# What the material form and the API say about targets and baselines (one wording for both).
TARGET_HELP = (
    "The assigned arithmetic mean, in particles/µg. Particles per µg is judged on a log scale: the mean and SD are"
    " converted to the geometric mean and the SD of log10 the chart uses. Leave empty to estimate them from a"
    " baseline."
)
BASELINE_HELP = (
    "Without targets (and always for particle yield) the first N runs estimate mean and SD. Westgard and CLSI C24"
    f" ask for at least {full_baseline_points()}: with fewer, or until {full_baseline_points()} runs are in, the"
    " limits are provisional and the chart says so."
)


def _check_targets(mean, sd, baseline_points) -> None:
    errors = {}
    if (mean is None) != (sd is None):
        errors["target_sd_particles_per_ug"] = "Give both the target mean and the target SD, or neither."
    if mean is not None and mean <= 0:
        errors["target_mean_particles_per_ug"] = "The target mean must be more than 0."
    if sd is not None and sd <= 0:
        errors["target_sd_particles_per_ug"] = "The target SD must be more than 0."
    if baseline_points is None or baseline_points < MIN_BASELINE_POINTS:
        errors["baseline_points"] = f"A baseline needs at least {MIN_BASELINE_POINTS} points to estimate an SD."
    if errors:
        raise ValidationError(errors)


def _lab_samples(lab_id: int, barcodes: Iterable[str]) -> list[Sample]:
    wanted = sorted({code.strip() for code in barcodes if code.strip()})
    found = {sample.barcode: sample for sample in Sample.objects.filter(lab_id=lab_id, barcode__in=wanted)}
    unknown = [code for code in wanted if code not in found]
    if unknown:
        raise ValidationError({"sample_barcodes": f"No sample of this lab has the barcode(s): {', '.join(unknown)}."})
    return [found[code] for code in wanted]


@transaction.atomic
def control_material_create(
    *,
    actor,
    lab,
    name: str,
    description: str = "",
    target_mean_particles_per_ug: float | None = None,
    target_sd_particles_per_ug: float | None = None,
    baseline_points: int = 20,
    sample_barcodes: Iterable[str] = (),
    reason: str = "",
) -> ControlMaterial:
    ensure_role(actor, lab.pk, ADMIN_ROLES, "define control materials")
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the material a name."})
    _check_targets(target_mean_particles_per_ug, target_sd_particles_per_ug, baseline_points)
    if ControlMaterial.objects.filter(lab=lab, name=name).exists():
        raise ValidationError({"name": f"This lab already has a control material named {name!r}."})
    samples = _lab_samples(lab.pk, sample_barcodes)
    material = ControlMaterial.objects.create(
        lab=lab,
        name=name,
        description=description,
        target_mean_particles_per_ug=target_mean_particles_per_ug,
        target_sd_particles_per_ug=target_sd_particles_per_ug,
        baseline_points=baseline_points,
    )
    material.samples.set(samples)
    changes = snapshot(material, MATERIAL_FIELDS) | {"samples": [sample.barcode for sample in samples]}
    record_event(actor=actor, action="control_material.create", obj=material, reason=reason, changes=changes)
    return material


@transaction.atomic
def control_material_link_samples(
    *, actor, material: ControlMaterial, sample_barcodes: Iterable[str], reason: str = ""
) -> list[Sample]:
    """Link more samples to the material; returns the ones newly linked (already linked ones are skipped)."""
    ensure_role(actor, material.lab_id, ADMIN_ROLES, "change control materials")
    samples = _lab_samples(material.lab_id, sample_barcodes)
    if not samples:
        raise ValidationError({"sample_barcodes": "Give at least one sample barcode."})
    linked = set(material.samples.values_list("pk", flat=True))
    new = [sample for sample in samples if sample.pk not in linked]
    if new:
        material.samples.add(*new)
        record_event(
            actor=actor,
            action="control_material.link_samples",
            obj=material,
            reason=reason,
            changes={"samples_linked": [sample.barcode for sample in new]},
        )
    return new


# What an edit may change: the material's fields, and the samples it links (the full list, by barcode).
EDITABLE = (*MATERIAL_FIELDS, "sample_barcodes")
REASON_REQUIRED = (
    "Say why the control material is changed: the limits and verdicts of its charts rest on its targets, baseline"
    " and samples."
)


@transaction.atomic
def control_material_update(*, actor, material: ControlMaterial, reason: str, changes: dict) -> ControlMaterial:
    """Change a material's name, description, targets (both or neither), baseline points or linked samples
    (``sample_barcodes``: every sample it should link, so a sample left out is unlinked). Needs a reason: its
    charts are judged again on what is saved. One audit event with each changed value, old and new."""
    ensure_role(actor, material.lab_id, ADMIN_ROLES, "change control materials")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": REASON_REQUIRED})
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationError({name: "A control material has no such field to change." for name in unknown})
    material = ControlMaterial.objects.select_for_update().get(pk=material.pk)
    before = snapshot(material, MATERIAL_FIELDS)
    after = before | {name: value for name, value in changes.items() if name in MATERIAL_FIELDS}
    after["name"] = (after["name"] or "").strip()
    after["description"] = after["description"] or ""
    if not after["name"]:
        raise ValidationError({"name": "Give the material a name."})
    _check_targets(after["target_mean_particles_per_ug"], after["target_sd_particles_per_ug"], after["baseline_points"])
    if ControlMaterial.objects.filter(lab_id=material.lab_id, name=after["name"]).exclude(pk=material.pk).exists():
        raise ValidationError({"name": f"This lab already has a control material named {after['name']!r}."})
    diff = {name: [before[name], after[name]] for name in MATERIAL_FIELDS if before[name] != after[name]}
    samples = None
    if "sample_barcodes" in changes:
        samples = _lab_samples(material.lab_id, changes["sample_barcodes"] or ())
        linked = sorted(material.samples.values_list("barcode", flat=True))
        wanted = [sample.barcode for sample in samples]
        if linked != wanted:
            diff["samples"] = [linked, wanted]
    if not diff:
        raise ValidationError({"__all__": "Nothing to change: every value is as saved."})
    for name in MATERIAL_FIELDS:
        setattr(material, name, after[name])
    material.save()
    if samples is not None:
        material.samples.set(samples)
    record_event(actor=actor, action="control_material.update", obj=material, reason=reason, changes=diff)
    return material
