"""Nano-flow cytometry of each lab's reference preparation: an EV sample file with two controls (buffer only and
detergent lysis), a PE bead calibration to MESF, and gates applied, so the flow pages and the MIFlowCyt-EV rules
have something to show.

The FCS files are written at demo time (small and deterministic: 20,000 events of the EV sample, a seeded
generator, FlowIO's writer) and go through the same services the upload form and the API call.
"""

import io
from datetime import date

import flowio
import numpy as np

from evlims.cytometry import gate_services
from evlims.cytometry import services as flow
from evlims.cytometry.models import FlowAcquisition

from .people import LabPeople

REASON = "Nano-flow cytometry of the reference preparation (demo data)"
CHANNELS = ["SSC-H", "FL1-H", "FL2-H", "FL3-H", "Time"]
STAINS = ["Side scatter", "CD9 FITC", "CD63 PE", "CD81 APC", "Time"]
VOLUME_NL = 10_000  # 10 µL analysed, written as $VOL
DILUTION = 100
# The PE channel's beads (a six-peak set; the blank is left out of the fit): medians (a.u.) and assigned MESF.
BEAD_MEDIANS = [64.0, 270.0, 1_150.0, 4_700.0, 19_500.0]
BEAD_MESF = [320.0, 1_350.0, 5_750.0, 23_500.0, 97_500.0]
Role = FlowAcquisition.Role
# Every control MIFlowCyt-EV asks for: (role, tube, particles above the trigger, stained, dilution factor).
CONTROLS = [
    (Role.BUFFER, "Buffer only (PBS)", 40, False, DILUTION),
    (Role.BUFFER_REAGENTS, "Buffer with antibodies", 70, True, DILUTION),
    (Role.UNSTAINED, "Unstained sample", 15_800, False, DILUTION),
    (Role.ISOTYPE, "Isotype control", 15_900, False, DILUTION),
    (Role.LYSIS, "Detergent lysis (0.1 % Triton X-100)", 700, True, DILUTION),
    (Role.DILUTION, "Dilution 1 in 200", 8_000, True, 200),
    (Role.DILUTION, "Dilution 1 in 400", 4_000, True, 400),
]
GATES = [
    {"name": "EVs", "x": "SSC-H", "x_min": 100},
    {"name": "CD63+", "x": "FL2-H", "x_min": 2_000, "marker": "CD63", "parent": "EVs"},
    {"name": "CD81+", "x": "FL3-H", "x_min": 500, "marker": "CD81", "parent": "EVs"},
    {
        "name": "CD63+CD81+",
        "x": "FL2-H",
        "x_min": 2_000,
        "y": "FL3-H",
        "y_min": 500,
        "marker": "CD63+CD81+",
        "parent": "EVs",
    },
]


def _events(rng: np.random.Generator, particles: int, noise: int, stained: bool) -> np.ndarray:
    """Particles above the trigger (SSC ≥ 100), stained: 20 % CD9⁺, 45 % CD63⁺, 30 % CD81⁺, independently;
    unstained: none positive. Noise below the trigger."""
    ssc = rng.lognormal(np.log(600), 0.7, particles).clip(110, 200_000)

    def stain(share):
        positive = rng.random(particles) < share
        return np.where(
            positive, rng.lognormal(np.log(2_500), 0.5, particles), rng.lognormal(np.log(25), 0.5, particles)
        )

    noise_rows = np.column_stack(
        [rng.uniform(5, 90, noise), *(rng.lognormal(np.log(20), 0.4, noise) for _ in range(3))]
    )
    rows = np.vstack(
        [np.column_stack([ssc, stain(0.2 * stained), stain(0.45 * stained), stain(0.3 * stained)]), noise_rows]
    )
    rows = rows[rng.permutation(rows.shape[0])]
    return np.column_stack([rows, np.arange(rows.shape[0]) / 1_000.0])


def fcs_file(seed: int, *, particles: int, noise: int, tube: str, stained: bool = True) -> bytes:
    """A small FCS 3.1 file of a CytoFLEX nano-like instrument, the same bytes for the same seed. It gives no
    acquisition date: the reference run is completed as the demo is built, so its results are dated when recorded."""
    events = _events(np.random.default_rng(seed), particles, noise, stained).astype(np.float32)
    keywords = {
        "$CYT": "CytoFLEX nano",
        "$TR": "SSC-H,100",
        "$VOL": str(VOLUME_NL),
        "$SRC": tube,
    }
    for number in range(1, len(CHANNELS) + 1):
        keywords[f"$P{number}R"] = "262144"
    out = io.BytesIO()
    flowio.create_fcs(out, events.ravel().tolist(), CHANNELS, opt_channel_names=STAINS, metadata_dict=keywords)
    return out.getvalue()


def _upload(people: LabPeople, data: bytes, name: str, *, dilution: float = DILUTION, **links) -> FlowAcquisition:
    acquisition = flow.acquisition_upload(
        actor=people.staff, lab=people.lab, data=data, name=name, dilution_factor=dilution, reason=REASON, **links
    )
    # The worker reads the events once the demo commits; reading them here draws the density plot at once.
    return flow.acquisition_read_events(acquisition_id=acquisition.pk)


def record_flow(people: LabPeople, preparation, *, seed: int) -> FlowAcquisition:
    """The EV sample file of ``preparation`` with its calibration, controls and gatings; returns the sample."""
    calibration = flow.calibration_create(
        actor=people.staff,
        lab=people.lab,
        name="PE beads to MESF",
        kind="fluorescence",
        channel="FL2-H",
        units="MESF",
        beads="Spherotech RCP-30-5A (PE)",
        lot="AK01",
        calibrated_on=date(2026, 12, 1),
        measured=BEAD_MEDIANS,
        assigned=BEAD_MESF,
        reason=REASON,
    )
    code = preparation.barcode
    sample = _upload(
        people,
        fcs_file(seed, particles=16_000, noise=4_000, tube="EV sample"),
        f"{code}_EV_sample.fcs",
        preparation=preparation,
    )
    controls = []
    for offset, (role, tube, particles, stained, dilution) in enumerate(CONTROLS, start=1):
        data = fcs_file(seed + offset, particles=particles, noise=900, tube=tube, stained=stained)
        name = f"{code}_{tube.split(' (')[0].replace(' ', '_')}.fcs"
        controls.append(_upload(people, data, name, role=role, controls=sample, dilution=dilution))
    # Shared, as MIFlowCyt-EV asks; a made-up archive rather than a FlowRepository id that may be someone's real one.
    gate_services.acquisition_share(
        actor=people.staff,
        acquisition=sample,
        repository="Demo data archive",
        accession=f"DEMO-FCM-{code}",
        reason=REASON,
    )
    for acquisition in [*controls, sample]:
        flow.result_record(
            actor=people.staff,
            acquisition=acquisition,
            gates=GATES,
            particle_gate="EVs",
            calibrations=[calibration],
            reason=REASON,
        )
    return sample
