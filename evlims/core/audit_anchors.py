"""Anchors: the state of the audit trail written outside the database, to catch deletions the chain cannot.

The chain shows an edited or inserted event, but not the newest events removed together with the chain head
moved back, nor every event deleted. An anchor records, at one moment, the newest event's id and seal and
how many events there were, as one JSON line appended to ``audit-anchors.jsonl`` in the folder
``EVLIMS_AUDIT_ANCHOR_DIR``. Each line is sealed (HMAC-SHA256) with the current audit key, so a line written
by someone without the key is reported rather than believed. The verification (``audit.verify_chain``) then
requires every anchored event to be there with the seal it had and at least the anchored number of events
up to it; anchors but no events means the trail was emptied.

The folder belongs on storage the database's administrators cannot write (docs/audit-trail.md). Anchors are
written by the periodic task ``evlims.tasks.anchor_audit_trail`` and ``manage.py evlims_anchor_audit``.
"""

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from . import audit_keys
from .canonical import canonical_json
from .models import AuditEvent

ANCHOR_FILE = "audit-anchors.jsonl"
# Domain separation: an anchor's seal can never be taken for an event's, nor the other way round.
SEAL_LABEL = "evlims-audit-anchor\n"
FIELDS = ("written_at", "last_id", "last_hash", "count", "key_id")
# Events older than this that no anchor covers are reported: the anchoring stopped (or was stopped).
DEFAULT_MAX_AGE = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Anchor:
    written_at: str
    last_id: int | None
    last_hash: str
    count: int
    key_id: str
    label: str  # names the anchor in problems: when it was written and where it is


def anchor_dir() -> Path | None:
    """The anchor folder (``EVLIMS_AUDIT_ANCHOR_DIR``), or None where the site keeps no anchors."""
    folder = getattr(settings, "EVLIMS_AUDIT_ANCHOR_DIR", None)
    return Path(folder) if folder else None


def max_age() -> dt.timedelta | None:
    value = getattr(settings, "EVLIMS_AUDIT_ANCHOR_MAX_AGE", DEFAULT_MAX_AGE)
    if value is None or isinstance(value, dt.timedelta):
        return value
    return dt.timedelta(seconds=float(value)) if float(value) > 0 else None


def _body(fields: dict) -> str:
    return canonical_json({name: fields[name] for name in FIELDS})


def _seal(key: bytes, fields: dict) -> str:
    return audit_keys.seal(key, SEAL_LABEL + _body(fields))


def current_state() -> dict:
    """The newest event's id and seal and the number of events up to it (0 and None for an empty trail)."""
    newest = AuditEvent.objects.order_by("-id").values_list("id", "entry_hash").first()
    if newest is None:
        return {"last_id": None, "last_hash": "", "count": 0}
    # Counted up to the newest event read: appends are serialised, so every event below it has committed.
    return {"last_id": newest[0], "last_hash": newest[1], "count": AuditEvent.objects.filter(id__lte=newest[0]).count()}


def write_anchor(folder: Path | None = None) -> tuple[dict, Path]:
    """Append an anchor of the trail as it is now; returns the anchor and the file it was written to."""
    folder = folder or anchor_dir()
    if folder is None:
        raise ImproperlyConfigured("EVLIMS_AUDIT_ANCHOR_DIR is not set: there is no folder to write anchors to.")
    key_id, key = audit_keys.current_key()
    fields = {"written_at": timezone.now().astimezone(dt.UTC).isoformat(), **current_state(), "key_id": key_id}
    anchor = {**fields, "mac": _seal(key, fields)}
    line = (canonical_json(anchor) + "\n").encode()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / ANCHOR_FILE
    # One write() of one short line in append mode: concurrent writers never interleave within a line.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, line)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return anchor, path


def read_anchors(folder: Path | None = None, *, keys: dict | None = None) -> tuple[list[Anchor], list[str]]:
    """Every anchor in the folder's ``*.jsonl`` files whose seal holds, and a problem for each line that
    is not a sealed anchor (forged, edited, or sealed with a key that is not configured)."""
    folder = folder or anchor_dir()
    if folder is None or not folder.is_dir():
        return [], []
    keys = audit_keys.verification_keys() if keys is None else keys
    anchors, problems = [], []
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path.name} line {number}"
                anchor, problem = _parse(line, where, keys)
                if problem:
                    problems.append(problem)
                else:
                    anchors.append(anchor)
    return anchors, problems


def _parse(line: str, where: str, keys: dict) -> tuple[Anchor | None, str]:
    try:
        data = json.loads(line)
        fields = {name: data[name] for name in FIELDS}
        mac = str(data["mac"])
        last_id = None if fields["last_id"] is None else int(fields["last_id"])
        count = int(fields["count"])
    except (ValueError, TypeError, KeyError):
        return None, f"anchor file {where}: not an anchor (the line was damaged or written by someone else)."
    label = f"anchor of {fields['written_at']} ({where})"
    key = keys.get(str(fields["key_id"]))
    if key is None:
        return None, (
            f"{label}: sealed with the key '{fields['key_id']}', which is not configured "
            "(configure the key, or the line was forged)."
        )
    if not audit_keys.same(_seal(key, fields), mac):
        return None, f"{label}: its seal does not match (the line was forged or edited)."
    anchor = Anchor(
        written_at=str(fields["written_at"]),
        last_id=last_id,
        last_hash=str(fields["last_hash"]),
        count=count,
        key_id=str(fields["key_id"]),
        label=label,
    )
    return anchor, ""


def unanchored_problems(anchors: list[Anchor], *, now: dt.datetime | None = None) -> list[str]:
    """Events older than ``EVLIMS_AUDIT_ANCHOR_MAX_AGE`` that no anchor covers, on a site that writes
    anchors: the anchoring stopped (the periodic task was paused or its worker is down)."""
    limit = max_age()
    if not anchors or limit is None:
        return []
    covered = max((a.last_id for a in anchors if a.last_id is not None), default=0)
    first = AuditEvent.objects.filter(id__gt=covered).order_by("id").values_list("id", "occurred_at").first()
    now = now or timezone.now()
    if first is None or first[1] > now - limit:
        return []
    newest = max(anchors, key=lambda a: a.written_at)
    return [
        f"anchors: event {first[0]} of {first[1]:%Y-%m-%d %H:%M} and those after it are in no anchor, and the "
        f"newest anchor is of {newest.written_at} (is the task evlims.tasks.anchor_audit_trail running?)."
    ]
