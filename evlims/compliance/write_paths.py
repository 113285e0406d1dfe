"""Where each part of the experiment document is written: the web form a person uses and the API field an
instrument or script uses, for every evidence path the rule sets read (and the other document fields).

The table is data, read by the write-path test (every path a rule reads must be here, and writing through
the form and the API must reach the stored preparation's document) and by the pages that link a failing
rule to the field that fixes it. ``rule_paths()`` walks the rule sets' conditions and names the paths they
read (evlims/compliance/read_paths.py), so a new rule reading a path nobody can write fails the test.
"""

from dataclasses import dataclass
from functools import cache

from .read_paths import rule_paths


@dataclass(frozen=True)
class WritePath:
    path: str  # document path; "[]" marks a list item, e.g. "characterization.markers[].lysate.protocol"
    label: str  # in the lab's words, with the unit
    form_url: str  # URL name of the page with the form
    form: str  # dotted path of the form class
    form_field: str  # field of that form
    api_route: str  # URL name of the endpoint (PATCH for records, POST for results and actions)
    api_field: str  # field of the request body; "results[].marker.lysate.protocol" inside a results post
    derived: str = ""  # how the value is derived from other records when not typed
    form_kwargs: tuple = ()  # URL arguments besides the record's id, e.g. (("kind", "marker"),)


SAMPLE_FORM = "evlims.web.forms.samples.SampleEditForm"
DONOR_FORM = "evlims.web.forms.donors.DonorEditForm"
PREP_FORM = "evlims.web.forms.preparations.PreparationEditForm"
STUDY_FORM = "evlims.web.forms.preparations.FunctionalStudyForm"
STEP_FORM = "evlims.web.forms.run_steps.StepRecordForm"
RUN_PLAN_FORM = "evlims.web.forms.runs.RunPlanForm"
RESULT_FORMS = {
    "particle": "evlims.web.forms.results.ParticleResultForm",
    "protein": "evlims.web.forms.results.ProteinResultForm",
    "marker": "evlims.web.forms.results.MarkerResultForm",
    "imaging": "evlims.web.forms.results.ImagingResultForm",
    "lipid": "evlims.web.forms.results.AnalyteResultForm",
    "rna": "evlims.web.forms.results.AnalyteResultForm",
}
SAMPLE_API = "evlims:api:sample-detail"
PREP_API = "evlims:api:preparation-detail"
RESULTS_API = "evlims:api:results"


FLOW_UPLOAD_FORM = "evlims.web.forms.flow.FlowUploadForm"
FLOW_GATE_FORM = "evlims.web.forms.flow.GateForm"
FLOW_CONTROLS = (
    ("buffer", "Buffer-only control"),
    ("buffer_reagents", "Buffer with reagents control"),
    ("unstained", "Unstained sample control"),
    ("isotype", "Isotype or FMO control"),
    ("lysis", "Detergent lysis control"),
    ("dilution", "Serial dilution control"),
)


def _flow_upload(path: str, label: str, field: str, derived: str = "") -> WritePath:
    api = "evlims:api:flow-acquisition-list"
    return WritePath(path, label, "evlims:preparation-detail", FLOW_UPLOAD_FORM, field, api, field, derived)


def _flow_gate(path: str, label: str, form_field: str, api_field: str) -> WritePath:
    api = "evlims:api:flow-result-create"
    return WritePath(path, label, "evlims:preparation-detail", FLOW_GATE_FORM, form_field, api, api_field)


def _sample(path: str, label: str, field: str, derived: str = "") -> WritePath:
    return WritePath(f"sample.{path}", label, "evlims:sample-edit", SAMPLE_FORM, field, SAMPLE_API, field, derived)


def _prep(path: str, label: str, field: str, derived: str = "") -> WritePath:
    return WritePath(path, label, "evlims:preparation-edit", PREP_FORM, field, PREP_API, field, derived)


def _result(kind: str, path: str, label: str, form_field: str, api_field: str) -> WritePath:
    section = {
        "particle": "particle_analysis",
        "protein": "protein_quantification",
        "marker": "markers",
        "imaging": "imaging",
        "lipid": "lipid_quantification",
        "rna": "rna_quantification",
    }[kind]
    detail = "analyte" if kind in ("lipid", "rna") else kind
    return WritePath(
        f"characterization.{section}[].{path}" if path else f"characterization.{section}",
        label,
        "evlims:result-new",
        RESULT_FORMS[kind],
        form_field,
        RESULTS_API,
        f"results[].{detail}.{api_field}",
        form_kwargs=(("kind", kind),),
    )


def _marker_part(path: str, label: str, form_field: str, api_field: str) -> WritePath:
    """A marker-result field whose document path lies outside the marker entry (topology, the method)."""
    return WritePath(
        path,
        label,
        "evlims:result-new",
        RESULT_FORMS["marker"],
        form_field,
        RESULTS_API,
        api_field,
        form_kwargs=(("kind", "marker"),),
    )


def _total(section: str, field: str, what: str) -> WritePath:
    """An amount in the whole preparation: its concentration times the preparation's final volume."""
    return _prep(
        f"characterization.{section}[].{field}",
        f"Final volume (µL), with the {what} concentration",
        "final_volume_ul",
        derived=f"derived from the {what} concentration and the preparation's final volume",
    )


def _study(field: str, label: str) -> WritePath:
    return WritePath(
        f"functional_studies[].{field}",
        label,
        "evlims:preparation-functional-study",
        STUDY_FORM,
        field,
        PREP_API,
        f"functional_studies[].{field}",
    )


def _donor(field: str, label: str) -> WritePath:
    return WritePath(
        f"sample.donor.{field}", label, "evlims:donor-edit", DONOR_FORM, field, "evlims:api:donor-detail", field
    )


WRITE_PATHS: tuple[WritePath, ...] = (
    # --- the sample and its pre-analytical record (sample edit page; PATCH /samples/<id>/)
    _sample("biofluid", "Biofluid or source", "biofluid"),
    WritePath(
        "sample.volume_ml",
        "Volume processed (µL, shown in mL)",
        "evlims:run-new",
        RUN_PLAN_FORM,
        "default_volume",
        "evlims:api:run-list",
        "inputs[].volume_ul",
        derived="the volume the run took from the input aliquot",
    ),
    _sample("tissue_mass_mg", "Tissue mass (mg)", "tissue_mass_mg"),
    _sample("donor", "Donor", "donor"),
    _donor("age_band", "Donor age band"),
    _donor("sex", "Donor sex"),
    _donor("diagnosis", "Donor diagnosis"),
    _sample("anticoagulant", "Anticoagulant", "anticoagulant"),
    _sample("tube_type", "Collection tube", "tube_type"),
    _sample("needle_gauge", "Needle gauge (G)", "needle_gauge"),
    _sample("discard_tube", "Discard tube drawn first", "discard_tube"),
    _sample("processing_delay_h", "Time from collection to first spin (min, shown in h)", "processing_delay_min"),
    _sample("processing_temperature_c", "Processing temperature (°C)", "processing_temperature_c"),
    _sample("centrifugation_spins", "Preparation spins", "prep_spin_g"),
    _sample("centrifugation_spins[].g_force", "Preparation spin force (× g)", "prep_spin_g"),
    _sample("centrifugation_spins[].duration_min", "Preparation spin time (min)", "prep_spin_min"),
    _sample("centrifugation_spins[].temperature_c", "Preparation spin temperature (°C)", "prep_spin_temperature_c"),
    _sample("centrifugation_spins[].brake", "Preparation spin brake", "prep_spin_brake"),
    _sample("hemolysis_a414", "Hemolysis (A414)", "hemolysis_a414"),
    _sample("residual_platelets_per_ul", "Residual platelets (per µL)", "residual_platelets_per_ul"),
    _sample("fasting", "Fasting", "fasting"),
    _sample("storage_temperature_c", "Sample storage temperature (°C)", "storage_temperature_c"),
    _sample(
        "storage_duration_days",
        "Sample storage time before isolation (days)",
        "storage_duration_days",
        derived="derived from the collection and isolation times",
    ),
    WritePath(
        "sample.freeze_thaw_cycles",
        "Freeze–thaw cycles of the input aliquot",
        "evlims:aliquot-thaw",
        "evlims.web.forms.aliquots.AliquotThawForm",
        "note",
        "evlims:api:aliquot-thaw",
        "note",
        derived="counted from the input aliquot's thaw events",
    ),
    _sample("urine_collection", "Urine collection", "urine_collection"),
    _sample("urine_normalization", "Urine normalisation", "urine_normalization"),
    _sample("protease_inhibitors", "Protease inhibitors added", "protease_inhibitors"),
    _sample("pre_clearing_g", "Pre-clearing spin (× g)", "pre_clearing_g"),
    _sample("cell_line", "Cell line", "cell_line"),
    _sample("passage", "Passage", "passage"),
    _sample("culture_medium", "Culture medium", "culture_medium"),
    _sample("serum_percent", "Serum in the medium (%)", "serum_percent"),
    _sample("serum_ev_depleted", "Serum EV-depleted", "serum_ev_depleted"),
    _sample("conditioning_time_h", "Conditioning time (h)", "conditioning_time_h"),
    _sample("cell_count_at_harvest", "Cell count at harvest", "cell_count_at_harvest"),
    _sample("viability_pct_at_harvest", "Viability at harvest (%)", "viability_pct_at_harvest"),
    _sample("notes", "Remarks", "remarks"),
    # --- the separation chain: protocol steps with the run's observed parameters
    WritePath(
        "separation",
        "Separation steps",
        "evlims:run-step",
        STEP_FORM,
        "*",
        "evlims:api:run-step",
        "observed",
        derived="the protocol's steps with the parameters recorded at each run step",
    ),
    WritePath(
        "separation[].method",
        "Separation method",
        "evlims:protocol-new",
        "evlims.web.forms.protocols.ProtocolEditorForm",
        "source_text",
        "evlims:api:protocol-version-list",
        "source_text",
    ),
    WritePath(
        "separation[].params.*",
        "Step parameters (one field per parameter of the method)",
        "evlims:run-step",
        STEP_FORM,
        "*",
        "evlims:api:run-step",
        "observed.*",
    ),
    # --- results (result pages of the preparation; POST /results/)
    _result("particle", "", "Particle analysis", "technique", "technique"),
    _result("particle", "method", "Particle analyser", "technique", "technique"),
    _result(
        "particle",
        "concentration_per_ml",
        "Concentration (particles/mL)",
        "concentration_per_ml",
        "concentration_per_ml",
    ),
    _result("particle", "mode_size_nm", "Mode (nm)", "size_mode_nm", "size_mode_nm"),
    _result("particle", "mean_size_nm", "Mean size (nm)", "size_mean_nm", "size_mean_nm"),
    _result("particle", "size_window_nm", "Size window: D10 and D90 (nm)", "d90_nm", "d90_nm"),
    _result("particle", "settings", "Analyser settings", "camera_level", "settings"),
    _result("particle", "settings.camera_level", "Camera level", "camera_level", "settings.camera_level"),
    _result(
        "particle",
        "settings.detection_threshold",
        "Detection threshold",
        "detection_threshold",
        "settings.detection_threshold",
    ),
    _result("particle", "settings.shutter", "Shutter", "shutter", "settings.shutter"),
    _result("particle", "settings.frames", "Frames per video", "frames", "settings.frames"),
    _result("particle", "settings.videos", "Videos or positions recorded", "videos", "settings.videos"),
    _result(
        "particle", "settings.temperature_c", "Measurement temperature (°C)", "temperature_c", "settings.temperature_c"
    ),
    _result("particle", "calibration", "Calibration", "calibration", "calibration"),
    _total("particle_analysis", "total_particles", "particle"),
    _result("protein", "", "Protein quantification", "assay", "assay"),
    _total("protein_quantification", "total_protein_ug", "protein"),
    _result(
        "protein", "concentration_ug_per_ml", "Protein (µg/mL)", "concentration_ug_per_ml", "concentration_ug_per_ml"
    ),
    _result("marker", "", "Marker result", "protein", "protein"),
    _result("marker", "protein", "Protein (HGNC symbol)", "protein", "protein"),
    _result("marker", "detected", "Detected or not", "detection", "detected"),
    _marker_part("characterization.markers[].method", "Marker method", "method", "results[].method"),
    _result("marker", "antibody", "Antibody", "antibody_clone", "antibody"),
    _result("marker", "antibody.clone", "Antibody clone", "antibody_clone", "antibody.clone"),
    _result("marker", "antibody.catalogue", "Antibody catalogue number", "antibody_catalogue", "antibody.catalogue"),
    _result("marker", "antibody.dilution", "Antibody dilution", "antibody_dilution", "antibody.dilution"),
    _result("marker", "antibody.supplier", "Antibody supplier", "antibody_supplier", "antibody.supplier"),
    _result("marker", "lysate", "Lysate", "lysate_buffer", "lysate"),
    _result("marker", "lysate.buffer", "Lysis buffer", "lysate_buffer", "lysate.buffer"),
    _result("marker", "lysate.protocol", "Lysis protocol", "lysis_protocol", "lysate.protocol"),
    _result("marker", "lysate.reducing", "Reducing or non-reducing", "lysate_reducing", "lysate.reducing"),
    _result(
        "marker", "lysate.protein_loaded_ug", "Protein loaded (µg)", "protein_loaded_ug", "lysate.protein_loaded_ug"
    ),
    _result(
        "marker",
        "compared_with_cell_lysate",
        "Compared with the source lysate",
        "compared_with_source_lysate",
        "lysate.compared_with_source",
    ),
    _marker_part("characterization.topology", "Topology assay", "topology_assay", "results[].marker.topology.assay"),
    _marker_part(
        "characterization.topology[].assay", "Topology assay", "topology_assay", "results[].marker.topology.assay"
    ),
    _marker_part(
        "characterization.topology[].component",
        "Topology finding",
        "topology_component",
        "results[].marker.topology.component",
    ),
    _result("imaging", "", "Imaging", "technique", "technique"),
    _result("imaging", "technique", "Imaging technique", "technique", "technique"),
    _result("imaging", "wide_field", "Wide-field view", "wide_field", "wide_field"),
    _result("imaging", "close_up", "Close-up view", "close_up", "close_up"),
    _result("lipid", "", "Lipid quantification", "assay", "assay"),
    _result("lipid", "concentration_nmol_per_ml", "Lipid (nmol/mL)", "value", "value"),
    _result("lipid", "total_lipid_nmol", "Total lipid (nmol)", "value", "value"),
    _result("rna", "", "RNA quantification", "assay", "assay"),
    _result("rna", "concentration_ng_per_ml", "RNA (ng/mL)", "value", "value"),
    _result("rna", "total_rna_ng", "Total RNA (ng)", "value", "value"),
    # --- storage of the preparation (preparation edit page, also at run completion; PATCH /preparations/<id>/)
    _prep("prep_storage.buffer", "Storage buffer", "buffer"),
    _prep("prep_storage.container", "Storage container", "storage_container"),
    _prep("prep_storage.temperature_c", "Storage temperature (°C)", "storage_temperature_c"),
    _prep(
        "prep_storage.duration_days",
        "Storage time before characterisation (days)",
        "storage_duration_days",
        derived="derived from the run's completion and the time of the last result",
    ),
    _prep("prep_storage.freeze_thaw_cycles", "Freeze–thaw cycles of the preparation", "storage_freeze_thaw_cycles"),
    # --- single-EV flow cytometry (evlims.cytometry): an FCS file uploaded from the preparation page (the
    # Flow cytometry (FCS) button; POST /flow/acquisitions/), read from the file, then gated on its page
    # (POST /flow/acquisitions/<id>/results/), both reached from the preparation page; written in
    # tests/compliance/test_flow_document.py.
    _flow_upload("flow", "Flow cytometry file of the EV sample", "file"),
    _flow_upload("flow.events", "Events in the file", "file", derived="read from the FCS file ($TOT)"),
    _flow_upload("flow.trigger_channel", "Trigger channel", "file", derived="read from the FCS file ($TR)"),
    _flow_upload("flow.trigger_threshold", "Trigger threshold", "file", derived="read from the FCS file ($TR)"),
    *[_flow_upload(f"flow.controls.{role}", label, "role") for role, label in FLOW_CONTROLS],
    _flow_gate("flow.gates", "Gates", "particle_gate", "gates"),
    _flow_gate("flow.fluorescence_units", "Fluorescence calibration", "calibrations", "calibrations"),
    _flow_gate("flow.scatter_units", "Scatter calibration", "calibrations", "calibrations"),
    _flow_gate("flow.analysed_volume_ul", "Analysed volume (µL)", "volume_ul", "volume_ul"),
    _flow_gate("flow.concentration_per_ml", "EVs per mL of the original sample", "dilution_factor", "dilution_factor"),
    # Data sharing is recorded on the file's page (Data sharing card), reached from the preparation page.
    WritePath(
        "flow.data_sharing.accession",
        "Accession of the shared data",
        "evlims:preparation-detail",
        "evlims.web.forms.flow.DataSharingForm",
        "data_accession",
        "evlims:api:flow-data-sharing",
        "data_accession",
    ),
    # --- claims
    _prep("claims.subtype", "What the preparation is called", "claimed_subtype"),
    _prep("claims.biogenesis_evidence", "Evidence for the biogenesis term", "biogenesis_evidence"),
    _prep("claims.functional_cargo", "Cargo a function is attributed to", "functional_cargo"),
    # --- functional studies (add a study on the preparation page; PATCH functional_studies)
    WritePath(
        "functional_studies",
        "Functional studies",
        "evlims:preparation-functional-study",
        STUDY_FORM,
        "assay",
        PREP_API,
        "functional_studies",
    ),
    _study("assay", "Functional assay"),
    _study("readout", "Readout"),
    _study("dose", "Dose"),
    _study("controls", "Controls run alongside"),
    _study("notes", "Notes"),
)


@cache
def write_paths() -> dict[str, WritePath]:
    """{document path: where it is written}."""
    return {entry.path: entry for entry in WRITE_PATHS}


def write_path_for(path: str) -> WritePath | None:
    """The entry for a path as rules and verdicts name it; list indices ("markers[3]") and separation
    parameters ("separation[0].params.g_force") resolve to their general entry."""
    import re

    general = re.sub(r"\[\d+\]", "[]", path)
    entries = write_paths()
    if general in entries:
        return entries[general]
    if general.startswith("separation[].params."):
        return entries["separation[].params.*"]
    return None


__all__ = ["WRITE_PATHS", "WritePath", "rule_paths", "write_path_for", "write_paths"]
