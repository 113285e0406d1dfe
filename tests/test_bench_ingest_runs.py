"""``bench/bench_ingest.py`` runs to its end in a clone: its own check counts every row its rounds wrote, the
untimed warm-up round included (the first posts of a process pay its one-time costs and stay out of the timing),
and it prints its figures beside the machine reference."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_ingest_bench_runs_small_and_prints_every_figure():
    result = subprocess.run(
        [sys.executable, "bench/bench_ingest.py", "--n", "12", "--files", "1", "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert re.search(r"^  machine reference: [\d.]+ ms CPU", out, re.MULTILINE)
    for label in ("bare bulk_create (baseline)", "API, one result per post", "API, bulk posts of ≤500"):
        assert re.search(rf"^{re.escape(label)}\s+12 (rows|results)\b", out, re.MULTILINE), label
    assert "12 queries per post" in out
    assert re.search(r"^  audit chain head held +ms p50 +[\d.]+ p95 +[\d.]+ .*\(12 posts\)$", out, re.MULTILINE)
