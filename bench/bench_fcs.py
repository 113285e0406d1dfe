"""Time and memory of reading and gating a 10⁶-event FCS file, against reading the same array with numpy.

    .venv/bin/python bench/bench_fcs.py               # 1,000,000 events × 8 parameters (float32)
    .venv/bin/python bench/bench_fcs.py --events 200000

Writes a synthetic FCS 3.1 file (float32, little-endian) in memory and measures, in the same run:

- baseline: numpy alone, ``np.frombuffer`` of the DATA segment reshaped to events × parameters, as float32;
- evlims read: ``cytometry.fcs.read_fcs`` (FlowIO for HEADER and TEXT, numpy for the events, $PnE and $PnG);
- FlowIO read: ``flowio.FlowData`` and ``as_array()`` (its own event reader, float64), for comparison;
- evlims gating: reading plus a fluorescence calibration and four gates (a particle gate, two markers, and
  their co-localisation), as ``cytometry.analysis.analyse`` runs them for a result.

Each line gives the events, seconds, events/s, the peak memory traced (tracemalloc sees numpy's buffers) and
the ratio of its time to the baseline's; bench/run.py reads the lines into its ``fcs`` figure.
"""

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evlims.cytometry.analysis import analyse  # noqa: E402
from evlims.cytometry.fcs import read_fcs, read_header  # noqa: E402
from evlims.cytometry.gating import Gate  # noqa: E402
from tests.cytometry.fcs_writer import fcs_bytes  # noqa: E402

NAMES = ["FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL3-H", "FL4-H", "SSC-W", "Time"]
GATES = [
    Gate(name="EVs", x="SSC-H", x_min=200),
    Gate(name="CD9+", x="FL1-H", x_min=3000, marker="CD9", parent="EVs"),
    Gate(name="CD63+", x="FL2-H", x_min=1000, marker="CD63", parent="EVs"),
    Gate(name="CD9+CD63+", x="FL1-H", x_min=3000, y="FL2-H", y_min=1000, parent="EVs"),
]
CALIBRATIONS = {"FL1-H": {"kind": "fluorescence", "units": "MESF", "fit": {"slope": 1.02, "intercept": 0.3}}}


def synthetic(events: int) -> bytes:
    rng = np.random.default_rng(5)
    data = rng.lognormal(mean=6, sigma=1.5, size=(events, len(NAMES))).astype(np.float32)
    data[:, -1] = np.arange(events, dtype=np.float32) / 1000
    return fcs_bytes(data, NAMES, extra=[("$CYT", "bench"), ("$VOL", "50000")])


def measure(label, function, events, baseline=None):
    tracemalloc.start()
    started = time.perf_counter()
    function()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ratio = f"×{seconds / baseline:.1f} numpy" if baseline else "baseline"
    print(
        f"{label:<36} {events:,} events {seconds:8.3f} s {events / seconds:14,.0f} events/s "
        f"{peak / 1e6:8.1f} MB peak  {ratio}"
    )
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    options = parser.parse_args(argv)
    data = synthetic(options.events)
    header = read_header(data)
    print(f"FCS file: {len(data) / 1e6:.1f} MB, {options.events:,} events × {len(NAMES)} parameters")

    def numpy_only():
        segment = memoryview(data)[header.data_start : header.data_stop + 1]
        return np.frombuffer(segment, dtype="<f4").reshape(options.events, len(NAMES)).astype(np.float32)

    def flowio_read():
        import io

        import flowio

        return flowio.FlowData(io.BytesIO(data)).as_array()

    def gated():
        return analyse(
            data,
            read_header(data),
            gates=GATES,
            particle_gate="EVs",
            calibrations=CALIBRATIONS,
            volume_ul=50,
            dilution=100,
        )

    baseline = measure("numpy frombuffer (baseline)", numpy_only, options.events)
    measure("evlims read", lambda: read_fcs(data), options.events, baseline)
    measure("FlowIO read", flowio_read, options.events, baseline)
    measure("evlims read, calibrate and gate", gated, options.events, baseline)


if __name__ == "__main__":
    main()
