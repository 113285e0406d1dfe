"""The machine's yardstick: a fixed pure-Python workload, timed where a benchmark runs, printed beside its figures.

    .venv/bin/python bench/machine.py          # prints the reference, e.g. "machine reference: 31.4 ms CPU"

The targets of docs/performance.md are absolute (results a second, documents a second), but the machines that
measure them are not alike: the same commit served 309–321 single posts a second on one machine and 182 on
another, whose cores run Python about 1.7 times slower. A figure printed with this reference can be compared with
one measured elsewhere: scale it by the ratio of the two references before reading a change into it.

The workload does what the site's hot paths do in pure Python (dicts built and read, strings formatted, a sort,
``json.dumps`` with sorted keys, SHA-256), the same work every time. It is timed in CPU time, best of several
rounds after half a second untimed, so the other processes of a busy machine inflate it less than a wall time.
"""

import hashlib
import json
import time

ROUNDS = 7
# Untimed work first: an idle core of this machine ran the first tenths of a second up to twice as slowly.
WARM_UP_S = 0.5
KINDS = ("nta", "protein", "western_blot")


def workload() -> str:
    """The fixed work; its digest proves it ran in full (and changes if the work does)."""
    rows = [
        {
            "id": i,
            "barcode": f"EV-{i:06d}",
            "volume_ul": i * 0.5,
            "kind": KINDS[i % 3],
            "flags": [i % 2 == 0, i % 5 == 0],
        }
        for i in range(4000)
    ]
    rows.sort(key=lambda row: (row["kind"], -row["volume_ul"]))
    digest = hashlib.sha256()
    for start in range(0, len(rows), 100):
        digest.update(json.dumps(rows[start : start + 100], sort_keys=True).encode())
    counts: dict[str, int] = {}
    for row in rows:
        if row["flags"][0] or row["flags"][1]:
            counts[row["kind"]] = counts.get(row["kind"], 0) + len(row["barcode"].split("-")[1])
    digest.update(repr(sorted(counts.items())).encode())
    return digest.hexdigest()


def reference_ms(rounds: int = ROUNDS) -> float:
    """The workload's CPU milliseconds, best of ``rounds`` after half a second of the same work untimed."""
    warm_until = time.perf_counter() + WARM_UP_S
    while time.perf_counter() < warm_until:
        workload()
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        workload()
        best = min(best, time.process_time() - started)
    return best * 1000


def reference_line(milliseconds: float) -> str:
    return f"machine reference: {milliseconds:.1f} ms CPU (bench/machine.py; lower is faster)"


if __name__ == "__main__":
    print(reference_line(reference_ms()))
