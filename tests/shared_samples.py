"""The one way into the real instrument exports of the sibling folder ``../shared/instrument-samples``.

Those exports are not part of the repository (most carry no licence that allows redistribution), so a fresh
clone has no such folder. The suite's own checks run on the in-repo files of tests/fixtures/instruments; the
real exports are an extra check only. Every reader goes through :func:`shared_path` or :func:`shared_bytes`,
which ``pytest.skip`` the test, with the missing path as the reason, when the file is absent — locally and in
CI alike. Nothing here touches the disk at import time, so collecting the suite never needs the folder.

``EVLIMS_SHARED_SAMPLES`` overrides the folder: ``EVLIMS_SHARED_SAMPLES=/nonexistent pytest ...`` runs the
suite as a clone without the folder would. tests/test_shared_policy.py keeps every other test module from
building the path itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ENVIRONMENT_VARIABLE = "EVLIMS_SHARED_SAMPLES"
REPO = Path(__file__).resolve().parents[1]

# The real exports, relative to the folder (see shared/reference/instrument-formats.md, section 0).
REAL_NANOSIGHT_EMT1 = "nanosight/EMT1 d200 pre1 2021-04-01 15-42-48-ExperimentSummary.csv"
REAL_NANOSIGHT_HOT1A3 = "nanosight/HOT1A3_12h_A_LS 2020-09-21 10-36-33-ExperimentSummary.csv"
REAL_ZETAVIEW_SAMPLE1 = "zetaview/Sample1_35nm_1-5pool.txt"
REAL_SOFTMAX_BCA = "plate-reader/testdata_SM.csv"
REAL_ENSIGHT_BCA = "plate-reader/testdata_PE.csv"
# Published under MIT and copied into tests/fixtures/instruments/nanosight; listed for completeness.
REAL_NANOSIGHT_BEADS_COMBINED = "nanosight/beads.csv"
REAL_NANOSIGHT_BEADS_DILUTED = "nanosight/beads2.csv"
ALL_REAL = (
    REAL_NANOSIGHT_EMT1,
    REAL_NANOSIGHT_HOT1A3,
    REAL_NANOSIGHT_BEADS_COMBINED,
    REAL_NANOSIGHT_BEADS_DILUTED,
    REAL_ZETAVIEW_SAMPLE1,
    REAL_SOFTMAX_BCA,
    REAL_ENSIGHT_BCA,
)


def shared_folder() -> Path:
    """Where the real exports are looked for: $EVLIMS_SHARED_SAMPLES, else ../shared/instrument-samples."""
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    return Path(configured) if configured else REPO.parent / "shared" / "instrument-samples"


def shared_path(relative: str) -> Path:
    """The path of one real export; skips the calling test when it is not there."""
    path = shared_folder() / relative
    if not path.is_file():
        pytest.skip(f"real instrument export {relative} not available (looked in {shared_folder()})")
    return path


def shared_bytes(relative: str) -> bytes:
    return shared_path(relative).read_bytes()
