"""Watched instrument folders through a real Celery worker on Redis and PostgreSQL: the beat task, sent as beat
sends it, makes the worker ingest a dropped file once; a second copy is a duplicate; a broken file is a failed
ingestion with its reason."""

import os
import time
import uuid
from pathlib import Path

import pytest

from evlims.core.models import Role
from evlims.instruments.models import Ingestion, WatchedFile
from evlims.instruments.services import instrument_register, watch_folder_scan, watch_folder_set
from evlims.instruments.tasks import watch_instrument_folders
from evlims.schedule import BEAT_SCHEDULE
from tests.factories import member
from tests.integration.test_celery_worker import producer, result_of, worker  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.needs_redis, pytest.mark.django_db(transaction=True)]
PLATES = Path(__file__).resolve().parents[1] / "fixtures" / "instruments" / "plate-reader"


@pytest.fixture
def watch_root(tmp_path, monkeypatch, settings):
    root = tmp_path / "instruments"
    (root / "envision").mkdir(parents=True)
    monkeypatch.setenv("EVLIMS_WATCH_ROOT", str(root))  # the worker's settings read it
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "media"))
    settings.EVLIMS = {**getattr(settings, "EVLIMS", {}), "WATCH_ROOT": str(root)}
    return root


@pytest.fixture
def queue(watch_root):
    return f"evlims-test-{uuid.uuid4().hex[:12]}"


def drop(path: Path, data: bytes):
    path.write_bytes(data)
    os.utime(path, (time.time() - 600, time.time() - 600))


def test_the_worker_ingests_a_dropped_file_once(lab, watch_root, queue, worker, producer):  # noqa: F811
    admin = member(lab, Role.LAB_ADMIN, username="watch-admin")
    reader = instrument_register(actor=admin, lab=lab, name="EnVision", kind="plate_reader")
    watch_folder_set(actor=admin, instrument=reader, folder="envision", file_format="envision")
    data = (PLATES / "envision-bca.csv").read_bytes()
    drop(watch_root / "envision" / "plate 1.csv", data)
    drop(watch_root / "envision" / "broken.csv", data[: data.index(b"Results")])
    entry = next(entry for entry in BEAT_SCHEDULE.values() if entry["task"] == watch_instrument_folders.name)

    first = result_of(watch_instrument_folders.apply_async(queue=queue).id, producer, worker)
    assert (first["folders"], first["ingested"], first["failed"]) == (1, 1, 1), first
    drop(watch_root / "envision" / "plate 1 (copy).csv", data)
    second = result_of(watch_instrument_folders.apply_async(queue=queue).id, producer, worker)
    assert (second["ingested"], second["duplicate"], second["failed"]) == (0, 1, 0), second

    assert entry["schedule"] == 60
    ingestions = {i.uploaded_name: i for i in Ingestion.objects.filter(instrument=reader)}
    assert set(ingestions) == {"plate 1.csv", "broken.csv"}
    assert ingestions["plate 1.csv"].status == Ingestion.Status.PREVIEW
    assert ingestions["plate 1.csv"].parsed["plate"]["wavelength_nm"] == 562
    assert ingestions["broken.csv"].status == Ingestion.Status.FAILED and "truncated" in ingestions["broken.csv"].error
    copy = WatchedFile.objects.get(name="plate 1 (copy).csv")
    assert copy.status == WatchedFile.Status.DUPLICATE and copy.ingestion == ingestions["plate 1.csv"]
    assert sorted(path.name for path in (watch_root / "envision").iterdir()) == [
        "broken.csv",
        "plate 1 (copy).csv",
        "plate 1.csv",
    ]


def test_two_passes_at_the_same_moment_ingest_each_file_once(lab, watch_root):
    from tests.integration.test_concurrency import race

    admin = member(lab, Role.LAB_ADMIN, username="race-admin")
    reader = instrument_register(actor=admin, lab=lab, name="EnVision", kind="plate_reader")
    reader = watch_folder_set(actor=admin, instrument=reader, folder="envision")
    data = (PLATES / "envision-bca.csv").read_bytes()
    for number in range(4):
        drop(watch_root / "envision" / f"plate {number}.csv", data.replace(b"1.7509", f"1.750{number}".encode()))
    drop(watch_root / "envision" / "plate 0 again.csv", data.replace(b"1.7509", b"1.7500"))

    outcomes = race(*[lambda: watch_folder_scan(instrument=reader)] * 3)

    assert [kind for kind, _ in outcomes] == ["ok"] * 3, outcomes
    assert sum(result["ingested"] for _, result in outcomes) == 4, outcomes
    assert sum(result["duplicate"] for _, result in outcomes) == 1
    assert Ingestion.objects.filter(instrument=reader).count() == 4
    assert WatchedFile.objects.filter(instrument=reader).count() == 5
