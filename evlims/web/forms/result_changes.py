"""Correcting and voiding a result: the reason (and, to void, the confirmation), and the typed-result form of the
result's kind filled in with what the result says now."""

from django import forms
from django.utils import timezone

from ...characterization.models import Measurement
from ...instruments.particles import SIZE_FIELDS
from .results import PARTICLE_SETTINGS

REASON_HELP = "Kept with the old version and in the audit trail; an approval this change voids is voided with it."


class ResultCorrectionReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason for the change",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=REASON_HELP,
        error_messages={"required": "Say why the result is corrected."},
    )


class ResultVoidForm(forms.Form):
    reason = forms.CharField(
        label="Reason for the change",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=REASON_HELP,
        error_messages={"required": "Say why the result is voided."},
    )
    confirm = forms.BooleanField(
        label="Void this result: it stays in the record, marked void, and counts nowhere any more",
        error_messages={"required": "Tick the box to confirm that the result is void."},
    )


def _yes_no(value) -> str:
    return {True: "yes", False: "no"}.get(value, "")


def _marker(m) -> dict:
    k = m.marker
    return {
        "protein": k.protein,
        "method": m.method,
        "detection": k.detection,
        "semi_quantitative_value": k.semi_quantitative_value,
        **{
            f"antibody_{part}": getattr(k, f"antibody_{part}")
            for part in ("clone", "catalogue", "dilution", "supplier")
        },
        "lysate_buffer": k.lysate_buffer,
        "lysis_protocol": k.lysis_protocol,
        "lysate_reducing": _yes_no(k.lysate_reducing),
        "protein_loaded_ug": k.protein_loaded_ug,
        "compared_with_source_lysate": _yes_no(k.compared_with_source_lysate),
        "topology_assay": k.topology_assay,
        "topology_component": k.topology_component,
        # A protein stored outside the vocabulary was confirmed when recorded; its correction keeps it as typed.
        "protein_confirmed": not k.misev_category,
    }


def _particle(m) -> dict:
    p = m.particle
    return {
        "technique": p.technique,
        "concentration_per_ml": p.concentration_per_ml,
        "concentration_basis": "stock",
        "dilution_factor": p.dilution_factor,
        "calibration": p.calibration,
        **{name: getattr(p, name) for name in SIZE_FIELDS},
        **{name: p.settings.get(name) for name in PARTICLE_SETTINGS if name in (p.settings or {})},
    }


def _protein(m) -> dict:
    p = m.protein
    return {
        "assay": p.assay,
        "concentration_ug_per_ml": p.concentration_ug_per_ml,
        "volume_assayed_ul": p.volume_assayed_ul,
        "out_of_range": p.out_of_range,
    }


def _imaging(m) -> dict:
    i = m.imaging
    return {
        "technique": i.technique,
        "wide_field": i.wide_field,
        "close_up": i.close_up,
        "magnification": i.magnification,
    }


def _analyte(m) -> dict:
    a = m.analyte
    return {"assay": a.assay, "value": a.value, "unit": a.unit}


INITIAL = {
    Measurement.Kind.MARKER: _marker,
    Measurement.Kind.PARTICLE: _particle,
    Measurement.Kind.PROTEIN: _protein,
    Measurement.Kind.IMAGING: _imaging,
    Measurement.Kind.LIPID: _analyte,
    Measurement.Kind.RNA: _analyte,
}


def result_initial(measurement) -> dict:
    """The typed-result form's fields as the result says now (the correction form starts from them)."""
    return {"measured_at": timezone.localtime(measurement.measured_at), **INITIAL[measurement.kind](measurement)}


def kept_particle_parts(measurement) -> dict:
    """What a particle result holds beyond the form (its captures and size distribution), kept in its correction."""
    p = measurement.particle
    parts = {}
    captures = [
        {
            "name": c.name,
            "concentration_per_ml": c.concentration_per_ml,
            "valid": c.valid,
            **{name: getattr(c, name) for name in SIZE_FIELDS},
        }
        for c in p.captures.all()
    ]
    if captures:
        parts["captures"] = captures
    bins = list(p.bins.model.all_versions.filter(analysis=p).values_list("bin_center_nm", "concentration_per_ml"))
    if bins:
        parts["histogram"] = {
            "bin_center_nm": [centre for centre, _ in bins],
            "concentration_per_ml": [value for _, value in bins],
        }
    return parts
