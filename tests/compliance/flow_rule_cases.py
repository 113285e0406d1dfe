"""MIFlowCyt-EV rule cases (miflowcyt_ev@1.yaml): each rule passes on a fully reported flow part, fails when its
item is missing, and does not apply to a preparation without an EV sample FCS file (no ``flow`` part) — or, for
the rules on a gating, to a file not gated yet."""

from .builders import experiment

P, F, NA, ID = "pass", "fail", "not_applicable", "insufficient_data"

CONTROLS = dict.fromkeys(("buffer", "buffer_reagents", "unstained", "isotype", "lysis", "dilution"), True)
FULL = {
    "instrument": "CytoFLEX nano",
    "events": 20000,
    "trigger_channel": "SSC-H",
    "trigger_threshold": 100,
    "fluorescence_units": "MESF",
    "scatter_units": "nm",
    "gates": ["EVs", "CD63+"],
    "analysed_volume_ul": 10,
    "dilution_factor": 100,
    "concentration_per_ml": 1.6e8,
    "controls": CONTROLS,
    "lysis_drop_percent": 90.0,
    "dilution_slope": 1.0,
    "data_sharing": {"repository": "FlowRepository", "accession": "FR-FCM-Z2ZY", "url": None},
}


def flow(**changes):
    """A document whose flow part is FULL with ``changes`` (a value None drops the key)."""
    part = {key: value for key, value in (FULL | changes).items() if value is not None}
    document = experiment("blood_plasma")
    document["flow"] = part
    return document


def without_control(role):
    return flow(controls={key: True for key in CONTROLS if key != role})


NO_FLOW = experiment("blood_plasma")
UNGATED = flow(gates=None, fluorescence_units=None, scatter_units=None, concentration_per_ml=None)

FLOW_CASES = [
    *[
        case
        for rule, role in (
            ("MFC.CONTROL.BUFFER", "buffer"),
            ("MFC.CONTROL.BUFFER_REAGENTS", "buffer_reagents"),
            ("MFC.CONTROL.UNSTAINED", "unstained"),
            ("MFC.CONTROL.ISOTYPE", "isotype"),
            ("MFC.CONTROL.LYSIS", "lysis"),
            ("MFC.CONTROL.DILUTION", "dilution"),
        )
        for case in ((rule, P, flow()), (rule, F, without_control(role)), (rule, NA, NO_FLOW))
    ],
    ("MFC.CALIBRATION.TRIGGER", P, flow()),
    ("MFC.CALIBRATION.TRIGGER", F, flow(trigger_threshold=None)),
    ("MFC.CALIBRATION.TRIGGER", NA, NO_FLOW),
    ("MFC.CALIBRATION.FLUORESCENCE", P, flow(fluorescence_units="ERF")),
    ("MFC.CALIBRATION.FLUORESCENCE", F, flow(fluorescence_units="a.u.")),
    ("MFC.CALIBRATION.FLUORESCENCE", NA, UNGATED),
    ("MFC.CALIBRATION.FLUORESCENCE", ID, flow(fluorescence_units=None)),
    ("MFC.CALIBRATION.SCATTER", P, flow()),
    ("MFC.CALIBRATION.SCATTER", F, flow(scatter_units="a.u.")),
    ("MFC.CALIBRATION.SCATTER", NA, NO_FLOW),
    ("MFC.CALIBRATION.SCATTER", ID, flow(scatter_units=None)),
    ("MFC.CHARACTERISATION.GATES", P, flow()),
    ("MFC.CHARACTERISATION.GATES", F, UNGATED),
    ("MFC.CHARACTERISATION.GATES", NA, NO_FLOW),
    ("MFC.REPORTING.CONCENTRATION", P, flow()),
    ("MFC.REPORTING.CONCENTRATION", F, flow(analysed_volume_ul=None, concentration_per_ml=None)),
    ("MFC.REPORTING.CONCENTRATION", NA, UNGATED),
    ("MFC.REPORTING.EVENTS", P, flow()),
    ("MFC.REPORTING.EVENTS", F, flow(events=None)),
    ("MFC.REPORTING.EVENTS", NA, NO_FLOW),
    ("MFC.SHARING.DATA", P, flow()),
    ("MFC.SHARING.DATA", F, flow(data_sharing=None)),
    ("MFC.SHARING.DATA", NA, NO_FLOW),
]
