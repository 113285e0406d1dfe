"""The OpenAPI examples of the results endpoints: an NTA result as ``evlims_parse --json`` gives it, a bulk post,
the answers, and file uploads and commits."""

from drf_spectacular.utils import OpenApiExample

from .posting import IDEMPOTENCY_HEADER

NTA_PARTICLE = {
    "technique": "nta",
    "name": "d200",
    "dilution_factor": 200,
    "dilution_applied_in_file": False,
    "concentration_per_ml": 43120000000.0,
    "instrument_average_concentration_per_ml": 216000000.0,
    "size_mean_nm": 87.9,
    "size_mode_nm": 61.7,
    "size_sd_nm": 46.9,
    "d10_nm": 57.7,
    "d50_nm": 72.5,
    "d90_nm": 134.3,
    "computed": ["concentration_per_ml"],
    "settings": {
        "videos": 5,
        "camera_level": 16,
        "detection_threshold": 5,
        "shutter": 1300,
        "frames": 1498,
        "temperature_c": 26.77,
        "viscosity_cp": 0.854,
    },
    "captures": [
        {
            "name": "EMT1 d200 2021-04-01 15-43-10",
            "concentration_per_ml": 208000000.0,
            "valid": True,
            "invalid_reason": "",
            "size_mean_nm": 92.0,
            "size_mode_nm": 61.5,
            "size_sd_nm": 48.9,
            "d10_nm": 59.6,
            "d50_nm": 72.7,
            "d90_nm": 153.7,
            "computed": [],
        },
        {
            "name": "EMT1 d200 2021-04-01 15-44-24",
            "concentration_per_ml": 247000000.0,
            "valid": True,
            "invalid_reason": "",
            "size_mean_nm": 86.0,
            "size_mode_nm": 62.0,
            "size_sd_nm": 51.0,
            "d10_nm": 55.8,
            "d50_nm": 72.5,
            "d90_nm": 120.7,
            "computed": [],
        },
    ],
    "histogram": {
        "bin_center_nm": [58.5, 59.5, 60.5, 61.5, 62.5, 63.5, 64.5, 65.5],
        "concentration_per_ml": [
            7323290.0,
            7501764.0,
            7496195.0,
            7398169.0,
            7217420.0,
            6931205.0,
            6528405.0,
            6027339.0,
        ],
    },
}
NTA_POST_EXAMPLE = OpenApiExample(
    "NTA results from an instrument (particle part as evlims_parse --json)",
    description="The `particle` part is a sample of `python manage.py evlims_parse FILE --json` with "
    "`technique` added (captures and histogram shortened here). Sent with `Authorization: Api-Key evl_…` "
    "and `Idempotency-Key: 7c0e…`.",
    value={
        "external_run_id": "NS300-2021-04-01-15-42-48",
        "results": [
            {
                "kind": "particle",
                "method": "nta",
                "preparation": "EVP-0000012",
                "measured_at": "2021-04-01T15:42:48Z",
                "software_version": "NTA 3.3 - Sample Assistant Dev Build 3.3.203",
                "particle": NTA_PARTICLE,
            }
        ],
    },
    request_only=True,
)
BULK_POST_EXAMPLE = OpenApiExample(
    "Protein, marker and lipid results in one post (a person, naming the lab)",
    value={
        "lab": 1,
        "results": [
            {
                "kind": "protein",
                "method": "bca",
                "preparation": "EVP-0000012",
                "protein": {"assay": "micro_bca", "concentration_ug_per_ml": 41.7, "volume_assayed_ul": 10},
            },
            {
                "kind": "marker",
                "method": "western_blot",
                "preparation": "EVP-0000012",
                "marker": {
                    "protein": "CD63",
                    "detected": True,
                    "antibody": {"clone": "H5C6", "dilution": "1:1000", "supplier": "BD Biosciences"},
                    "lysate": {
                        "buffer": "RIPA",
                        "protocol": "10 min on ice, vortexed",
                        "reducing": False,
                        "protein_loaded_ug": 10,
                        "compared_with_source": True,
                    },
                    "topology": {"assay": "antibody accessibility on intact EVs", "component": "surface-exposed"},
                },
            },
            {
                "kind": "lipid",
                "method": "sulfophosphovanillin",
                "preparation": "EVP-0000012",
                "analyte": {"assay": "SPV", "value": 12.5, "unit": "nmol/mL"},
            },
        ],
    },
    request_only=True,
)
POSTED_EXAMPLE = OpenApiExample(
    "Stored",
    value={
        "ingestion": 57,
        "status": "committed",
        "external_run_id": "NS300-2021-04-01-15-42-48",
        "measurements": [311],
    },
    response_only=True,
    status_codes=["201"],
)
REFUSED_EXAMPLE = OpenApiExample(
    "One result refused: nothing stored",
    value={
        "results[3].particle.histogram": ["bin_center_nm and concentration_per_ml must have the same length."],
        "results[5].preparation": ["No preparation EVP-0009999 in this lab."],
    },
    response_only=True,
    status_codes=["400"],
)
KEY_REUSED_EXAMPLE = OpenApiExample(
    "Key reused with another body",
    value={IDEMPOTENCY_HEADER: ["This key was already used for a different request."]},
    response_only=True,
    status_codes=["422"],
)
FILE_UPLOAD_EXAMPLES = [
    OpenApiExample(
        "NanoSight summary, committed at once",
        value={
            "file": "(EMT1 d200 pre1 2021-04-01 15-42-48-ExperimentSummary.csv)",
            "format": "nanosight",
            "mapping": '{"d200": "EVP-0000012"}',
            "dilutions": '{"d200": 200}',
        },
        request_only=True,
        media_type="multipart/form-data",
    ),
    OpenApiExample(
        "BCA plate with its plate map, preview only",
        value={
            "file": "(testdata_SM.csv)",
            "plate_map": '{"wells": {"A1:A2": {"role": "standard", "ug_per_ml": 2000}, '
            '"G1:H2": {"role": "blank"}, "A3:A4": {"role": "sample", "name": "EV 1"}}}',
        },
        request_only=True,
        media_type="multipart/form-data",
    ),
    OpenApiExample(
        "Preview",
        value={
            "id": 58,
            "lab": 1,
            "instrument": 3,
            "instrument_name": "NS300 room 2.14",
            "status": "preview",
            "format": "nanosight",
            "external_run_id": "",
            "uploaded_name": "EMT1 d200 pre1 2021-04-01 15-42-48-ExperimentSummary.csv",
            "raw_file": {
                "id": 40,
                "original_name": "EMT1 d200 pre1 2021-04-01 15-42-48-ExperimentSummary.csv",
                "sha256": "9b0c…",
                "size_bytes": 81234,
                "content_type": "text/csv",
            },
            "error": "",
            "samples": ["d200"],
            "parsed": {
                "format": "nanosight",
                "software_version": "NTA 3.3 - Sample Assistant Dev Build 3.3.203",
                "samples": [{k: v for k, v in NTA_PARTICLE.items() if k != "technique"}],
                "warnings": [],
            },
            "measurements": [],
            "created_at": "2025-03-04T09:20:01Z",
        },
        response_only=True,
        status_codes=["201"],
    ),
    OpenApiExample(
        "File refused by the parser (kept)",
        value={
            "file": ["line 14, field 'Concentration (particles / ml)': not a number: 'n/a'"],
            "ingestion": 59,
            "raw_file": 41,
        },
        response_only=True,
        status_codes=["400"],
    ),
]
COMMIT_EXAMPLES = [
    OpenApiExample(
        "Two NTA samples",
        value={"mapping": {"d200": "EVP-0000012", "d500": "EVP-0000013"}, "dilutions": {"d200": 200, "d500": 500}},
        request_only=True,
    ),
    OpenApiExample(
        "Undiluted, invalid captures kept, to an approved preparation",
        value={
            "mapping": {"neat": "EVP-0000014"},
            "dilutions": {"neat": "undiluted"},
            "keep_invalid_captures": True,
            "reason": "NTA repeated after the review",
        },
        request_only=True,
    ),
    OpenApiExample(
        "Refused: nothing stored",
        value={"mapping": {"d500": ["No preparation EVP-0000013 in this lab."]}},
        response_only=True,
        status_codes=["400"],
    ),
    OpenApiExample(
        "Refused: the file records no dilution",
        value={
            "dilutions": [
                "Sample 'EV12_1in2000': the file records no dilution, so its concentration is as measured in the "
                "cell. Give its dilution factor, or say it was measured undiluted. Its name suggests 2000 "
                "(“1in2000”): confirm it if that is right."
            ]
        },
        response_only=True,
        status_codes=["400"],
    ),
]
