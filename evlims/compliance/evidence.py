"""Build portable experiment documents from stored records, for many preparations in a fixed number of queries.

The document is the evaluator's input and also the export format, so a lab can evaluate exported work
offline or write one before doing the work (planning mode).
"""

from django.db.models import Prefetch

from ..characterization.models import Measurement
from ..isolation.models import EVPreparation, RunStep

SAMPLE_FIELDS = (
    "anticoagulant",
    "tube_type",
    "needle_gauge",
    "processing_temperature_c",
    "hemolysis_a414",
    "residual_platelets_per_ul",
    "fasting",
    "storage_temperature_c",
    "urine_collection",
    "pre_clearing_g",
    "cell_line",
    "passage",
    "culture_medium",
    "serum_ev_depleted",
    "conditioning_time_h",
    "cell_count_at_harvest",
    "viability_pct_at_harvest",
)
PARTICLE_METHODS = {"nta": "nta", "zetaview": "nta", "trps": "trps", "nanoflow": "nanoflow", "dls": "dls"}


def _number(value):
    """Decimals become floats so the document is plain JSON; integral floats stay as given."""
    return float(value) if value is not None and not isinstance(value, bool | int | float | str) else value


def _present(mapping: dict) -> dict:
    return {key: value for key, value in mapping.items() if value not in (None, "", [], {})}


def sample_part(prep: EVPreparation) -> dict:
    aliquot = prep.input_aliquot
    sample = aliquot.sample
    part = {field: _number(getattr(sample, field)) for field in SAMPLE_FIELDS}
    part.update(
        biofluid=sample.biofluid,
        volume_ml=float(prep.input_volume_ul) / 1000,
        freeze_thaw_cycles=aliquot.freeze_thaw_count,
        processing_delay_h=sample.processing_delay_min / 60 if sample.processing_delay_min is not None else None,
    )
    if sample.prep_spin_count and sample.prep_spin_g:
        spin = _present({"g_force": sample.prep_spin_g, "duration_min": sample.prep_spin_min})
        part["centrifugation_spins"] = [spin] * sample.prep_spin_count
    return _present(part)


def separation_part(prep: EVPreparation, steps_by_run: dict) -> list[dict]:
    """The protocol's steps with what the run recorded laid over them: the document says what was done."""
    version = prep.run.protocol_version
    if version is None:
        return [{"method": prep.run.method, "params": {}}] if prep.run.method else []
    recorded = steps_by_run.get(prep.run_id, {})
    chain = []
    for number, step in enumerate(version.steps, start=1):
        params = dict(step.get("params") or {})
        if number in recorded:
            params.update(recorded[number].observed)
        chain.append({"method": step["method"], "params": params})
    return chain


def characterization_part(measurements) -> dict:
    part: dict[str, list] = {}
    for m in measurements:
        if m.kind == Measurement.Kind.PARTICLE and hasattr(m, "particle"):
            p = m.particle
            part.setdefault("particle_analysis", []).append(
                _present(
                    {
                        "method": PARTICLE_METHODS.get(p.technique, "other"),
                        "instrument": m.instrument_name,
                        "concentration_per_ml": p.concentration_per_ml or None,
                        "mode_size_nm": p.size_mode_nm or None,
                        "mean_size_nm": p.size_mean_nm or None,
                        "dilution": p.dilution_factor,
                    }
                )
            )
        elif m.kind == Measurement.Kind.PROTEIN and hasattr(m, "protein"):
            part.setdefault("protein_quantification", []).append(
                _present(
                    {"assay": m.protein.assay, "concentration_ug_per_ml": m.protein.concentration_ug_per_ml or None}
                )
            )
        elif m.kind == Measurement.Kind.MARKER and hasattr(m, "marker"):
            part.setdefault("markers", []).append(_marker(m))
        elif m.kind == Measurement.Kind.IMAGING and hasattr(m, "imaging"):
            i = m.imaging
            part.setdefault("imaging", []).append(
                _present(
                    {
                        "technique": i.technique,
                        "wide_field": i.wide_field,
                        "close_up": i.close_up,
                        "magnification": i.magnification,
                    }
                )
            )
        elif m.kind in (Measurement.Kind.LIPID, Measurement.Kind.RNA) and hasattr(m, "analyte"):
            key = "lipid_quantification" if m.kind == Measurement.Kind.LIPID else "rna_quantification"
            part.setdefault(key, []).append({"assay": m.analyte.assay})
    return part


def _marker(m) -> dict:
    r = m.marker
    method = m.method if m.method in ("western_blot", "elisa", "flow", "ms") else "other"
    antibody = _present(
        {
            "target": r.protein,
            "clone": r.antibody_clone,
            "catalogue": r.antibody_catalogue,
            "dilution": r.antibody_dilution,
        }
    )
    lysate = _present({"buffer": r.lysate_buffer, "protein_loaded_ug": r.protein_loaded_ug or None})
    document = {"protein": r.protein, "method": method, "detected": r.detection != r.Detection.NOT_DETECTED}
    if len(antibody) > 1:
        document["antibody"] = antibody
    if lysate:
        document["lysate"] = lysate
    return document


def preparations_with_evidence(preparation_ids):
    """Preparations with everything a document needs: 4 queries whatever the count."""
    measurements = Measurement.objects.select_related("particle", "protein", "marker", "imaging", "analyte").order_by(
        "measured_at", "id"
    )
    return list(
        EVPreparation.objects.filter(pk__in=list(preparation_ids))
        .select_related("run__protocol_version", "input_aliquot__sample")
        .prefetch_related(Prefetch("measurements", queryset=measurements))
    )


def experiment_documents(preparations) -> dict[int, dict]:
    """{preparation id: experiment document} for preparations fetched with preparations_with_evidence."""
    run_ids = {prep.run_id for prep in preparations}
    steps_by_run: dict[int, dict[int, RunStep]] = {}
    for step in RunStep.objects.filter(run_id__in=run_ids):
        steps_by_run.setdefault(step.run_id, {})[step.number] = step
    documents = {}
    for prep in preparations:
        document = {
            "id": prep.barcode,
            "sample": sample_part(prep),
            "separation": separation_part(prep, steps_by_run),
        }
        characterization = characterization_part(prep.measurements.all())
        if characterization:
            document["characterization"] = characterization
        documents[prep.pk] = document
    return documents
