"""Experiment documents for many preparations built from narrow ``values_list`` rows instead of model instances.

The batch evaluation (``services.evaluate_preparations``) reads thousands of preparations with their runs,
samples, donors, protocol versions and current results. As model instances that cost a sixth of the whole
path: each preparation row decoded its protocol version's definition again, and every result built six model
instances. Here each table is read once as plain tuples (the protocol versions once per distinct version) and
laid into light records with the attribute names of the models, so the very functions that build a document
from model instances (``evidence``) build it from the rows: the two builders cannot drift apart, and
``tests/compliance/test_document_rows.py`` holds them equal value by value.
"""

from types import SimpleNamespace
from typing import NamedTuple

from django.db.models import Max

from ..characterization.models import MarkerResult, Measurement
from ..instruments.particles import SIZE_FIELDS
from ..isolation.models import EVPreparation, IsolationRun, ProtocolVersion, RunStep
from ..isolation.services.preparations import PREPARATION_STORAGE_AND_CLAIMS
from ..samples.models import Donor
from . import evidence
from .flow_evidence import flow_parts


class _Donor(SimpleNamespace):
    Sex = Donor.Sex


class _MarkerResult(SimpleNamespace):
    Detection = MarkerResult.Detection


# The preparation's own columns: the storage and claims parts read what a person may record after the run.
_PREPARATION = ("id", "barcode", "lab_id", "run_id", "input_volume_ul", "final_volume_ul", "buffer")
_PREPARATION += PREPARATION_STORAGE_AND_CLAIMS
_RUN = ("status", "method", "protocol_version_id", "started_at", "completed_at")
_SAMPLE = (
    *evidence.SAMPLE_FIELDS,
    "biofluid",
    "remarks",
    "storage_duration_days",
    "collected_at",
    "processing_delay_min",
    "prep_spin_g",
    "prep_spin_min",
    "prep_spin_count",
    "prep_spin_temperature_c",
    "prep_spin_brake",
    "donor_id",
)
_DONOR = ("age_band", "sex", "diagnosis", "diagnosis_ontology_id")

# A result's own fields, then per kind the detail row (by its relation name) and the fields the document reads.
_MEASUREMENT = ("preparation_id", "kind", "method", "instrument_name")
_DETAILS = {
    Measurement.Kind.PARTICLE: (
        "particle",
        SimpleNamespace,
        (
            "technique",
            "concentration_per_ml",
            *SIZE_FIELDS,  # the catalogue's list: the document reads mode, mean and the D10-D90 window of it
            "dilution_factor",
            "settings",
            "calibration",
        ),
    ),
    Measurement.Kind.PROTEIN: ("protein", SimpleNamespace, ("assay", "concentration_ug_per_ml")),
    Measurement.Kind.MARKER: (
        "marker",
        _MarkerResult,
        (
            "protein",
            "detection",
            "antibody_clone",
            "antibody_catalogue",
            "antibody_dilution",
            "antibody_supplier",
            "lysate_buffer",
            "lysis_protocol",
            "protein_loaded_ug",
            "lysate_reducing",
            "compared_with_source_lysate",
            "topology_assay",
            "topology_component",
        ),
    ),
    Measurement.Kind.IMAGING: ("imaging", SimpleNamespace, ("technique", "wide_field", "close_up", "magnification")),
    Measurement.Kind.LIPID: ("analyte", SimpleNamespace, ("assay", "value", "unit")),
    Measurement.Kind.RNA: ("analyte", SimpleNamespace, ("assay", "value", "unit")),
}


class PreparationDocuments(NamedTuple):
    """The documents of the produced preparations, the lab of each, the evidence hash of each one's stored
    evaluation (None when it has none), and the preparations not produced yet."""

    documents: dict[int, dict]
    labs: dict[int, int]
    stored_hashes: dict[int, str | None]
    unproduced: list[int]


def _columns() -> list[str]:
    return [
        *_PREPARATION,
        *(f"run__{name}" for name in _RUN),
        "input_aliquot__freeze_thaw_count",
        *(f"input_aliquot__sample__{name}" for name in _SAMPLE),
        *(f"input_aliquot__sample__donor__{name}" for name in _DONOR),
        # Read in the same query: whether the stored evaluation was made from the same evidence.
        "evaluation__evidence_hash",
    ]


def _split(row: tuple, start: int, names: tuple) -> tuple[dict, int]:
    end = start + len(names)
    return dict(zip(names, row[start:end], strict=True)), end


def _preparations(preparation_ids) -> list[SimpleNamespace]:
    """The preparations as records shaped like ``preparations_with_evidence``'s instances: prep.run,
    prep.run.protocol_version.steps, prep.input_aliquot.sample.donor."""
    rows = EVPreparation.objects.filter(pk__in=list(preparation_ids)).values_list(*_columns())
    versions: dict[int, SimpleNamespace] = {}
    preparations = []
    for row in rows:
        prep, at = _split(row, 0, _PREPARATION)
        run, at = _split(row, at, _RUN)
        freeze_thaw_count = row[at]
        sample, at = _split(row, at + 1, _SAMPLE)
        donor, at = _split(row, at, _DONOR)
        prep["stored_hash"] = row[at]
        version_id = run.pop("protocol_version_id")
        run["protocol_version"] = versions.setdefault(version_id, SimpleNamespace()) if version_id else None
        sample["donor"] = _Donor(**donor) if sample["donor_id"] is not None else None
        prep["run"] = SimpleNamespace(**run)
        prep["input_aliquot"] = SimpleNamespace(freeze_thaw_count=freeze_thaw_count, sample=SimpleNamespace(**sample))
        prep["pk"] = prep["id"]
        preparations.append(SimpleNamespace(**prep))
    # A protocol version is read once, however many preparations follow it.
    for version_id, definition in ProtocolVersion.objects.filter(pk__in=list(versions)).values_list("pk", "definition"):
        versions[version_id].steps = definition.get("steps", [])
    return preparations


def _measurements(preparation_ids) -> dict[int, list[SimpleNamespace]]:
    """Current results per preparation, in measurement order, each with its detail row under the model's name
    (absent when the result has none, as ``hasattr`` tells on an instance)."""
    columns = list(_MEASUREMENT)
    slices = {}
    for kind, (relation, _kind_type, names) in _DETAILS.items():
        start = len(columns)
        columns += [f"{relation}__id", *(f"{relation}__{name}" for name in names)]
        slices[kind] = (relation, start, names)
    results = Measurement.objects.filter(preparation_id__in=list(preparation_ids))
    rows = results.order_by("measured_at", "id").values_list(*columns)
    # The document reads only the time of a preparation's last result (evidence.preparation_storage_days): read
    # once per preparation, not once per result (turning 100,000 timestamps into datetimes was a third of this
    # read on PostgreSQL), and given to each of its results.
    last = dict(
        results.order_by()
        .values("preparation_id")
        .annotate(last=Max("measured_at"))
        .values_list("preparation_id", "last")
    )
    by_preparation: dict[int, list] = {}
    width = len(_MEASUREMENT)
    for row in rows:
        measurement = SimpleNamespace(
            **dict(zip(_MEASUREMENT[1:], row[1:width], strict=True)), measured_at=last[row[0]]
        )
        detail = slices.get(row[1])
        if detail is not None:
            relation, start, names = detail
            if row[start] is not None:
                fields, _ = _split(row, start + 1, names)
                setattr(measurement, relation, _DETAILS[row[1]][1](**fields))
        by_preparation.setdefault(row[0], []).append(measurement)
    return by_preparation


def preparation_documents(preparation_ids) -> PreparationDocuments:
    """The experiment documents of the produced preparations among ``preparation_ids``, equal to
    ``evidence.experiment_documents(evidence.preparations_with_evidence(ids))``; a fixed number of queries."""
    preparations = _preparations(preparation_ids)
    unproduced = [prep.pk for prep in preparations if prep.run.status != IsolationRun.Status.COMPLETED]
    produced = [prep for prep in preparations if prep.run.status == IsolationRun.Status.COMPLETED]
    ids = [prep.pk for prep in produced]
    steps_by_run: dict[int, dict] = {}
    for run_id, number, observed in RunStep.objects.filter(run_id__in={p.run_id for p in produced}).values_list(
        "run_id", "number", "observed"
    ):
        steps_by_run.setdefault(run_id, {})[number] = SimpleNamespace(observed=observed)
    measurements = _measurements(ids) if ids else {}
    flows = flow_parts(ids) if ids else {}
    documents = {}
    for prep in produced:
        results = measurements.get(prep.pk, ())
        documents[prep.pk] = _document(prep, steps_by_run, results, flows.get(prep.pk))
    return PreparationDocuments(
        documents,
        {prep.pk: prep.lab_id for prep in produced},
        {prep.pk: prep.stored_hash for prep in produced},
        unproduced,
    )


def _document(prep, steps_by_run: dict, measurements, flow) -> dict:
    # The parts in the order ``evidence.experiment_documents`` lays them out (the stored document's key order).
    document = {
        "id": prep.barcode,
        "sample": evidence.sample_part(prep),
        "separation": evidence.separation_part(prep, steps_by_run),
    }
    characterization = evidence.characterization_part(measurements, prep.final_volume_ul)
    if characterization:
        document["characterization"] = characterization
    for key, part in (
        ("claims", evidence.claims_part(prep)),
        ("functional_studies", evidence.functional_studies_part(prep)),
        ("prep_storage", evidence.prep_storage_part(prep, measurements)),
        ("flow", flow),
    ):
        if part:
            document[key] = part
    return document
