"""Time and memory to refuse hostile uploads, against reading a genuine workbook in the same process.

    .venv/bin/python bench/bench_hostile.py

Each case runs once (they are refusals: the point is that they stop early) with tracemalloc on, and is
printed with its wall time, its allocation peak, and both as ratios to the baseline: a genuine 2,000-row
sample manifest (.xlsx) read through the same checks and openpyxl. Cases:

- shared-strings bomb: a workbook under 1 MB whose shared strings inflate to 200 MB;
- lying bomb: 150 MB of shared strings behind zip headers claiming 1 kB;
- entity workbook: shared strings with a billion-laughs DTD;
- YAML alias bomb: a protocol text of a few hundred bytes whose aliases expand exponentially.

Without these bounds the shared-strings bomb took about 50 s and 1 GB per request, and the alias bomb
1.5 GB; the tests in tests/security/test_upload_bombs.py assert the limits (5 s, 64 MB).
"""

import io
import os
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

import openpyxl  # noqa: E402
import yaml  # noqa: E402

from evlims.core.spreadsheets import UnsafeWorkbook, check_xlsx  # noqa: E402
from protocols.loader import load_protocol_yaml  # noqa: E402
from tests.fixtures.hostile.make_corpus import SHEET_OPEN, _billion_laughs, _xlsx  # noqa: E402
from tests.security.test_upload_bombs import _declaring, _shared_strings_bomb  # noqa: E402

ALIAS_BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    + ["name: *i"]
)


def genuine_workbook(rows: int = 2000) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["barcode", "biofluid", "volume_ml", "collected_at", "donor", "remarks"])
    for n in range(rows):
        sheet.append([f"BENCH-{n:06d}", "plasma", 1.5, "2026-01-01T09:00", f"D-{n % 300:04d}", f"tube {n}"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def read_genuine(data: bytes) -> None:
    check_xlsx(data)
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    for _ in book.active.iter_rows(values_only=True):
        pass
    book.close()


def refuse_workbook(data: bytes) -> None:
    try:
        check_xlsx(data)
    except UnsafeWorkbook:
        return
    raise AssertionError("the workbook was not refused")


def refuse_yaml(text: str) -> None:
    try:
        load_protocol_yaml(text)
    except yaml.YAMLError:
        return
    raise AssertionError("the protocol text was not refused")


def measure(action, data) -> tuple[float, int]:
    tracemalloc.start()
    started = time.perf_counter()
    action(data)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak


def main() -> None:
    entity_workbook = _xlsx(
        SHEET_OPEN + b"<sheetData/></worksheet>",
        shared_strings=_billion_laughs().replace(b"<lolz>&lol9;</lolz>", b"<sst><si><t>&lol9;</t></si></sst>"),
    )
    cases = [
        ("shared-strings bomb (200 MB inflated)", refuse_workbook, _shared_strings_bomb()),
        (
            "lying bomb (150 MB, header says 1 kB)",
            refuse_workbook,
            _declaring(_shared_strings_bomb(150 * 1024 * 1024, zip64=False), "xl/sharedStrings.xml", 1024),
        ),
        ("entity workbook (billion laughs)", refuse_workbook, entity_workbook),
        ("YAML alias bomb", refuse_yaml, ALIAS_BOMB),
    ]
    genuine = genuine_workbook()
    read_genuine(genuine)  # warm imports outside the measurement
    base_time, base_peak = measure(read_genuine, genuine)
    print(f"{'case':42} {'bytes':>9} {'seconds':>8} {'x base':>7} {'peak MB':>8} {'x base':>7}")
    print(
        f"{'baseline: genuine 2,000-row manifest':42} {len(genuine):>9} {base_time:>8.3f} {1:>7.2f} "
        f"{base_peak / 2**20:>8.1f} {1:>7.2f}"
    )
    for label, action, data in cases:
        elapsed, peak = measure(action, data)
        print(
            f"{label:42} {len(data):>9} {elapsed:>8.3f} {elapsed / base_time:>7.2f} "
            f"{peak / 2**20:>8.1f} {peak / base_peak:>7.2f}"
        )


if __name__ == "__main__":
    main()
