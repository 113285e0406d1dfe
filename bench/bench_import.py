"""Time the dry run and the commit of a large sample manifest.

    .venv/bin/python bench/bench_import.py            # 10,000 rows
    .venv/bin/python bench/bench_import.py --rows 2000

Runs against the test settings (in-memory SQLite unless DATABASE_URL says otherwise) in a fresh
schema, with uploads in a temporary folder, and prints rows per second for each step.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402

from evlims.core.models import Lab, Membership, Project, Role  # noqa: E402
from evlims.samples.services import manifests  # noqa: E402

HEADER = "barcode,external_id,donor_code,biofluid,volume_ml,collected_at,anticoagulant,aliquot_count,aliquot_volume_ul"


def manifest(rows: int, barcode_prefix: str = "BENCH") -> bytes:
    lines = [HEADER] + [
        f"{barcode_prefix}-{n:06d},SITE-{n},D-{n % max(1, rows // 5):05d},blood_plasma,4,2024-03-01 08:00,k2_edta,2,500"
        for n in range(rows)
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def timed(label: str, rows: int, step):
    started = time.perf_counter()
    result = step()
    elapsed = time.perf_counter() - started
    print(f"{label:<10} {rows:>7,} rows in {elapsed:7.2f} s = {rows / elapsed:8.1f} rows/s")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    rows = parser.parse_args().rows
    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="evlims-bench-")
    call_command("migrate", verbosity=0)
    lab = Lab.objects.create(name="Bench lab", slug="bench-lab")
    project = Project.objects.create(lab=lab, code="BENCH", title="Import benchmark")
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    Membership.objects.create(user=user, lab=lab, role=Role.LAB_STAFF)

    data = manifest(rows)
    uploaded = manifests.manifest_upload(
        actor=user, project=project, uploaded_file=SimpleUploadedFile("bench.csv", data)
    )
    print(f"manifest   {len(data):>7,} bytes")
    checked = timed("dry run", rows, lambda: manifests.manifest_validate(manifest=uploaded, actor=user))
    assert checked.status == checked.Status.VALID, checked.errors[:5]
    committed = timed("commit", rows, lambda: manifests.manifest_commit(manifest=checked, actor=user))
    assert committed.samples_created == rows


if __name__ == "__main__":
    main()
