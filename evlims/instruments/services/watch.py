"""Watched instrument folders: an instrument PC drops its exports in a shared folder, and each new file is ingested
as that instrument's, by the same path as an upload (``file_upload``: the same parsers, size limit, dilution rules
and audit events), to be mapped and committed by a person from the ingestion list.

A lab admin names the folder (``watch_folder_set``); it must lie under the site's ``EVLIMS_WATCH_ROOT``, checked
again on every pass. A pass (``watch_folder_scan``, run by beat or ``manage.py evlims_watch``) looks at the folder's
files and records each version it sees (name, size, modification time) as a ``WatchedFile``:

- a file is read only once it is completely written: seen unchanged on an earlier pass, or unchanged for
  ``WATCH_SETTLE_SECONDS``; a file still growing waits;
- content already received in the lab (the same SHA-256, under any name, by any path) is recorded as a duplicate
  and not ingested again;
- a file the parser refuses becomes a failed ingestion with its reason and the raw file kept; a file over the
  upload limit is recorded as failed with its size, unread;
- nothing in the folder is moved, renamed or deleted; at most ``WATCH_MAX_FILES`` files are read per pass.
"""

import hashlib
import logging
import os
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from ...conf import evlims_settings
from ...core.audit import record_event
from ...core.models import Role
from ...core.tenancy import ensure_role
from ..layouts import plate_map
from ..models import Ingestion, Instrument, WatchedFile
from ..parsers import FORMATS
from .file_ingestion import FileRejected, file_upload

logger = logging.getLogger(__name__)
WATCH_REASON = "Picked up from the instrument's watched folder"


def watch_root() -> Path | None:
    root = str(evlims_settings.WATCH_ROOT or "").strip()
    return Path(root).resolve() if root else None


def check_folder(folder: str) -> Path:
    """The folder as an absolute path under the watch root (symbolic links resolved), or a ValidationError."""
    root = watch_root()
    if root is None:
        raise ValidationError(
            {"watch_folder": "No folder may be watched on this site: its EVLIMS_WATCH_ROOT setting is empty."}
        )
    if "\x00" in folder:
        raise ValidationError({"watch_folder": "The folder name holds a NUL character."})
    try:
        path = (root / folder.strip()).resolve()
        inside = path == root or root in path.parents
        found = inside and path.is_dir() and os.access(path, os.R_OK | os.X_OK)
    except (OSError, ValueError) as error:  # a name too long, a character the file system refuses
        raise ValidationError({"watch_folder": f"Not a folder name this server can use ({error.__class__.__name__})."})
    if not inside:
        raise ValidationError({"watch_folder": f"The folder must lie under {root} (the site's watch root)."})
    if not found:
        raise ValidationError({"watch_folder": f"{path} is not a folder this server can read."})
    return path


@transaction.atomic
def watch_folder_set(
    *, actor, instrument, folder: str, file_format: str = "auto", read: str = "", plate_layout=None, reason: str = ""
) -> Instrument:
    """Watch ``folder`` (under the watch root) for the instrument's exports, or stop watching (``folder`` empty).
    ``file_format`` is how its files are read (``auto``: detected), ``read`` the absorbance plate of Gen5 and
    EnVision files holding several, ``plate_layout`` the lab's saved plate layout their standards are read with."""
    instrument = Instrument.objects.select_for_update(of=("self",)).get(pk=instrument.pk)
    ensure_role(actor, instrument.lab_id, {Role.LAB_ADMIN}, "set an instrument's watched folder")
    folder = (folder or "").strip()
    errors = {}
    if file_format not in ("auto", *FORMATS):
        errors["watch_format"] = f"Choose auto or one of {', '.join(FORMATS)}."
    if plate_layout is not None and (plate_layout.lab_id != instrument.lab_id or plate_layout.retired_at):
        errors["watch_plate_layout"] = "Choose a plate layout of this lab in use."
    if len(read) > 120:
        errors["watch_read"] = "At most 120 characters."
    if errors:
        raise ValidationError(errors)
    path = str(check_folder(folder)) if folder else ""
    if path and Instrument.objects.filter(watch_folder=path).exclude(pk=instrument.pk).exists():
        raise ValidationError({"watch_folder": "Another instrument watches this folder."})
    changes = {
        "watch_folder": path,
        "watch_format": file_format,
        "watch_read": read.strip(),
        "watch_plate_layout": plate_layout.pk if plate_layout else None,
    }
    instrument.watch_folder, instrument.watch_format, instrument.watch_read = path, file_format, read.strip()
    instrument.watch_plate_layout = plate_layout
    instrument.save(update_fields=["watch_folder", "watch_format", "watch_read", "watch_plate_layout", "updated_at"])
    record_event(actor=actor, action="instrument.watch_folder", obj=instrument, changes=changes, reason=reason)
    return instrument


def _options(instrument) -> dict:
    options = {}
    if instrument.watch_plate_layout_id:
        layout = instrument.watch_plate_layout
        options["plate_map"] = plate_map(layout.wells, layout.fit)
    if instrument.watch_read:
        options["read"] = instrument.watch_read
    if instrument.watch_format == "generic" and instrument.column_mapping:
        options["mapping"] = instrument.column_mapping
    return options


def _candidates(folder: Path) -> list:
    """Regular files of the folder (not its subfolders, links, hidden or Office lock files, nor names evlims
    cannot store), oldest first."""
    entries = []
    with os.scandir(folder) as found:
        for entry in found:
            if entry.name.startswith((".", "~$")) or len(entry.name) > 255 or not _storable(entry.name):
                continue
            try:
                if entry.is_file(follow_symlinks=False):
                    entries.append((entry.stat(follow_symlinks=False), entry.name))
            except OSError:  # removed between the listing and the look
                continue
    entries.sort(key=lambda item: (item[0].st_mtime_ns, item[1]))
    return entries


def _storable(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not text in the file system's encoding
        logger.warning("Watched folder: skipped a file whose name is not valid text: %r", name)
        return False
    return "\x00" not in name


def _earlier_ingestion(lab_id: int, sha256: str) -> Ingestion | None:
    return (
        Ingestion.objects.filter(lab_id=lab_id, raw_file__sha256=sha256, raw_file__lab_id=lab_id).order_by("id").first()
    )


def _read(record: WatchedFile, folder: Path) -> bytes | None:
    """The file's bytes when it is still the version recorded; None when it changed meanwhile."""
    with open(folder / record.name, "rb") as handle:
        data = handle.read(record.size_bytes + 1)
    stat = (folder / record.name).stat()
    if len(data) != record.size_bytes or stat.st_mtime_ns != record.modified_ns:
        return None
    return data


def _duplicate(record: WatchedFile, earlier: Ingestion) -> None:
    record.status, record.ingestion = WatchedFile.Status.DUPLICATE, earlier
    record.reason = f"Same content as {earlier.uploaded_name or 'a file'} (ingestion {earlier.pk}); not ingested again."


def _ingest(record: WatchedFile, instrument, folder: Path) -> None:
    """Read and ingest the file; ``record.status`` says what became of it (still waiting: it changed meanwhile)."""
    limit = evlims_settings.IMPORT_MAX_BYTES
    if record.size_bytes > limit:
        record.status = WatchedFile.Status.FAILED
        record.reason = f"The file is {record.size_bytes:,} bytes; the limit is {limit:,}. It was not read."
        return
    data = _read(record, folder)
    if data is None:  # written to again since it was looked at: wait for it to settle again
        stat = (folder / record.name).stat()
        record.size_bytes, record.modified_ns = stat.st_size, stat.st_mtime_ns
        return
    record.sha256 = hashlib.sha256(data).hexdigest()
    earlier = _earlier_ingestion(instrument.lab_id, record.sha256)
    if earlier is not None:
        _duplicate(record, earlier)
        return
    try:
        ingestion, replayed = file_upload(
            actor=None,
            lab=instrument.lab,
            data=data,
            name=record.name,
            file_format=instrument.watch_format or "auto",
            instrument=instrument,
            idempotency_key=f"watch:{record.sha256}",
            parse_options=_options(instrument),
            reason=WATCH_REASON,
        )
    except FileRejected as rejected:
        record.status, record.ingestion = WatchedFile.Status.FAILED, rejected.ingestion
        record.reason = rejected.ingestion.error
    except ValidationError as refused:
        record.status, record.reason = WatchedFile.Status.FAILED, "; ".join(refused.messages)
    else:
        record.status, record.ingestion = WatchedFile.Status.INGESTED, ingestion
        if replayed:  # the same content, read by another pass at the same moment under another name
            _duplicate(record, ingestion)
        elif ingestion.status == Ingestion.Status.FAILED:
            record.status, record.reason = WatchedFile.Status.FAILED, ingestion.error


@transaction.atomic
def _look(instrument, folder: Path, name: str, stat, *, settled: bool) -> str | None:
    """Look at one file: record it as waiting, or read and ingest it when it is complete. Returns what became of
    it, or None when another pass holds it."""
    seen = WatchedFile.objects.filter(instrument=instrument, name=name)
    waiting = seen.filter(status=WatchedFile.Status.WAITING).select_for_update(skip_locked=True).first()
    if waiting is None:
        if seen.filter(size_bytes=stat.st_size, modified_ns=stat.st_mtime_ns).exists():
            return None  # taken care of, or being read by another pass
        waiting = WatchedFile(lab_id=instrument.lab_id, instrument=instrument, name=name)
    unchanged = waiting.pk is not None and (waiting.size_bytes, waiting.modified_ns) == (
        stat.st_size,
        stat.st_mtime_ns,
    )
    waiting.size_bytes, waiting.modified_ns = stat.st_size, stat.st_mtime_ns
    if unchanged or settled:
        _ingest(waiting, instrument, folder)
    waiting.save()
    return waiting.status


def watch_folder_scan(*, instrument, now: float | None = None, max_files: int | None = None) -> dict[str, int]:
    """One look at the instrument's watched folder; returns how many files were ingested, found duplicate, failed
    or left waiting. Every file is handled in a transaction of its own, so one bad file stops nothing else."""
    counts = {"ingested": 0, "duplicate": 0, "failed": 0, "waiting": 0}
    if not instrument.watch_folder:
        return counts
    try:
        folder = check_folder(instrument.watch_folder)
    except ValidationError as refused:
        logger.error("Watched folder of %s (lab %s) skipped: %s", instrument, instrument.lab_id, refused.messages[0])
        return counts
    try:
        candidates = _candidates(folder)
    except OSError as error:
        logger.error("Watched folder of %s (lab %s) could not be listed: %s", instrument, instrument.lab_id, error)
        return counts
    now = time.time() if now is None else now
    budget = evlims_settings.WATCH_MAX_FILES if max_files is None else max_files
    settle_ns = int(evlims_settings.WATCH_SETTLE_SECONDS * 1e9)
    # The versions taken care of on earlier passes, read at once: a folder keeps every export for years.
    done = set(
        WatchedFile.objects.filter(instrument=instrument)
        .exclude(status=WatchedFile.Status.WAITING)
        .values_list("name", "size_bytes", "modified_ns")
    )
    for stat, name in candidates:
        if budget <= 0:
            break
        if (name, stat.st_size, stat.st_mtime_ns) in done:
            continue
        try:
            outcome = _look(instrument, folder, name, stat, settled=int(now * 1e9) - stat.st_mtime_ns >= settle_ns)
        except IntegrityError:  # another pass recorded this version at the same moment: it is theirs
            continue
        except OSError as error:  # gone or unreadable now: looked at again on the next pass
            logger.warning("Watched file %s of %s could not be read: %s", name, instrument, error)
            continue
        if outcome is not None:
            counts[outcome] += 1
            budget -= outcome != WatchedFile.Status.WAITING
    return counts


def watch_all_folders(*, now: float | None = None, max_files: int | None = None) -> dict[str, int]:
    """One pass over every watched folder of the site; the counts added up."""
    totals = {"folders": 0, "ingested": 0, "duplicate": 0, "failed": 0, "waiting": 0}
    for instrument in Instrument.objects.exclude(watch_folder="").select_related("lab", "watch_plate_layout"):
        totals["folders"] += 1
        for key, value in watch_folder_scan(instrument=instrument, now=now, max_files=max_files).items():
            totals[key] = totals.get(key, 0) + value
    return totals
