"""A synthetic nano-flow EV file: SSC-H scatter and three tetraspanin channels, with known counts per gate.

20,000 events: 4,000 noise events below SSC 100 (outside the particle gate); of the 16,000 particles every
4th is CD9⁺ (FL1-H 5,000), every 2nd CD63⁺ (FL2-H 5,000), every 8th CD81⁺ (FL3-H 5,000); the others sit at 20.
$VOL 10,000 nL (10 µL analysed)."""

import numpy as np

from tests.cytometry.fcs_writer import fcs_bytes

NAMES = ["SSC-H", "FL1-H", "FL2-H", "FL3-H", "Time"]
PARTICLES, NOISE = 16_000, 4_000


def ev_events() -> np.ndarray:
    rng = np.random.default_rng(3)
    index = np.arange(PARTICLES)
    particles = np.column_stack(
        [
            rng.uniform(200, 20_000, PARTICLES),
            np.where(index % 4 == 0, 5000.0, 20.0),
            np.where(index % 2 == 0, 5000.0, 20.0),
            np.where(index % 8 == 0, 5000.0, 20.0),
            index / 100,
        ]
    )
    noise = np.column_stack([rng.uniform(1, 90, NOISE), *(np.full(NOISE, 20.0),) * 3, np.arange(NOISE) / 100])
    return np.vstack([particles, noise])


def ev_file(*, volume_nl: int | None = 10_000, extra=()) -> bytes:
    keywords = [("$CYT", "CytoFLEX nano"), ("$DATE", "01-Dec-2026"), ("$BTIM", "10:00:00"), ("$TR", "SSC-H,100")]
    if volume_nl:
        keywords.append(("$VOL", str(volume_nl)))
    return fcs_bytes(ev_events(), NAMES, extra=keywords + list(extra))


GATES = [
    {"name": "EVs", "x": "SSC-H", "x_min": 100},
    {"name": "CD9+", "x": "FL1-H", "x_min": 1000, "marker": "CD9", "parent": "EVs"},
    {"name": "CD63+", "x": "FL2-H", "x_min": 1000, "marker": "CD63", "parent": "EVs"},
    {
        "name": "CD9+CD63+",
        "x": "FL1-H",
        "x_min": 1000,
        "y": "FL2-H",
        "y_min": 1000,
        "marker": "CD9+CD63+",
        "parent": "EVs",
    },
]
