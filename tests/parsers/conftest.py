"""Files the parser tests read: in-repo exports (tests/fixtures/instruments), crafted files
(tests/fixtures/instrument-files) and, as an extra check, the real exports via tests.shared_samples."""

from pathlib import Path

import pytest

from tests.fixtures.instruments import (
    ALL_IN_REPO,
    ENSIGHT_BCA,
    NANOSIGHT_BEADS_COMBINED,
    NANOSIGHT_BEADS_DILUTED,
    NANOSIGHT_FULL,
    NANOSIGHT_LOW_COUNT,
    SOFTMAX_BCA,
    ZETAVIEW,
    export_path,
    instrument_bytes,
    instrument_path,
)
from tests.shared_samples import ALL_REAL

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "instrument-files"

__all__ = [
    "ENSIGHT_BCA",
    "NANOSIGHT_BEADS_COMBINED",
    "NANOSIGHT_BEADS_DILUTED",
    "NANOSIGHT_FULL",
    "NANOSIGHT_LOW_COUNT",
    "SOFTMAX_BCA",
    "ZETAVIEW",
    "instrument_bytes",
    "instrument_path",
]

# (origin, relative path) of every whole export: the in-repo files always, the real ones when present.
ALL_EXPORTS = [pytest.param("repo", relative, id=relative) for relative in ALL_IN_REPO] + [
    pytest.param("shared", relative, id=f"real:{relative}") for relative in ALL_REAL
]


def export_bytes(origin: str, relative: str) -> bytes:
    return export_path(origin, relative).read_bytes()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
