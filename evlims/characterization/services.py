"""Recording characterization results: validated payloads in, typed rows out, in bulk and all or nothing."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..core.actors import is_person
from ..core.audit import record_event
from ..core.hooks import preparations_changed
from ..core.locks import void_approvals
from ..core.tenancy import INGEST_ROLES, ensure_role
from ..instruments.particles import SIZE_FIELDS
from .measurement_rows import measurements_insert, rows_insert
from .models import (
    AnalyteQuantification,
    ImagingResult,
    MarkerResult,
    Measurement,
    ParticleAnalysis,
    ParticleCapture,
    ProteinQuantification,
    SizeBin,
)
from .payloads import validate_result_documents
from .references import marker_vocabulary
from .subjects import subjects_read

PARTICLE_SCALARS = (
    "dilution_factor",
    "dilution_applied_in_file",
    "concentration_per_ml",
    "instrument_average_concentration_per_ml",
    *SIZE_FIELDS,
)
CAPTURE_FIELDS = ("name", "concentration_per_ml", "valid", *SIZE_FIELDS)


def validate_results(documents) -> list[dict]:
    """Validate a list of result documents; errors are keyed by position, e.g. {"results[2].marker.protein": ...}."""
    return validate_result_documents(documents)


def _guard_locked(actor, preps: dict, reason: str) -> None:
    """Approved preparations are locked: a new result needs a reason, and voids the approval (both audited)."""
    locked = sorted((p for p in preps.values() if p.locked), key=lambda p: p.barcode)
    if not locked:
        return
    if not (reason or "").strip():
        codes = [p.barcode for p in locked]
        raise ValidationError(
            {
                "reason": f"{', '.join(codes)} {'is' if len(codes) == 1 else 'are'} approved and "
                "locked: give a reason to add results (the approval will be voided)."
            }
        )
    void_approvals(actor=actor, preparation_ids={p.pk for p in locked}, reason=reason)


def headline_values(result: dict) -> dict:
    """The few figures metrics and lists read, copied onto Measurement.values."""
    kind = result["kind"]
    if kind == Measurement.Kind.PARTICLE:
        p = result["particle"]
        return {
            k: v
            for k, v in {
                "particles_per_ml": p.get("concentration_per_ml"),
                "size_mode_nm": p.get("size_mode_nm"),
                "size_mean_nm": p.get("size_mean_nm"),
                "d50_nm": p.get("d50_nm"),
            }.items()
            if v is not None
        }
    if kind == Measurement.Kind.PROTEIN:
        value = result["protein"].get("concentration_ug_per_ml")
        return {"protein_ug_per_ml": value} if value is not None else {"out_of_range": True}
    if kind == Measurement.Kind.MARKER:
        m = result["marker"]
        return {"protein": marker_vocabulary().resolve(m["protein"]), "detected": m.get("detected")}
    if kind == Measurement.Kind.IMAGING:
        i = result["imaging"]
        return {"wide_field": i["wide_field"], "close_up": i["close_up"]}
    a = result["analyte"]
    return {"value": a["value"], "unit": a["unit"], "assay": a["assay"]}


def measurements_record(
    *,
    actor,
    lab,
    results: list[dict],
    instrument=None,
    ingestion=None,
    raw_file=None,
    reason: str = "",
    savepoint: bool = True,
) -> list[Measurement]:
    """Store validated results (see validate_results). Either every result is stored or none.

    Inside a caller's transaction the results get a savepoint of their own, unless ``savepoint=False``: for a
    caller that rolls back whole on a refusal (a result post), which saves two statements per post."""
    with transaction.atomic(savepoint=savepoint):
        return _record(actor, lab, results, instrument, ingestion, raw_file, reason)


def _record(actor, lab, results, instrument, ingestion, raw_file, reason) -> list[Measurement]:
    preps, samples = subjects_read(lab.pk, results)
    _guard_locked(actor, preps, reason)
    now = timezone.now()
    measurements = measurements_insert(
        [
            {
                "preparation": preps.get(r.get("preparation")),
                "input_sample": samples.get(r.get("input_sample")),
                "kind": r["kind"],
                "method": r["method"],
                "measured_at": r.get("measured_at") or now,
                "software_version": r.get("software_version", ""),
                "values": headline_values(r),
            }
            for r in results
        ],
        {
            "lab": lab,
            "instrument": instrument,
            "instrument_name": instrument.name if instrument else "",
            "raw_file": raw_file,
            "ingestion": ingestion,
            "recorded_by": actor if is_person(actor) else None,
        },
    )
    _store_details(measurements, results)
    preparations_changed(m.preparation_id for m in measurements)
    record_event(
        actor=actor,
        action="measurements.record",
        obj=ingestion or measurements[0],
        lab=lab,
        reason=reason,
        changes={
            "count": len(measurements),
            "kinds": sorted({m.kind for m in measurements}),
            "measurement_ids": [m.pk for m in measurements][:200],
        },
    )
    return measurements


def _store_details(measurements, results):
    particle_rows, protein_rows, marker_rows, imaging_rows, analyte_rows = [], [], [], [], []
    particle_payloads = []
    vocabulary = marker_vocabulary()
    for measurement, result in zip(measurements, results, strict=True):
        kind = result["kind"]
        if kind == Measurement.Kind.PARTICLE:
            p = result["particle"]
            particle_rows.append(
                ParticleAnalysis(
                    measurement=measurement,
                    technique=p["technique"],
                    sample_name=p.get("name", ""),
                    settings=p.get("settings", {}),
                    calibration=p.get("calibration", ""),
                    computed=p.get("computed", []),
                    **{field: p.get(field) for field in PARTICLE_SCALARS},
                )
            )
            particle_payloads.append(p)
        elif kind == Measurement.Kind.PROTEIN:
            p = result["protein"]
            protein_rows.append(
                {
                    "measurement": measurement,
                    "assay": p["assay"],
                    "concentration_ug_per_ml": p.get("concentration_ug_per_ml"),
                    "volume_assayed_ul": p.get("volume_assayed_ul"),
                    "out_of_range": p.get("out_of_range", False),
                    "standard_curve": p.get("standard_curve", {}),
                }
            )
        elif kind == Measurement.Kind.MARKER:
            marker_rows.append(_marker_row(measurement, result["marker"], vocabulary))
        elif kind == Measurement.Kind.IMAGING:
            i = result["imaging"]
            imaging_rows.append(
                {
                    "measurement": measurement,
                    "technique": i["technique"],
                    "wide_field": i["wide_field"],
                    "close_up": i["close_up"],
                    "magnification": i.get("magnification", ""),
                }
            )
        else:
            a = result["analyte"]
            analyte_rows.append(
                {"measurement": measurement, "assay": a["assay"], "value": a["value"], "unit": a["unit"]}
            )
    # Only the kinds a recording holds: an empty ``bulk_create`` writes nothing but still builds a queryset (about
    # 0.04 ms of CPU for the three particle tables, on every post of another kind).
    analyses = ParticleAnalysis.objects.bulk_create(particle_rows) if particle_rows else []
    for model, rows in (
        (ProteinQuantification, protein_rows),
        (MarkerResult, marker_rows),
        (ImagingResult, imaging_rows),
        (AnalyteQuantification, analyte_rows),
    ):
        if rows:  # as bulk_create, with each row's measurement caching it (measurement.protein …)
            rows_insert(model, rows, {}, tuple(rows[0]))
    captures, bins = [], []
    for analysis, payload in zip(analyses, particle_payloads, strict=True):
        captures += [
            ParticleCapture(
                analysis=analysis,
                **{f: c.get(f) for f in CAPTURE_FIELDS},
                invalid_reason=c.get("invalid_reason") or "",
                included_in_mean=c["valid"] if c.get("included_in_mean") is None else c["included_in_mean"],
            )
            for c in payload.get("captures") or []
        ]
        histogram = payload.get("histogram") or {}
        bins += [
            SizeBin(analysis=analysis, bin_center_nm=center, concentration_per_ml=value)
            for center, value in zip(
                histogram.get("bin_center_nm", []), histogram.get("concentration_per_ml", []), strict=True
            )
        ]
    if captures:
        ParticleCapture.objects.bulk_create(captures, batch_size=1000)
    if bins:
        SizeBin.objects.bulk_create(bins, batch_size=2000)


def _marker_row(measurement, m, vocabulary) -> dict:
    """The MarkerResult row of a marker result, by field name."""
    symbol = vocabulary.resolve(m["protein"])
    subcategories = sorted(vocabulary.subcategories(symbol))
    if m.get("detected") is None:
        detection = MarkerResult.Detection.SEMI_QUANTITATIVE
    else:
        detection = MarkerResult.Detection.DETECTED if m["detected"] else MarkerResult.Detection.NOT_DETECTED
    antibody = m.get("antibody") or {}
    lysate = m.get("lysate") or {}
    topology = m.get("topology") or {}
    return {
        "measurement": measurement,
        "protein": symbol,
        "misev_category": ",".join(subcategories),
        "detection": detection,
        "semi_quantitative_value": m.get("semi_quantitative_value"),
        "antibody_clone": antibody.get("clone", ""),
        "antibody_catalogue": antibody.get("catalogue", ""),
        "antibody_dilution": antibody.get("dilution", ""),
        "antibody_supplier": antibody.get("supplier", ""),
        "lysate_buffer": lysate.get("buffer", ""),
        "lysis_protocol": lysate.get("protocol", ""),
        "lysate_reducing": lysate.get("reducing"),
        "protein_loaded_ug": lysate.get("protein_loaded_ug"),
        "compared_with_source_lysate": lysate.get("compared_with_source"),
        "topology_assay": topology.get("assay", ""),
        "topology_component": topology.get("component", ""),
    }


def record_results(*, actor, lab, documents, reason: str = "", **kwargs) -> list[Measurement]:
    """Validate raw result documents and store them (the entry point for forms and the API)."""
    if is_person(actor):
        ensure_role(actor, lab.pk, INGEST_ROLES, "record results")
    return measurements_record(actor=actor, lab=lab, results=validate_results(documents), reason=reason, **kwargs)


def imaging_record_with_images(*, actor, lab, document: dict, images, reason: str = "") -> Measurement:
    """Record an imaging result and attach its image files (already kept as raw files), in one transaction.

    ``images`` are RawFile rows of the same lab (store them first with instruments.services.raw_file_store,
    so an upload is never lost even if recording fails).
    """
    foreign = [raw for raw in images if raw.lab_id != lab.pk]
    if foreign:
        raise ValidationError({"images": "Images belong to another lab."})
    with transaction.atomic():
        measurement = record_results(actor=actor, lab=lab, documents=[document])[0]
        if measurement.kind != Measurement.Kind.IMAGING:
            raise ValidationError({"kind": "Images can only be attached to an imaging result."})
        measurement.imaging.images.add(*images)
        record_event(
            reason=reason,
            actor=actor,
            action="imaging.images_attach",
            obj=measurement,
            lab=lab,
            changes={"raw_files": [raw.pk for raw in images], "names": [raw.original_name for raw in images]},
        )
    return measurement
