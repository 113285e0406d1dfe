"""Every document path any rule of any shipped rule set reads can be written by a person (a form field) and by
an instrument or script (an API field), and what is written reaches the stored preparation's document.

The paths come from the rule-set files themselves (evlims.compliance.write_paths.rule_paths), so a new rule
reading a path nobody can write fails here until the path gets a form field, an API field and a row in
evlims/compliance/write_paths.py.
"""

from decimal import Decimal
from importlib import import_module

import pytest
from django.urls import reverse

import protocols as protocol_library
from evlims.api.donors import DonorUpdateInputSerializer
from evlims.api.payloads import ResultPayload
from evlims.api.preparations import PreparationUpdateInputSerializer
from evlims.api.runs import RunPlanInputSerializer, StepInputSerializer
from evlims.api.samples import SampleUpdateInputSerializer
from evlims.compliance.evidence import experiment_documents, preparations_with_evidence
from evlims.compliance.write_paths import WRITE_PATHS, rule_paths, write_path_for
from evlims.isolation.models import EVPreparation, IsolationRun
from evlims.samples.services import donor_create, sample_register
from tests.run_states import completed_run_fields

API_SERIALIZERS = {
    "evlims:api:sample-detail": SampleUpdateInputSerializer,
    "evlims:api:preparation-detail": PreparationUpdateInputSerializer,
    "evlims:api:donor-detail": DonorUpdateInputSerializer,
    "evlims:api:results": ResultPayload,
    "evlims:api:run-step": StepInputSerializer,
    "evlims:api:run-list": RunPlanInputSerializer,
}


def _form_class(entry):
    module, _, name = entry.form.rpartition(".")
    return getattr(import_module(module), name)


def _serializer_has(serializer_class, dotted: str) -> bool:
    """Whether a (nested) serializer declares the dotted field; "results[]." and "inputs[]." walk into lists."""
    parts = dotted.replace("results[].", "").replace("[]", "").split(".")
    serializer = serializer_class()
    for part in parts:
        if part == "*":
            return True
        fields = getattr(getattr(serializer, "child", serializer), "fields", None)
        if fields is None:  # a free-form mapping (analyser settings): any key is accepted
            return True
        if part not in fields:
            return False
        serializer = fields[part]
    return True


def test_every_path_a_rule_reads_has_a_form_and_an_api_field():
    unwritable = {path: sorted(rules) for path, rules in rule_paths().items() if write_path_for(path) is None}
    assert unwritable == {}, "add these paths to evlims/compliance/write_paths.py with their form and API fields"


def test_the_walker_sees_the_paths_the_issue_was_about():
    paths = rule_paths()
    for path in ("sample.donor", "sample.storage_duration_days", "prep_storage.container", "claims.subtype"):
        assert path in paths
    assert "characterization.markers[].lysate.protocol" in paths


@pytest.mark.parametrize("entry", WRITE_PATHS, ids=lambda entry: entry.path)
def test_the_named_form_field_and_api_field_exist(entry):
    form_class = _form_class(entry)
    if entry.form_field != "*":  # a run step's form has one field per parameter of the step's method
        declared = set(form_class.base_fields) | set(getattr(getattr(form_class, "_meta", None), "fields", ()) or ())
        assert entry.form_field in declared, f"{entry.form} has no field {entry.form_field}"
    kwargs = {"pk": 1, **dict(entry.form_kwargs)}
    if entry.form_url == "evlims:run-step":
        kwargs["number"] = 1
    if entry.form_url in ("evlims:run-new", "evlims:protocol-new"):
        kwargs = {}
    assert reverse(entry.form_url, kwargs=kwargs)
    serializer = API_SERIALIZERS.get(entry.api_route)
    if serializer is not None:
        assert _serializer_has(serializer, entry.api_field), f"{entry.api_route} has no field {entry.api_field}"
    assert entry.label and "_" not in entry.label


def test_every_step_parameter_a_rule_reads_is_a_field_of_the_run_step():
    for path in rule_paths():
        if path.startswith("separation[].params."):
            param = path.rsplit(".", 1)[-1]
            methods = [
                m for m in protocol_library.list_methods() if param in protocol_library.method_schema(m)["properties"]
            ]
            assert methods, f"no separation method takes {param}, so no run step can record it"


# ---------------------------------------------------------------- writing through forms and the API


@pytest.fixture
def preparation(staff, lab, project):
    sample = sample_register(
        actor=staff, project=project, biofluid="blood_plasma", volume_ml=Decimal("4"), aliquot_volumes_ul=[1000]
    )
    run = IsolationRun.objects.create(
        lab=lab,
        project=project,
        code="RUN-WP",
        protocol_name="SEC",
        method="sec",
        operator=staff,
        **completed_run_fields(),
    )
    return EVPreparation.objects.create(
        lab=lab, run=run, input_aliquot=sample.aliquots.get(), barcode="EVP-WP", input_volume_ul=500
    )


def _document(preparation):
    return experiment_documents(preparations_with_evidence([preparation.pk]))[preparation.pk]


def _at(document, path):
    """The value at a path; "[]" looks through every item of the list for one that has it."""
    head, _, rest = path.partition(".")
    if not isinstance(document, dict):
        return None
    if head.endswith("[]"):
        items = document.get(head[:-2]) or []
        values = [_at(item, rest) if rest else item for item in items]
        return next((value for value in values if value not in (None, "", [], {})), None)
    value = document.get(head)
    return _at(value, rest) if rest else value


# Values a person types, by form field; every path of WRITE_PATHS written by these forms must then be in the
# document (the separation chain and run-plan paths are covered by tests/api/test_complete_experiment.py).
SAMPLE_FORM = {
    "tube_type": "BD K2EDTA",
    "anticoagulant": "k2_edta",
    "needle_gauge": "21",
    "discard_tube": "true",
    "fasting": "true",
    "processing_delay_min": "45",
    "processing_temperature_c": "20",
    "prep_spin_g": "2500",
    "prep_spin_min": "15",
    "prep_spin_count": "2",
    "prep_spin_temperature_c": "20",
    "prep_spin_brake": "off",
    "hemolysis_a414": "0.15",
    "residual_platelets_per_ul": "4000",
    "storage_temperature_c": "-80",
    "storage_duration_days": "12",
    "protease_inhibitors": "false",
    "remarks": "Slightly lipaemic",
}
PREP_FORM = {
    "final_volume_ul": "100",
    "buffer": "PBS",
    "storage_container": "0.5 mL low-binding tube",
    "storage_temperature_c": "-80",
    "storage_duration_days": "3",
    "storage_freeze_thaw_cycles": "1",
    "claimed_subtype": "exosome",
    "biogenesis_evidence": "CD63-pHluorin release blocked by GW4869",
    "functional_cargo": "secreted_protein",
}
MARKER_FORM = {
    "protein": "CD63",
    "method": "western_blot",
    "detection": "detected",
    "antibody_clone": "H5C6",
    "antibody_catalogue": "556019",
    "antibody_dilution": "1:1000",
    "antibody_supplier": "BD Biosciences",
    "lysate_buffer": "RIPA",
    "lysis_protocol": "10 min on ice",
    "lysate_reducing": "no",
    "protein_loaded_ug": "10",
    "compared_with_source_lysate": "yes",
    "topology_assay": "Proteinase K protection",
    "topology_component": "luminal",
}
PARTICLE_FORM = {
    "technique": "nta",
    "concentration_per_ml": "4e10",
    "concentration_basis": "stock",
    "size_mode_nm": "92",
    "size_mean_nm": "110",
    "d10_nm": "60",
    "d90_nm": "180",
    "camera_level": "14",
    "detection_threshold": "5",
    "shutter": "1300",
    "frames": "750",
    "videos": "5",
    "temperature_c": "25",
    "calibration": "100 nm beads",
}
FORM_POSTS = [
    ("evlims:preparation-edit", {}, PREP_FORM),
    ("evlims:preparation-functional-study", {}, {"assay": "Tube formation", "readout": "Tube length",
                                                 "dose": "1e9 particles/mL", "controls": ["vehicle", "dose_response"],
                                                 "notes": "HUVEC"}),
    ("evlims:result-new", {"kind": "marker"}, MARKER_FORM),
    ("evlims:result-new", {"kind": "particle"}, PARTICLE_FORM),
    ("evlims:result-new", {"kind": "protein"}, {"assay": "bca", "concentration_ug_per_ml": "300"}),
    ("evlims:result-new", {"kind": "imaging"}, {"technique": "tem", "wide_field": "on", "close_up": "on"}),
    ("evlims:result-new", {"kind": "lipid"}, {"assay": "SPV", "value": "12", "unit": "nmol/mL"}),
    ("evlims:result-new", {"kind": "lipid"}, {"assay": "SPV", "value": "2", "unit": "nmol"}),
    ("evlims:result-new", {"kind": "rna"}, {"assay": "Qubit", "value": "3", "unit": "ng/µL"}),
    ("evlims:result-new", {"kind": "rna"}, {"assay": "Qubit", "value": "30", "unit": "ng"}),
]  # fmt: skip
# Written by the run and protocol endpoints (tests/api/test_complete_experiment.py) and by an FCS upload, its
# gating and its data sharing (tests/compliance/test_flow_document.py).
API_ELSEWHERE = {
    "evlims:api:run-step",
    "evlims:api:run-list",
    "evlims:api:protocol-version-list",
    "evlims:api:flow-acquisition-list",
    "evlims:api:flow-result-create",
    "evlims:api:flow-data-sharing",
}
# Flow cytometry paths are written by an FCS upload and its gating: tests/compliance/test_flow_document.py.
NOT_BY_THESE_FORMS = {
    "evlims:run-step",
    "evlims:run-new",
    "evlims:protocol-new",
    "evlims:donor-edit",
    "evlims:preparation-detail",
}
BLOOD_ONLY_ELSEWHERE = {
    "sample.urine_collection", "sample.urine_normalization", "sample.pre_clearing_g", "sample.tissue_mass_mg",
    "sample.cell_line", "sample.passage", "sample.culture_medium", "sample.serum_percent", "sample.serum_ev_depleted",
    "sample.conditioning_time_h", "sample.cell_count_at_harvest", "sample.viability_pct_at_harvest",
}  # fmt: skip


def test_values_typed_in_the_forms_reach_the_document(client, staff, project, preparation):
    client.force_login(staff)
    sample = preparation.input_aliquot.sample
    donor = donor_create(actor=staff, lab=project.lab, code="D-9", sex="male", age_band="60-69", diagnosis="T2D")
    edit = {"project": project.pk, "donor": donor.pk, "biofluid": "blood_plasma", "volume_ml": "4"}
    edit |= SAMPLE_FORM | {"version": sample.version, "reason": "Pre-analytics written up"}
    response = client.post(reverse("evlims:sample-edit", args=[sample.pk]), edit)
    assert response.status_code == 302, response.context["form"].errors
    thaw = client.post(
        reverse("evlims:aliquot-thaw", args=[preparation.input_aliquot_id]), {"note": "thawed", "confirm": "1"}
    )
    assert thaw.status_code == 302
    for url, kwargs, data in FORM_POSTS:
        preparation.refresh_from_db()
        post = dict(data)
        if url.startswith("evlims:preparation"):
            post |= {"version": preparation.version, "reason": "Recorded"}
        response = client.post(reverse(url, kwargs={"pk": preparation.pk, **kwargs}), post)
        assert response.status_code == 302, (url, kwargs, response.context["form"].errors)

    document = _document(preparation)
    missing = [
        entry.path
        for entry in WRITE_PATHS
        if entry.form_url not in NOT_BY_THESE_FORMS
        and entry.path not in BLOOD_ONLY_ELSEWHERE
        and _at(document, entry.path) in (None, "", [], {})
    ]
    assert missing == []
    assert document["sample"]["donor"] == {"age_band": "60-69", "sex": "male", "diagnosis": "T2D"}
    assert document["sample"]["storage_duration_days"] == 12.0
    assert document["sample"]["centrifugation_spins"][0] == {
        "g_force": 2500, "duration_min": 15, "temperature_c": 20.0, "brake": False
    }  # fmt: skip
    assert document["characterization"]["topology"] == [
        {"assay": "Proteinase K protection", "component": "CD63: luminal"}
    ]
    assert document["characterization"]["particle_analysis"][0]["settings"] == {
        "camera_level": 14, "detection_threshold": 5, "shutter": 1300, "frames": 750, "videos": 5, "temperature_c": 25.0
    }  # fmt: skip
    assert document["characterization"]["rna_quantification"][0]["concentration_ng_per_ml"] == 3000
    assert document["functional_studies"][0]["controls"] == ["vehicle", "dose_response"]


def test_values_posted_through_the_api_reach_the_document(staff, project, preparation):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_login(staff)
    sample = preparation.input_aliquot.sample
    donor = api.post(
        "/api/v1/donors/",
        {
            "lab": project.lab_id,
            "project": project.pk,
            "code": "D-10",
            "sex": "female",
            "age_band": "30-39",
            "diagnosis": "healthy",
        },
        format="json",
    )
    assert donor.status_code == 201, donor.json()
    body = {key: value for key, value in SAMPLE_FORM.items() if key != "remarks"}
    body |= {"discard_tube": True, "fasting": True, "protease_inhibitors": False, "remarks": "Slightly lipaemic"}
    body |= {"donor": donor.json()["id"], "version": sample.version, "reason": "From the clinic's sheet"}
    response = api.patch(f"/api/v1/samples/{sample.pk}/", body, format="json")
    assert response.status_code == 200, response.json()
    prep_body = dict(PREP_FORM) | {
        "functional_studies": [
            {"assay": "Tube formation", "controls": ["vehicle"], "readout": "length", "dose": "10 µg", "notes": "HUVEC"}
        ],
        "version": preparation.version,
        "reason": "Storage written up",
    }
    response = api.patch(f"/api/v1/preparations/{preparation.pk}/", prep_body, format="json")
    assert response.status_code == 200, response.json()
    results = [
        {
            "kind": "marker",
            "method": "western_blot",
            "marker": {
                "protein": "CD63",
                "detected": True,
                "antibody": {"clone": "H5C6", "catalogue": "556019", "dilution": "1:1000", "supplier": "BD"},
                "lysate": {"buffer": "RIPA", "protocol": "10 min on ice", "reducing": False, "protein_loaded_ug": 10,
                           "compared_with_source": True},
                "topology": {"assay": "Proteinase K protection", "component": "luminal"},
            },
        },
        {"kind": "particle", "method": "nta", "particle": {
            "technique": "nta", "concentration_per_ml": 4e10, "calibration": "100 nm beads", "size_mode_nm": 92,
            "size_mean_nm": 110, "d10_nm": 60, "d90_nm": 180,
            "settings": {"camera_level": 14, "detection_threshold": 5, "shutter": 1300, "frames": 750, "videos": 5,
                         "temperature_c": 25}}},
        {"kind": "protein", "method": "bca", "protein": {"assay": "bca", "concentration_ug_per_ml": 300}},
        {"kind": "imaging", "method": "tem", "imaging": {"technique": "tem", "wide_field": True, "close_up": True}},
        {"kind": "lipid", "method": "spv", "analyte": {"assay": "SPV", "value": 12, "unit": "nmol/mL"}},
        {"kind": "lipid", "method": "spv", "analyte": {"assay": "SPV", "value": 2, "unit": "nmol"}},
        {"kind": "rna", "method": "qubit", "analyte": {"assay": "Qubit", "value": 3, "unit": "ng/µL"}},
        {"kind": "rna", "method": "qubit", "analyte": {"assay": "Qubit", "value": 30, "unit": "ng"}},
    ]  # fmt: skip
    for result in results:
        result["preparation"] = preparation.barcode
    posted = api.post("/api/v1/results/", {"lab": project.lab_id, "results": results}, format="json")
    assert posted.status_code in (200, 201), posted.json()
    thaw = api.post(f"/api/v1/aliquots/{preparation.input_aliquot_id}/thaw/", {"note": "thawed"}, format="json")
    assert thaw.status_code == 200

    document = _document(preparation)
    missing = [
        entry.path
        for entry in WRITE_PATHS
        if entry.api_route not in API_ELSEWHERE
        and entry.path not in BLOOD_ONLY_ELSEWHERE
        and _at(document, entry.path) in (None, "", [], {})
    ]
    assert missing == []
    assert document["sample"]["freeze_thaw_cycles"] == 1
    assert document["claims"] == {
        "subtype": "exosome",
        "biogenesis_evidence": "CD63-pHluorin release blocked by GW4869",
        "functional_cargo": "secreted_protein",
    }
