"""A result in the lab's words, whatever its status: what it said (the figure, the marker finding), and for one
set aside, why, by whom and when. The result page's version history, the preparation page and the compliance
reports list superseded and voided results with these words, apart from the results that count."""

from django.utils import dateformat, timezone

from ...characterization.models import MarkerResult, Measurement
from ...core.numbers import superscript_exponent
from ..forms.results import IMAGING_TECHNIQUES, MARKER_METHODS, PARTICLE_TECHNIQUES, PROTEIN_ASSAYS


def _number(value, digits: int = 3) -> str:
    return superscript_exponent(f"{value:.{digits}g}")


def _detail(measurement, name):
    try:
        return getattr(measurement, name)
    except Exception:  # noqa: BLE001 - RelatedObjectDoesNotExist of the one-to-one: no detail of that kind
        return None


def result_summary(measurement) -> str:
    """What the result said, e.g. "CD63 detected (Western blot)", "12.5 µg/mL protein (BCA)"."""
    kind = measurement.kind
    if kind == Measurement.Kind.PARTICLE:
        particle, values = _detail(measurement, "particle"), measurement.values
        technique = PARTICLE_TECHNIQUES.get(particle.technique, particle.technique) if particle else measurement.method
        parts = []
        if values.get("particles_per_ml") is not None:
            parts.append(f"{_number(values['particles_per_ml'])} particles/mL")
        if values.get("size_mode_nm") is not None:
            parts.append(f"mode {_number(values['size_mode_nm'])} nm")
        return f"{', '.join(parts) or 'no figure'} ({technique})"
    if kind == Measurement.Kind.PROTEIN:
        protein = _detail(measurement, "protein")
        assay = PROTEIN_ASSAYS.get(protein.assay, protein.assay) if protein else measurement.method
        if protein is None or protein.out_of_range or protein.concentration_ug_per_ml is None:
            return f"out of the standard curve's range ({assay})"
        return f"{_number(protein.concentration_ug_per_ml)} µg/mL protein ({assay})"
    if kind == Measurement.Kind.MARKER:
        marker = _detail(measurement, "marker")
        method = MARKER_METHODS.get(measurement.method, measurement.method)
        if marker is None:
            return method
        finding = marker.get_detection_display().lower()
        if marker.detection == MarkerResult.Detection.SEMI_QUANTITATIVE:
            finding = f"semi-quantitative value {_number(marker.semi_quantitative_value)}"
        return f"{marker.protein} {finding} ({method})"
    if kind == Measurement.Kind.IMAGING:
        imaging = _detail(measurement, "imaging")
        technique = IMAGING_TECHNIQUES.get(imaging.technique, imaging.technique) if imaging else measurement.method
        shown = [
            label
            for label, shows in (
                ("wide field", imaging and imaging.wide_field),
                ("close-up", imaging and imaging.close_up),
            )
            if shows
        ]
        return f"{technique}: {', '.join(shown) or 'neither wide field nor close-up'}"
    analyte = _detail(measurement, "analyte")
    if analyte is None:
        return measurement.method
    return f"{_number(analyte.value, 4)} {analyte.unit} ({analyte.assay})"


def status_text(measurement) -> str:
    """ "Superseded by a correction on 6 Dec 2026 14:02 by anna: wrong dilution" and the like; "" when current."""
    if measurement.status == Measurement.Status.CURRENT:
        return ""
    changed = measurement.status_changed_at
    when = f" on {dateformat.format(timezone.localtime(changed), 'j M Y H:i')}" if changed else ""
    who = f" by {measurement.status_changed_by.get_username()}" if measurement.status_changed_by_id else ""
    return f"{measurement.get_status_display()}{when}{who}: {measurement.status_reason}"


def set_aside_rows(measurements) -> list[dict]:
    """Superseded and voided results (``characterization.selectors.results_set_aside``) as reports list them."""
    return [
        {
            "measurement": m,
            "kind": m.get_kind_display(),
            "summary": result_summary(m),
            "status": status_text(m),
            "voided": m.status == Measurement.Status.VOIDED,
            "correction": _detail(m, "superseded_by"),
        }
        for m in measurements
    ]
