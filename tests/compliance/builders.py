"""Small builders for experiment documents used across the compliance tests."""

import copy


def experiment(
    biofluid="urine",
    *,
    sample=None,
    separation=(),
    claims=None,
    prep_storage=None,
    functional_studies=None,
    **characterization,
):
    """A schema-valid document; characterisation lists are given as keyword arguments (absent = not described)."""
    document = {"sample": {"biofluid": biofluid, **(sample or {})}, "separation": list(separation)}
    if characterization:
        document["characterization"] = copy.deepcopy(characterization)
    if claims is not None:
        document["claims"] = claims
    if prep_storage is not None:
        document["prep_storage"] = prep_storage
    if functional_studies is not None:
        document["functional_studies"] = copy.deepcopy(functional_studies)
    return document


def markers(*specs, method="western_blot", antibody=None, lysate=None):
    """markers("CD63+", "APOB-") -> marker entries; a trailing + means detected, - means not detected."""
    entries = []
    for spec in specs:
        entry = {"protein": spec[:-1], "method": method, "detected": spec.endswith("+")}
        if antibody is not None:
            entry["antibody"] = dict(antibody)
        if lysate is not None:
            entry["lysate"] = dict(lysate)
        entries.append(entry)
    return entries


def step(method, **params):
    return {"method": method, "params": params}


FULL_UC = step(
    "ultracentrifugation",
    g_force=100000,
    duration_min=70,
    temperature_c=4,
    rotor="SW32 Ti",
    k_factor=256,
    fraction_kept="pellet",
)
FULL_DG = step(
    "density_gradient",
    medium="iodixanol",
    gradient_type="discontinuous",
    g_force=100000,
    duration_min=1080,
    rotor="SW41 Ti",
    k_factor=256,
    fractions_collected=12,
    ev_fractions=[6, 7],
    fraction_density_g_ml=1.1,
)
FULL_SEC = step(
    "sec", resin="Sepharose CL-2B", sample_volume_ml=0.5, fraction_volume_ml=0.5, fractions_pooled=[7, 8, 9]
)
BOTH_TEM_VIEWS = [{"technique": "tem", "wide_field": True, "close_up": False}, {"technique": "tem", "close_up": True}]
GOOD_ANTIBODY = {"clone": "H5C6", "dilution": "1:1000"}
GOOD_LYSATE = {"buffer": "RIPA", "protocol": "10 min on ice"}
FULL_PREP_STORAGE = {
    "temperature_c": -80,
    "duration_days": 7,
    "container": "polypropylene",
    "buffer": "PBS",
    "freeze_thaw_cycles": 0,
}
BIOFLUID_REPORTING = {
    "volume_ml": 10,
    "donor": {"sex": "female"},
    "processing_delay_h": 1,
    "processing_temperature_c": 4,
    "storage_temperature_c": -80,
    "storage_duration_days": 30,
    "freeze_thaw_cycles": 0,
    "pre_clearing_g": 2000,
}
CULTURE_REPORTING = {
    "cell_line": "HEK293T",
    "passage": 10,
    "culture_medium": "DMEM",
    "conditioning_time_h": 48,
    "cell_count_at_harvest": 1e7,
    "viability_pct_at_harvest": 95,
    "volume_ml": 30,
}
SPIN = {"g_force": 2500, "duration_min": 15, "temperature_c": 21, "brake": False}
