"""Watched instrument folders: a file dropped in the folder becomes one ingestion of that instrument, a second copy
is a duplicate, a broken file is a failed ingestion with its reason and the file kept, a file still being written
waits, and no folder outside the site's watch root is accepted. Nothing in the folder is ever touched."""

import os
import time
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from evlims.core.models import AuditEvent, Role
from evlims.instruments.models import Ingestion, Instrument, PlateLayout, WatchedFile
from evlims.instruments.services import instrument_register, watch_all_folders, watch_folder_scan, watch_folder_set
from tests.factories import LabFactory, member

pytestmark = pytest.mark.django_db
PLATES = Path(__file__).resolve().parents[1] / "fixtures" / "instruments" / "plate-reader"
GEN5 = (PLATES / "gen5-bca-two-reads.txt").read_bytes()
ENVISION = (PLATES / "envision-bca.csv").read_bytes()


@pytest.fixture
def root(tmp_path, settings):
    root = tmp_path / "instruments"
    (root / "reader-2.14").mkdir(parents=True)
    settings.EVLIMS = {**getattr(settings, "EVLIMS", {}), "WATCH_ROOT": str(root), "WATCH_SETTLE_SECONDS": 60}
    return root


@pytest.fixture
def lab():
    return LabFactory(name="Vesicle Lab")


@pytest.fixture
def admin(lab):
    return member(lab, Role.LAB_ADMIN, username="watch-admin")


@pytest.fixture
def reader(admin, lab, root):
    instrument = instrument_register(actor=admin, lab=lab, name="Synergy H1", kind="plate_reader")
    return watch_folder_set(actor=admin, instrument=instrument, folder="reader-2.14", reason="New reader")


def drop(folder: Path, name: str, data: bytes, age_s: float = 600) -> Path:
    path = folder / name
    path.write_bytes(data)
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


def folder_state(folder: Path) -> dict:
    return {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in folder.iterdir()}


def test_a_dropped_file_appears_once_as_an_ingestion_of_the_instrument(reader, root):
    folder = root / "reader-2.14"
    drop(folder, "BCA 2024-03-14.txt", GEN5)
    before = folder_state(folder)
    assert watch_folder_scan(instrument=reader)["ingested"] == 1
    ingestion = Ingestion.objects.get()
    assert ingestion.instrument == reader and ingestion.lab_id == reader.lab_id
    assert ingestion.status == Ingestion.Status.PREVIEW and ingestion.uploaded_name == "BCA 2024-03-14.txt"
    assert ingestion.parsed["format"] == "gen5" and ingestion.client == f"instrument:{reader.pk}"
    assert ingestion.raw_file.file.read() == GEN5  # stored exactly as dropped
    event = AuditEvent.objects.get(action="ingestion.preview")
    assert event.reason == "Picked up from the instrument's watched folder"
    # Later passes take nothing again, and the folder is as it was.
    assert watch_folder_scan(instrument=reader) == {"ingested": 0, "duplicate": 0, "failed": 0, "waiting": 0}
    assert Ingestion.objects.count() == 1 and WatchedFile.objects.get().status == WatchedFile.Status.INGESTED
    assert folder_state(folder) == before


def test_a_second_copy_under_another_name_is_recorded_as_a_duplicate(reader, root):
    folder = root / "reader-2.14"
    drop(folder, "plate1.txt", GEN5, age_s=900)
    drop(folder, "plate1 - Copy.txt", GEN5)
    counts = watch_folder_scan(instrument=reader)
    assert (counts["ingested"], counts["duplicate"]) == (1, 1)
    original = Ingestion.objects.get()
    copy = WatchedFile.objects.get(name="plate1 - Copy.txt")
    assert copy.status == WatchedFile.Status.DUPLICATE and copy.ingestion == original
    assert copy.reason == f"Same content as plate1.txt (ingestion {original.pk}); not ingested again."
    assert copy.sha256 == original.raw_file.sha256


def test_a_file_the_parser_refuses_is_a_failed_ingestion_with_its_reason_and_the_file_kept(reader, root):
    folder = root / "reader-2.14"
    at = GEN5.index(b"\r\nA\t", GEN5.index(b"Read 1:562")) + 4
    broken = GEN5[:at] + b"oops" + GEN5[at:]
    drop(folder, "broken.txt", broken)
    assert watch_folder_scan(instrument=reader)["failed"] == 1
    record = WatchedFile.objects.get()
    ingestion = record.ingestion
    assert record.status == WatchedFile.Status.FAILED and ingestion.status == Ingestion.Status.FAILED
    assert "expected an absorbance for well A1, found 'oops" in record.reason
    assert record.reason == ingestion.error
    assert ingestion.raw_file.file.read() == broken and (folder / "broken.txt").exists()
    # A failed file is not tried again on every pass.
    assert watch_folder_scan(instrument=reader)["failed"] == 0 and Ingestion.objects.count() == 1


def test_a_file_being_written_is_not_read_until_it_stops_changing(reader, root):
    folder = root / "reader-2.14"
    path = folder / "growing.csv"
    path.write_bytes(ENVISION[:500])  # just now: the PC is still writing
    assert watch_folder_scan(instrument=reader) == {"ingested": 0, "duplicate": 0, "failed": 0, "waiting": 1}
    with path.open("ab") as handle:
        handle.write(ENVISION[500:1500])
    assert watch_folder_scan(instrument=reader)["waiting"] == 1  # grew since the last look: still waiting
    assert not Ingestion.objects.exists()
    with path.open("ab") as handle:
        handle.write(ENVISION[1500:])
    assert watch_folder_scan(instrument=reader)["waiting"] == 1
    # Unchanged since the previous look: complete.
    assert watch_folder_scan(instrument=reader)["ingested"] == 1
    assert Ingestion.objects.get().raw_file.file.read() == ENVISION
    assert WatchedFile.objects.count() == 1


def test_an_old_file_is_read_at_the_first_look_and_a_new_version_is_a_new_file(reader, root):
    folder = root / "reader-2.14"
    drop(folder, "run.csv", ENVISION)
    assert watch_folder_scan(instrument=reader)["ingested"] == 1
    drop(folder, "run.csv", ENVISION.replace(b"1.7509", b"1.7510"), age_s=300)
    assert watch_folder_scan(instrument=reader)["ingested"] == 1
    assert Ingestion.objects.count() == 2 and WatchedFile.objects.filter(name="run.csv").count() == 2


def test_hidden_lock_and_too_large_files_and_subfolders(reader, root, settings):
    folder = root / "reader-2.14"
    drop(folder, ".~lock.run.csv#", ENVISION)
    drop(folder, "~$run.xlsx", ENVISION)
    (folder / "archive").mkdir()
    drop(folder / "archive", "old.csv", ENVISION)
    settings.EVLIMS = {**settings.EVLIMS, "IMPORT_MAX_BYTES": 1000}
    drop(folder, "huge.csv", ENVISION)
    assert watch_folder_scan(instrument=reader)["failed"] == 1
    record = WatchedFile.objects.get()
    assert record.name == "huge.csv" and record.reason.startswith(f"The file is {len(ENVISION):,} bytes; the limit")
    assert record.ingestion is None and not Ingestion.objects.exists()


def test_a_pass_reads_at_most_the_configured_number_of_files(reader, root):
    folder = root / "reader-2.14"
    for number in range(3):
        drop(folder, f"plate{number}.csv", ENVISION.replace(b"1.7509", f"1.75{number}9".encode()), age_s=900 - number)
    assert watch_folder_scan(instrument=reader, max_files=2)["ingested"] == 2
    assert watch_folder_scan(instrument=reader, max_files=2)["ingested"] == 1
    assert sorted(Ingestion.objects.values_list("uploaded_name", flat=True)) == [
        "plate0.csv",
        "plate1.csv",
        "plate2.csv",
    ]


def test_the_instruments_plate_layout_and_read_are_used(reader, root, admin):
    wells = {
        f"{row}{column}": {"role": "standard", "ug_per_ml": ug}
        for row, ug in zip("ABCDEFGH", (2000, 1500, 1000, 750, 500, 250, 125, 0), strict=True)
        for column in (1, 2)
    }
    wells |= {"A3": {"role": "sample", "name": "EV 1"}, "A4": {"role": "sample", "name": "EV 1"}}
    layout = PlateLayout.objects.create(
        lab=reader.lab, name="BCA template", wells=wells, fit="quadratic", created_by=admin
    )
    watch_folder_set(
        actor=admin, instrument=reader, folder="reader-2.14", file_format="gen5", read="562", plate_layout=layout
    )
    drop(root / "reader-2.14", "bca.txt", GEN5)
    watch_all_folders()
    parsed = Ingestion.objects.get().parsed
    assert parsed["plate"]["wavelength_nm"] == 562 and parsed["standard_curve"]["model"] == "quadratic"
    assert [sample["name"] for sample in parsed["samples"]] == ["EV 1"]


@pytest.mark.parametrize("folder", ["/etc", "../../etc", "reader-2.14/../..", "missing", "a" * 300, "x\udcff"])
def test_a_folder_outside_the_watch_root_or_missing_is_refused(admin, reader, folder):
    with pytest.raises(ValidationError) as refused:
        watch_folder_set(actor=admin, instrument=reader, folder=folder)
    assert "watch_folder" in refused.value.message_dict
    assert Instrument.objects.get(pk=reader.pk).watch_folder.endswith("reader-2.14")


def test_a_link_out_of_the_root_is_refused(admin, reader, root):
    (root / "escape").symlink_to("/etc")
    with pytest.raises(ValidationError, match="must lie under"):
        watch_folder_set(actor=admin, instrument=reader, folder="escape")


def test_without_a_watch_root_nothing_is_watched(admin, reader, root, settings):
    drop(root / "reader-2.14", "run.csv", ENVISION)
    settings.EVLIMS = {**settings.EVLIMS, "WATCH_ROOT": ""}
    with pytest.raises(ValidationError, match="EVLIMS_WATCH_ROOT setting is empty"):
        watch_folder_set(actor=admin, instrument=reader, folder="reader-2.14")
    assert watch_folder_scan(instrument=reader)["ingested"] == 0 and not Ingestion.objects.exists()
    with pytest.raises(CommandError, match="EVLIMS_WATCH_ROOT is not set"):
        call_command("evlims_watch")


def test_only_lab_admins_set_a_folder_and_it_is_audited(admin, reader):
    staff = member(reader.lab, Role.LAB_STAFF, username="watch-staff")
    with pytest.raises(PermissionDenied):
        watch_folder_set(actor=staff, instrument=reader, folder="")
    watch_folder_set(actor=admin, instrument=reader, folder="", reason="Reader retired")
    event = AuditEvent.objects.filter(action="instrument.watch_folder").latest("id")
    assert event.changes["watch_folder"] == "" and event.reason == "Reader retired"


def test_the_command_makes_one_pass_or_loops(reader, root, capsys):
    drop(root / "reader-2.14", "run.csv", ENVISION)
    call_command("evlims_watch")
    assert "1 folder(s): 1 ingested, 0 duplicate(s), 0 failed" in capsys.readouterr().out
    drop(root / "reader-2.14", "copy.csv", ENVISION)
    call_command("evlims_watch", loop=True, interval=1, passes=2)
    out = capsys.readouterr().out
    assert out.count("folder(s)") == 2 and "1 duplicate(s)" in out


def test_a_folder_or_file_that_vanishes_stops_nothing(reader, root, monkeypatch):
    from evlims.instruments.services import watch

    folder = root / "reader-2.14"
    drop(folder, "gone.csv", ENVISION)

    def vanished(record, folder):
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(watch, "_read", vanished)
    assert watch_folder_scan(instrument=reader)["ingested"] == 0 and not Ingestion.objects.exists()
    monkeypatch.undo()
    assert watch_folder_scan(instrument=reader)["ingested"] == 1  # looked at again on the next pass
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    assert watch_all_folders()["ingested"] == 0  # a folder gone is logged, not a crash


def test_a_pass_over_a_folder_of_old_files_costs_a_few_queries(reader, root, django_assert_max_num_queries):
    folder = root / "reader-2.14"
    for number in range(30):
        drop(folder, f"old{number}.csv", ENVISION.replace(b"1.7509", f"1.{number:04d}".encode()))
    watch_folder_scan(instrument=reader)
    assert WatchedFile.objects.filter(status=WatchedFile.Status.INGESTED).count() == 30
    with django_assert_max_num_queries(3):
        assert watch_folder_scan(instrument=reader)["ingested"] == 0
