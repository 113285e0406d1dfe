"""The rule corrections of misev2018@2, misev2023@2 and ev_metric@2, each with the guideline sentence behind it.

``CORRECTIONS`` maps a rule id to its source (``quote``: the sentence of the guideline, ``verified``: whether it
was read in a stored public copy [V] or is recalled [M]) and a table of (status, document) cases. rule_cases.py
adds these cases to the table of every rule; test_corrections.py runs them with the quote in the test id's
docstring and checks that the rule file's citation carries the same V/M status.
"""

from typing import NamedTuple

from .builders import experiment, markers, step

P, F, NA, ID = "pass", "fail", "not_applicable", "insufficient_data"
COUNT = {"method": "nta", "concentration_per_ml": 2e10}
SIZE_ONLY = {"method": "nta", "mode_size_nm": 110}
PROTEIN = {"assay": "microbca", "total_protein_ug": 12}
TRPS_WINDOW = {"method": "trps", "size_window_nm": [50, 200]}
SETTINGS = {"camera_level": 14, "detection_threshold": 5, "videos": 5, "frames": 750, "temperature_c": 25}
CALIBRATION = "100 nm polystyrene beads, 2026-01-05"
STUDY = {"assay": "scratch wound", "readout": "wound closure at 24 h", "dose": "1e9 particles/mL"}


class Correction(NamedTuple):
    quote: str
    verified: bool
    cases: tuple[tuple[str, dict], ...]


CORRECTIONS = {
    "M18.SINGLE.ANALYSER": Correction(
        "MISEV2018 (PMC9465297 table T3): 'Non-image-based method analysing large numbers of single EVs: NTA, "
        "TRPS, FCS, high-resolution flow cytometry, multi-angle light-scattering, Raman spectroscopy, etc.' "
        "DLS measures the bulk, not single EVs.",
        True,
        (
            (P, experiment(particle_analysis=[{"method": "nanoflow"}])),
            (F, experiment(particle_analysis=[{"method": "dls", "mean_size_nm": 120}])),
            (ID, experiment()),
        ),
    ),
    "M18.QUANT.GLOBAL2": Correction(
        "MISEV2018 (PMC9465297 table T3): 'Global quantification by at least two methods: protein amount, "
        "particle number, lipid amount, expressed per volume of initial fluid or number of producing "
        "cells/mass of tissue.' A size without a count is not a quantity.",
        True,
        (
            (P, experiment(particle_analysis=[COUNT], protein_quantification=[PROTEIN])),
            (F, experiment(particle_analysis=[SIZE_ONLY], protein_quantification=[PROTEIN], lipid_quantification=[])),
            (ID, experiment(particle_analysis=[SIZE_ONLY], protein_quantification=[PROTEIN])),
        ),
    ),
    "M18.PROT.CAT2": Correction(
        "MISEV2018 Table 3 note (PMC6322352 table UT0002): exomere proteomics 'identified various proteins in "
        "Table 3-category 2, above: heat shock proteins (HSPA8, HSPA1A, HSP90AB1), actin (ACT*), tubulin (TUB*), "
        "and GAPDH. Such proteins thus probably do not qualify as EV-specific components.'",
        True,
        (
            (F, experiment(markers=markers("HSC70+", "HSP90AB1+"))),
            (F, experiment(markers=markers("GAPDH+", "CD63+"))),
            (P, experiment(markers=markers("HSC70+", "TSG101+"))),
            (ID, experiment(markers=markers("HSPA8+", "NOTAGENE1+"))),
        ),
    ),
    "M23.PROT.CYTOSOLIC": Correction(
        "MISEV2018 Table 3 note (PMC6322352 table UT0002), carried into the MISEV2023 cytosolic class: HSPA8, "
        "HSPA1A, HSP90AB1, actins, tubulins and GAPDH 'probably do not qualify as EV-specific components'.",
        False,
        (
            (F, experiment(markers=markers("HSP84+"))),
            (P, experiment(markers=markers("HSP84+", "syntenin-1+"))),
            (ID, experiment()),
        ),
    ),
    "M23.URINE.COLLECTION": Correction(
        "MISEV2023 urine section (after the Urine Task Force, e12093): collection type and pre-processing are "
        "reported; how results are normalised is recommended, not mandatory (not re-read).",
        False,
        (
            (P, experiment(sample={"urine_collection": "first_morning", "pre_clearing_g": 2000})),
            (F, experiment(sample={"pre_clearing_g": 2000, "urine_normalization": "creatinine"})),
            (NA, experiment("csf")),
        ),
    ),
    "M23.URINE.NORMALIZATION": Correction(
        "MISEV2023 urine section (after the Urine Task Force, e12093): normalisation of urinary EV results "
        "(creatinine, timed excretion, specific gravity) is recommended (not re-read).",
        False,
        (
            (P, experiment(sample={"urine_normalization": "urinary creatinine"})),
            (F, experiment(sample={"urine_collection": "spot"})),
            (NA, experiment("blood_plasma")),
        ),
    ),
    "EVM.LYSATE_PREPARATION": Correction(
        "EV-TRACK checklist (Van Deun et al. 2017, doi:10.1038/nmeth.4185): the lysate-preparation component "
        "asks whether the lysis buffer is provided; a lysis protocol is welcome detail (criterion recalled).",
        False,
        (
            (P, experiment(markers=markers("CD63+", lysate={"buffer": "RIPA with protease inhibitors"}))),
            (F, experiment(markers=markers("CD63+", lysate={"protocol": "10 min on ice", "reducing": False}))),
            (NA, experiment(markers=markers("CD63+", method="elisa"))),
            (ID, experiment()),
        ),
    ),
    "M18.NOM.SIZE_EVIDENCE": Correction(
        "MISEV2018 nomenclature: operational terms for physical characteristics such as size ('small EVs', "
        "'medium/large EVs') with defined ranges (not re-read); the claim needs a size measurement.",
        False,
        (
            (P, experiment(claims={"subtype": "small_ev"}, particle_analysis=[SIZE_ONLY])),
            (P, experiment(claims={"subtype": "large_ev"}, imaging=[{"technique": "cryo_em"}])),
            (F, experiment(claims={"subtype": "small_ev"}, particle_analysis=[COUNT], imaging=[])),
            (NA, experiment(claims={"subtype": "ev"})),
            (ID, experiment(claims={"subtype": "small_ev"}, particle_analysis=[COUNT])),
        ),
    ),
    "M23.NOM.SIZE_EVIDENCE": Correction(
        "MISEV2023 Table 2: small and large EVs are operational size terms, and 'the measured diameter depends "
        "on the method' (not re-read); the claim needs a size measurement.",
        False,
        (
            (
                P,
                experiment(
                    claims={"subtype": "small_ev"}, particle_analysis=[{"method": "trps", "size_window_nm": [50, 200]}]
                ),
            ),
            (F, experiment(claims={"subtype": "large_ev"}, particle_analysis=[], imaging=[])),
            (NA, experiment()),
            (ID, experiment(claims={"subtype": "small_ev"})),
        ),
    ),
    "M18.FUNC.CONTROLS": Correction(
        "MISEV2018 functional studies: controls that exclude non-EV factors, such as an EV-depleted or non-EV "
        "fraction (not re-read).",
        False,
        (
            (P, experiment(functional_studies=[{**STUDY, "controls": ["vehicle", "ev_depleted_fraction"]}])),
            (F, experiment(functional_studies=[{**STUDY, "controls": ["vehicle"]}, {**STUDY, "controls": []}])),
            (NA, experiment()),
        ),
    ),
    "M18.FUNC.DOSE_RESPONSE": Correction(
        "MISEV2018 functional studies: a dose-response (not re-read).",
        False,
        (
            (P, experiment(functional_studies=[{**STUDY, "controls": ["dose_response", "non_ev_fraction"]}])),
            (F, experiment(functional_studies=[{**STUDY, "controls": ["non_ev_fraction"]}])),
            (NA, experiment(functional_studies=[])),
        ),
    ),
    "M23.FUNC.CONTROLS": Correction(
        "MISEV2023 functional studies: controls for co-isolated non-EV components (not re-read).",
        False,
        (
            (P, experiment(functional_studies=[{**STUDY, "controls": ["non_ev_fraction"]}])),
            (F, experiment(functional_studies=[{"assay": "uptake", "controls": ["source_cell_control"]}])),
            (NA, experiment()),
        ),
    ),
    "M23.SINGLE.ANALYSER_SETTINGS": Correction(
        "MISEV2023 characterisation and the ISEV metrology papers it points to: report the analyser's "
        "settings and calibration (not re-read).",
        False,
        (
            (P, experiment(particle_analysis=[{**COUNT, "settings": SETTINGS, "calibration": CALIBRATION}])),
            (F, experiment(particle_analysis=[{**COUNT, "settings": SETTINGS}])),
            (NA, experiment(particle_analysis=[])),
            (ID, experiment()),
        ),
    ),
    "M18.SEP.CLASS": Correction(
        "MISEV2018 section 3: separation methods sit on a recovery x specificity grid (not re-read); the "
        "evidence names the class of the chain.",
        False,
        (
            (P, experiment(separation=[step("differential_centrifugation", g_force=2000), step("sec")])),
            (P, experiment(separation=[step("kit", kit_name="qEV", principle="sec")])),
            (F, experiment(separation=[step("kit", kit_name="some kit")])),
        ),
    ),
    "M23.SEP.CLASS": Correction(
        "MISEV2023 separation: still organised around recovery versus specificity (not re-read).",
        False,
        (
            (P, experiment(separation=[step("ultracentrifugation"), step("density_gradient")])),
            (F, experiment(separation=[])),
        ),
    ),
}

CORRECTION_CASES = [
    (rule_id, status, document) for rule_id, entry in CORRECTIONS.items() for status, document in entry.cases
]
