"""A lab's evidence for API tests: an approved protocol, a run with preparations, an instrument with keys,
results posted by the instrument, a previewed NTA file and a submitted review."""

from dataclasses import dataclass

from evlims.instruments import services as instrument_services
from evlims.instruments.services import file_ingestion
from evlims.isolation import services as isolation_services
from evlims.review.services import review_submit
from tests.fixtures.instruments import NANOSIGHT_FULL, instrument_path
from tests.run_states import completed

# An in-repo NTA 3.3 export (sample "d200", dilution not recorded in the file).
NTA_FILE = instrument_path(NANOSIGHT_FULL)

LAB_PROTOCOL = """
schema_version: 1
slug: lab-sec
version: 1.0.0
title: Lab SEC
status: draft
description: Plasma cleared at 2,500 g, then home-made CL-2B SEC.
citations: [{text: "Böing et al. 2014", doi: 10.3402/jev.v3.23430, verified: false}]
steps:
  - method: differential_centrifugation
    params: {g_force: 2500, duration_min: 15, temperature_c: 20, fraction_kept: supernatant}
    tolerances: {g_force: {rel: 0.1}, duration_min: {abs: 2}}
  - method: sec
    params: {resin: Sepharose CL-2B, bed_volume_ml: 10, sample_volume_ml: 1, fraction_volume_ml: 0.5,
             fractions_collected: 20, fractions_pooled: [4, 5, 6], buffer: PBS}
"""
STEP_1 = {"g_force": "3000 x g", "duration_min": "16 min", "temperature_c": 20, "fraction_kept": "supernatant"}
STEP_2 = {
    "resin": "Sepharose CL-2B",
    "bed_volume_ml": 10,
    "sample_volume_ml": 1,
    "fraction_volume_ml": 0.5,
    "fractions_collected": 20,
    "fractions_pooled": [4, 5, 6],
    "buffer": "PBS",
}


def marker(barcode, protein="CD63", **extra):
    return {
        "kind": "marker",
        "method": "western_blot",
        "preparation": barcode,
        "marker": {"protein": protein, "detected": True, "antibody": {"clone": "H5C6"}} | extra,
    }


def particle(barcode, *, bins=3, **extra):
    return {
        "kind": "particle",
        "method": "nta",
        "preparation": barcode,
        "particle": {
            "technique": "nta",
            "name": "d200",
            "concentration_per_ml": 4.3e10,
            "size_mode_nm": 61.7,
            "size_mean_nm": 87.9,
            "captures": [{"name": "video 1", "concentration_per_ml": 2.1e8, "valid": True}],
            "histogram": {
                "bin_center_nm": [50.5 + i for i in range(bins)],
                "concentration_per_ml": [1e6 * (i + 1) for i in range(bins)],
            },
        }
        | extra,
    }


def protein(barcode, value=41.7):
    return {
        "kind": "protein",
        "method": "bca",
        "preparation": barcode,
        "protein": {"assay": "micro_bca", "concentration_ug_per_ml": value},
    }


@dataclass
class Evidence:
    version: object
    run: object
    preparation: object
    spare_preparation: object
    instrument: object
    write_key: str
    read_key: str
    both_key: str
    ingestion: object
    measurement: object
    file_ingestion: object
    raw_file: object
    review: object


def build_evidence(staff, qa, admin, lab, world, *, instrument_name="NS300"):
    draft = isolation_services.protocol_version_save_draft(actor=staff, lab=lab, source_text=LAB_PROTOCOL)
    version = isolation_services.protocol_version_approve(actor=qa, version=draft)
    run = isolation_services.run_plan(
        actor=staff,
        project=world.project,
        protocol_version=version,
        inputs=[(world.aliquots[0], 100), (world.aliquots[1], 100)],
    )
    run = completed(run)
    preparation, spare = list(run.preparations.order_by("barcode"))
    instrument = instrument_services.instrument_register(actor=admin, lab=lab, name=instrument_name, kind="nta")
    _, write_key = instrument_services.api_key_issue(actor=admin, instrument=instrument, scopes=["results:write"])
    _, read_key = instrument_services.api_key_issue(actor=admin, instrument=instrument, scopes=["read"])
    _, both_key = instrument_services.api_key_issue(
        actor=admin, instrument=instrument, scopes=["read", "results:write"]
    )
    ingestion, _ = instrument_services.results_ingest(
        actor=None,
        instrument=instrument,
        lab=lab,
        documents=[particle(preparation.barcode, bins=5)],
        external_run_id="FIRST-RUN",
    )
    upload, _ = file_ingestion.file_upload(
        actor=staff, lab=lab, data=NTA_FILE.read_bytes(), name=NTA_FILE.name, content_type="text/csv"
    )
    review = review_submit(
        actor=staff, preparation=preparation, reason="Ready", justification="Accepted as it is for this study."
    )
    return Evidence(
        version=version,
        run=run,
        preparation=preparation,
        spare_preparation=spare,
        instrument=instrument,
        write_key=write_key,
        read_key=read_key,
        both_key=both_key,
        ingestion=ingestion,
        measurement=ingestion.measurements.get(),
        file_ingestion=upload,
        raw_file=upload.raw_file,
        review=review,
    )
