"""Build portable experiment documents from stored records, for many preparations in a fixed number of queries.

The document is the evaluator's input and also the export format, so a lab can evaluate exported work
offline or write one before doing the work (planning mode).
"""

from typing import NamedTuple

from django.db.models import Prefetch

from ..characterization.models import Measurement
from ..isolation.models import EVPreparation, RunStep
from .flow_evidence import flow_parts

SAMPLE_FIELDS = (
    "anticoagulant",
    "tube_type",
    "needle_gauge",
    "discard_tube",
    "processing_temperature_c",
    "hemolysis_a414",
    "residual_platelets_per_ul",
    "fasting",
    "storage_temperature_c",
    "urine_collection",
    "urine_normalization",
    "protease_inhibitors",
    "pre_clearing_g",
    "tissue_mass_mg",
    "cell_line",
    "passage",
    "culture_medium",
    "serum_percent",
    "serum_ev_depleted",
    "conditioning_time_h",
    "cell_count_at_harvest",
    "viability_pct_at_harvest",
)
PARTICLE_METHODS = {"nta": "nta", "zetaview": "nta", "trps": "trps", "nanoflow": "nanoflow", "dls": "dls"}
# Marker methods as results name them -> as the document names them.
MARKER_METHODS = {
    "western_blot": "western_blot",
    "elisa": "elisa",
    "flow": "flow",
    "flow_cytometry": "flow",
    "ms": "ms",
    "mass_spectrometry": "ms",
}
# The brake of a preparation spin as the sample records it -> as the document gives it.
SPIN_BRAKES = {"on": True, "off": False, "low": "low"}
# Analyser settings the document names, and the keys files and forms store them under.
PARTICLE_SETTINGS = {
    "camera_level": ("camera_level", "sensitivity"),
    "detection_threshold": ("detection_threshold",),
    "shutter": ("shutter",),
    "frames": ("frames", "total_frames_analysed"),
    "videos": ("videos", "number_of_videos"),
    "temperature_c": ("temperature_c",),
}
# Lipid and RNA amounts: unit as typed (lower case, no spaces) -> (document field, factor to its unit).
ANALYTE_UNITS = {
    "lipid": {
        "nmol": ("total_lipid_nmol", 1),
        "µmol": ("total_lipid_nmol", 1000),
        "umol": ("total_lipid_nmol", 1000),
        "nmol/ml": ("concentration_nmol_per_ml", 1),
        "µm": ("concentration_nmol_per_ml", 1),
        "um": ("concentration_nmol_per_ml", 1),
        "nmol/µl": ("concentration_nmol_per_ml", 1000),
        "nmol/ul": ("concentration_nmol_per_ml", 1000),
    },
    "rna": {
        "ng": ("total_rna_ng", 1),
        "pg": ("total_rna_ng", 0.001),
        "µg": ("total_rna_ng", 1000),
        "ug": ("total_rna_ng", 1000),
        "ng/ml": ("concentration_ng_per_ml", 1),
        "pg/µl": ("concentration_ng_per_ml", 1),
        "pg/ul": ("concentration_ng_per_ml", 1),
        "ng/µl": ("concentration_ng_per_ml", 1000),
        "ng/ul": ("concentration_ng_per_ml", 1000),
    },
}
DAY_SECONDS = 86400


def _number(value):
    """Decimals become floats so the document is plain JSON; integral floats stay as given."""
    return float(value) if value is not None and not isinstance(value, bool | int | float | str) else value


# What a document leaves out, one tuple for the module: written inline, its list and dict were built again for
# every value tested.
_ABSENT = (None, "", [], {})


def _present(mapping: dict) -> dict:
    return {key: value for key, value in mapping.items() if value not in _ABSENT}


def _days_between(start, end) -> float | None:
    if start is None or end is None or end < start:
        return None
    return round((end - start).total_seconds() / DAY_SECONDS, 1)


class Derived(NamedTuple):
    """A figure of the document and where it came from: typed by someone, or derived from other records."""

    value: float | int | None
    source: str  # "recorded", "derived" or "" (neither)
    explanation: str


def sample_storage_days(sample, run) -> Derived:
    """Days the sample was stored before isolation: as recorded, else from collection and isolation times."""
    if sample.storage_duration_days is not None:
        return Derived(float(sample.storage_duration_days), "recorded", "as recorded on the sample")
    days = _days_between(sample.collected_at, run.started_at)
    if days is None:
        return Derived(None, "", "no collection time or isolation start to derive it from")
    return Derived(days, "derived", "derived from the collection and isolation times")


def preparation_storage_days(prep, measurements) -> Derived:
    """Days the preparation was stored before its last result: as recorded, else from the run's completion
    to the last measurement."""
    if prep.storage_duration_days is not None:
        return Derived(float(prep.storage_duration_days), "recorded", "as recorded on the preparation")
    last = max((m.measured_at for m in measurements), default=None)
    days = _days_between(prep.run.completed_at, last)
    if days is None:
        return Derived(None, "", "no run completion or later result to derive it from")
    return Derived(days, "derived", "derived from the run's completion and the time of the last result")


def sample_freeze_thaw(aliquot) -> Derived:
    """Freeze-thaw cycles of the input aliquot: counted from its thaw events (the Thaw action)."""
    return Derived(aliquot.freeze_thaw_count, "derived", "counted from the input aliquot's thaw events")


def donor_part(donor) -> dict:
    if donor is None:
        return {}
    return _present(
        {
            "age_band": donor.age_band,
            "sex": "" if donor.sex == donor.Sex.UNKNOWN else donor.sex,
            "diagnosis": donor.diagnosis,
            "diagnosis_ontology_id": donor.diagnosis_ontology_id,
        }
    )


def _spins(sample) -> list[dict]:
    if not sample.prep_spin_g or sample.prep_spin_count == 0:
        return []
    spin = _present(
        {
            "g_force": sample.prep_spin_g,
            "duration_min": sample.prep_spin_min,
            "temperature_c": _number(sample.prep_spin_temperature_c),
            "brake": SPIN_BRAKES.get(sample.prep_spin_brake),
        }
    )
    return [spin] * (sample.prep_spin_count or 1)


def sample_part(prep: EVPreparation) -> dict:
    aliquot = prep.input_aliquot
    sample = aliquot.sample
    part = {field: _number(getattr(sample, field)) for field in SAMPLE_FIELDS}
    part.update(
        biofluid=sample.biofluid,
        donor=donor_part(sample.donor),
        volume_ml=float(prep.input_volume_ul) / 1000,
        freeze_thaw_cycles=sample_freeze_thaw(aliquot).value,
        storage_duration_days=sample_storage_days(sample, prep.run).value,
        processing_delay_h=sample.processing_delay_min / 60 if sample.processing_delay_min is not None else None,
        centrifugation_spins=_spins(sample),
        notes=sample.remarks,
    )
    return _present(part)


def prep_storage_part(prep: EVPreparation, measurements) -> dict:
    return _present(
        {
            "temperature_c": _number(prep.storage_temperature_c),
            "duration_days": preparation_storage_days(prep, measurements).value,
            "container": prep.storage_container,
            "buffer": prep.buffer,
            "freeze_thaw_cycles": prep.storage_freeze_thaw_cycles,
        }
    )


def claims_part(prep: EVPreparation) -> dict:
    return _present(
        {
            "subtype": prep.claimed_subtype,
            "biogenesis_evidence": prep.biogenesis_evidence,
            "functional_cargo": prep.functional_cargo,
        }
    )


def functional_studies_part(prep: EVPreparation) -> list[dict]:
    studies = []
    for study in prep.functional_studies or ():
        entry = _present({key: study.get(key) for key in ("assay", "readout", "dose", "notes")})
        controls = list(dict.fromkeys(study.get("controls") or ()))
        if controls:
            entry["controls"] = controls
        if entry:
            studies.append(entry)
    return studies


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


def _particle_settings(stored: dict) -> dict:
    settings = {}
    for name, keys in PARTICLE_SETTINGS.items():
        value = next((stored[key] for key in keys if stored.get(key) not in (None, "")), None)
        if value is not None:
            settings[name] = value
    return settings


def _total(concentration_per_ml, final_volume_ml):
    """An amount in the whole preparation: the concentration times the final volume, when both are known."""
    if not concentration_per_ml or final_volume_ml is None:
        return None
    return concentration_per_ml * final_volume_ml


def _particle(m, final_volume_ml) -> dict:
    p = m.particle
    return _present(
        {
            "method": PARTICLE_METHODS.get(p.technique, "other"),
            "instrument": m.instrument_name,
            "concentration_per_ml": p.concentration_per_ml or None,
            "total_particles": _total(p.concentration_per_ml, final_volume_ml),
            "mode_size_nm": p.size_mode_nm or None,
            "mean_size_nm": p.size_mean_nm or None,
            # The size window of the population: from D10 to D90 when both are known.
            "size_window_nm": [p.d10_nm, p.d90_nm] if p.d10_nm is not None and p.d90_nm is not None else None,
            "dilution": p.dilution_factor,
            "settings": _particle_settings(p.settings or {}),
            "calibration": p.calibration,
        }
    )


def _analyte(m) -> dict:
    a = m.analyte
    entry = {"assay": a.assay}
    unit = (a.unit or "").lower().replace(" ", "").replace("μ", "µ")
    known = ANALYTE_UNITS[m.kind].get(unit)
    if known is not None and a.value:
        field, factor = known
        entry[field] = a.value * factor
    return entry


def characterization_part(measurements, final_volume_ul=None) -> dict:
    """Results as the document lists them; totals in the preparation are derived from a concentration and the
    preparation's final volume."""
    final_volume_ml = float(final_volume_ul) / 1000 if final_volume_ul is not None else None
    part: dict[str, list] = {}
    for m in measurements:
        if m.kind == Measurement.Kind.PARTICLE and hasattr(m, "particle"):
            part.setdefault("particle_analysis", []).append(_particle(m, final_volume_ml))
        elif m.kind == Measurement.Kind.PROTEIN and hasattr(m, "protein"):
            concentration = m.protein.concentration_ug_per_ml or None
            part.setdefault("protein_quantification", []).append(
                _present(
                    {
                        "assay": m.protein.assay,
                        "total_protein_ug": _total(concentration, final_volume_ml),
                        "concentration_ug_per_ml": concentration,
                    }
                )
            )
        elif m.kind == Measurement.Kind.MARKER and hasattr(m, "marker"):
            part.setdefault("markers", []).append(_marker(m))
            if m.marker.topology_assay:
                topology = _present({"assay": m.marker.topology_assay, "component": _topology_component(m.marker)})
                part.setdefault("topology", []).append(topology)
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
            part.setdefault(key, []).append(_analyte(m))
    return part


def _topology_component(r) -> str:
    return f"{r.protein}: {r.topology_component}" if r.topology_component else r.protein


def _marker(m) -> dict:
    r = m.marker
    method = MARKER_METHODS.get(m.method, "other")
    antibody = _present(
        {
            "target": r.protein,
            "clone": r.antibody_clone,
            "catalogue": r.antibody_catalogue,
            "dilution": r.antibody_dilution,
            "supplier": r.antibody_supplier,
        }
    )
    lysate = _present(
        {
            "buffer": r.lysate_buffer,
            "protocol": r.lysis_protocol,
            "protein_loaded_ug": r.protein_loaded_ug or None,
            "reducing": r.lysate_reducing,
        }
    )
    document = {"protein": r.protein, "method": method, "detected": r.detection != r.Detection.NOT_DETECTED}
    if len(antibody) > 1:
        document["antibody"] = antibody
    if lysate:
        document["lysate"] = lysate
    if r.compared_with_source_lysate is not None:
        document["compared_with_cell_lysate"] = r.compared_with_source_lysate
    return document


def preparations_with_evidence(preparation_ids):
    """Preparations with everything a document needs: 4 queries whatever the count."""
    # The headline figures, computed figures and standard curves (JSON the document never reads) stay unread.
    measurements = (
        Measurement.objects.select_related("particle", "protein", "marker", "imaging", "analyte")
        .defer("values", "particle__computed", "protein__standard_curve")
        .order_by("measured_at", "id")
    )
    return list(
        EVPreparation.objects.filter(pk__in=list(preparation_ids))
        .select_related("run__protocol_version", "input_aliquot__sample__donor")
        .prefetch_related(Prefetch("measurements", queryset=measurements))
    )


def experiment_documents(preparations) -> dict[int, dict]:
    """{preparation id: experiment document} for preparations fetched with preparations_with_evidence."""
    run_ids = {prep.run_id for prep in preparations}
    steps_by_run: dict[int, dict[int, RunStep]] = {}
    for step in RunStep.objects.filter(run_id__in=run_ids):
        steps_by_run.setdefault(step.run_id, {})[step.number] = step
    flows = flow_parts(prep.pk for prep in preparations)
    documents = {}
    for prep in preparations:
        document = {
            "id": prep.barcode,
            "sample": sample_part(prep),
            "separation": separation_part(prep, steps_by_run),
        }
        measurements = prep.measurements.all()
        characterization = characterization_part(measurements, prep.final_volume_ul)
        if characterization:
            document["characterization"] = characterization
        for key, part in (
            ("claims", claims_part(prep)),
            ("functional_studies", functional_studies_part(prep)),
            ("prep_storage", prep_storage_part(prep, measurements)),
            ("flow", flows.get(prep.pk)),
        ):
            if part:
                document[key] = part
        documents[prep.pk] = document
    return documents
