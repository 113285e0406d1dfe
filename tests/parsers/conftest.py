from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_SAMPLES = REPO.parent / "shared" / "instrument-samples"
FIXTURES = REPO / "tests" / "fixtures" / "instrument-files"

NANOSIGHT_EMT1 = "nanosight/EMT1 d200 pre1 2021-04-01 15-42-48-ExperimentSummary.csv"
NANOSIGHT_HOT1A3 = "nanosight/HOT1A3_12h_A_LS 2020-09-21 10-36-33-ExperimentSummary.csv"
NANOSIGHT_BEADS_COMBINED = "nanosight/beads.csv"
NANOSIGHT_BEADS_DILUTED = "nanosight/beads2.csv"
ZETAVIEW_SAMPLE1 = "zetaview/Sample1_35nm_1-5pool.txt"
SOFTMAX_BCA = "plate-reader/testdata_SM.csv"
ENSIGHT_BCA = "plate-reader/testdata_PE.csv"
ALL_SHARED = (
    NANOSIGHT_EMT1,
    NANOSIGHT_HOT1A3,
    NANOSIGHT_BEADS_COMBINED,
    NANOSIGHT_BEADS_DILUTED,
    ZETAVIEW_SAMPLE1,
    SOFTMAX_BCA,
    ENSIGHT_BCA,
)


def shared_bytes(relative: str) -> bytes:
    path = SHARED_SAMPLES / relative
    if not path.is_file():
        pytest.skip(f"real instrument export {relative} not available (expected under {SHARED_SAMPLES})")
    return path.read_bytes()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
