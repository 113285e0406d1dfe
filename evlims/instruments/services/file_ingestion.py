"""Instrument files: stored first, parsed, previewed, then committed as results once mapped to preparations.

A file that cannot be parsed still stays stored (with a failed ingestion naming the line and field), so
nothing an instrument or a person sent is lost, and no result row is written. Every upload is audited in the
transaction that saves it: ``ingestion.preview`` or ``ingestion.failed`` (with the name it came with, the
stored bytes' checksum and, when refused, why), and ``ingestion.commit`` when its results are stored; the
bytes themselves are audited once, as ``raw_file.store``, when first received.
"""

import hashlib

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from ...conf import evlims_settings
from ...core.actors import is_person
from ...core.audit import appended_last, record_event
from ...core.tenancy import INGEST_ROLES, ensure_role
from ..models import Ingestion
from ..parsers import ParseError, parse_bytes
from ..recording import measurements_record, placed_message, result_error_place, validate_results
from .documents import (
    committed_samples,
    documents_from_parsed,
    measured_when,
    missing_dilutions,
)
from .results import _client, previous_answer, raw_file_store, request_hash


class FileRejected(ValidationError):
    """The file could not be parsed. It is kept; ``ingestion`` is the failed ingestion that records why."""

    def __init__(self, message, *, ingestion):
        super().__init__(message)
        self.ingestion = ingestion


def file_upload(
    *,
    actor,
    lab,
    data: bytes,
    name: str,
    file_format: str = "auto",
    instrument=None,
    idempotency_key: str = "",
    content_type: str = "",
    parse_options=None,
    reason: str = "",
) -> tuple[Ingestion, bool]:
    """Store and parse an instrument file. Returns (ingestion, replayed); the ingestion holds the preview.

    Raises ValidationError (after recording a failed ingestion) when the file cannot be parsed.
    """
    if is_person(actor):  # a person acting (with or without a named instrument)
        ensure_role(actor, lab.pk, INGEST_ROLES, "upload instrument files")
    if len(data) > evlims_settings.IMPORT_MAX_BYTES:
        raise ValidationError(
            {"file": f"The file is {len(data):,} bytes; the limit is {evlims_settings.IMPORT_MAX_BYTES:,}."}
        )
    # The key covers the bytes and how they are to be read: the same file with another plate map is another request.
    body_hash = request_hash(
        {"sha256": hashlib.sha256(data).hexdigest(), "format": file_format, "options": parse_options or {}}
    )
    earlier = previous_answer(actor=actor, instrument=instrument, idempotency_key=idempotency_key, body_hash=body_hash)
    if earlier:
        return earlier, True
    raw = raw_file_store(lab=lab, data=data, name=name, content_type=content_type, actor=actor, instrument=instrument)
    ingestion = Ingestion(
        lab=lab,
        instrument=instrument,
        raw_file=raw,
        # Identical bytes share one RawFile under the name they first came with; each upload keeps its own.
        uploaded_name=name[:255],
        client=_client(actor, instrument),
        submitted_by=actor if is_person(actor) else None,
        idempotency_key=idempotency_key,
        request_hash=body_hash,
    )
    try:
        parsed = parse_bytes(data, file_format, **(parse_options or {})).to_dict()
    except ParseError as exc:
        ingestion.status, ingestion.error = Ingestion.Status.FAILED, str(exc)
        ingestion.response = {"status": "failed", "error": str(exc), "raw_file": raw.pk}
        first = _save_first(ingestion, actor, instrument, file_format, reason)
        if first is not ingestion:
            return first, True
        raise FileRejected({"file": str(exc)}, ingestion=ingestion)
    ingestion.status, ingestion.parsed = Ingestion.Status.PREVIEW, parsed
    ingestion.response = {
        "ingestion": None,
        "status": "preview",
        "raw_file": raw.pk,
        "samples": [s.get("name") for s in parsed.get("samples") or []],
    }
    first = _save_first(ingestion, actor, instrument, file_format, reason)
    if first is not ingestion:
        return first, True
    return ingestion, False


def _upload_event(ingestion: Ingestion, file_format: str) -> dict:
    """What the audit trail keeps of one upload: its own name, the stored bytes, and what became of it."""
    changes = {
        "status": ingestion.status,
        "file": ingestion.uploaded_name,
        "raw_file": ingestion.raw_file_id,
        "sha256": ingestion.raw_file.sha256,
        "format": (ingestion.parsed or {}).get("format") or file_format,
    }
    if ingestion.status == Ingestion.Status.FAILED:
        changes["error"] = ingestion.error[:1000]
    else:
        changes["samples"] = len(ingestion.parsed.get("samples") or [])
    return changes


def _save_first(ingestion: Ingestion, actor, instrument, file_format: str, reason: str = "") -> Ingestion:
    """Save the ingestion with its audit event (``ingestion.preview`` or ``ingestion.failed``), or, when a
    concurrent retry with the same key saved first, return that one."""
    try:
        with transaction.atomic():
            ingestion.save()
            if ingestion.status == Ingestion.Status.PREVIEW:
                ingestion.response["ingestion"] = ingestion.pk
                ingestion.save(update_fields=["response"])
            record_event(
                actor=actor or instrument,
                action=f"ingestion.{ingestion.status}",
                obj=ingestion,
                changes=_upload_event(ingestion, file_format),
                reason=reason,
            )
    except IntegrityError:
        earlier = previous_answer(
            actor=actor,
            instrument=instrument,
            idempotency_key=ingestion.idempotency_key,
            body_hash=ingestion.request_hash,
        )
        if earlier is None:
            raise
        return earlier
    return ingestion


def commit_errors(errors: dict, parsed: dict, mapping: dict) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """A commit's refusal ({key: [messages]}) put on the samples it concerns: results[i] is the i-th sample the
    commit turned into a result. Returns ({sample name: messages}, {any other key: messages})."""
    names = [sample["name"] for sample, _ in committed_samples(parsed, mapping)]
    by_sample: dict[str, list[str]] = {}
    other: dict[str, list[str]] = {}
    for key, messages in errors.items():
        place = result_error_place(key)
        if place is not None and place[0] < len(names):
            by_sample.setdefault(names[place[0]], []).extend(placed_message(place[1], m) for m in messages)
        else:
            other[key] = list(messages)
    return by_sample, other


def file_commit(
    *,
    actor,
    ingestion: Ingestion,
    mapping: dict,
    dilutions: dict | None = None,
    calibration: str = "",
    keep_invalid_captures: bool = False,
    measured_at=None,
    reason: str = "",
) -> Ingestion:
    """Turn a previewed file into results, all or nothing. Committing twice changes nothing. ``calibration``
    (particle files) says how the analyser was calibrated, which no export records. ``dilutions`` gives a factor
    (1: undiluted) to every mapped particle sample whose file records none, or the commit is refused;
    ``keep_invalid_captures`` counts the captures the instrument marked invalid in the mean; ``measured_at`` (a
    date or time) is used only when the file states no acquisition time (see ``documents``)."""
    with transaction.atomic():
        ingestion = (
            Ingestion.objects.select_for_update(of=("self",))
            .select_related("raw_file", "instrument", "lab")
            .get(pk=ingestion.pk)
        )
        if is_person(actor):
            ensure_role(actor, ingestion.lab_id, INGEST_ROLES, "commit instrument files")
        if ingestion.status == Ingestion.Status.COMMITTED:
            return ingestion
        if ingestion.status != Ingestion.Status.PREVIEW:
            raise ValidationError({"ingestion": f"This ingestion is {ingestion.get_status_display().lower()}."})
        known = {s.get("name") for s in ingestion.parsed.get("samples") or []}
        unknown = sorted(set(mapping) - known)
        if unknown:
            raise ValidationError({"mapping": f"Not samples of this file: {', '.join(map(str, unknown))}."})
        missing = missing_dilutions(ingestion.parsed, mapping, dilutions, ingestion.uploaded_name)
        if missing:
            raise ValidationError({"dilutions": missing})
        measured = measured_when(ingestion.parsed, given=measured_at, uploaded_at=ingestion.created_at)
        documents = documents_from_parsed(
            ingestion.parsed, mapping, dilutions, calibration, keep_invalid=keep_invalid_captures, measured=measured
        )
        if not documents:
            raise ValidationError({"mapping": "Map at least one sample of the file to a preparation."})
        results = validate_results(documents)
        # Both events (the measurements', the commit's) appended last, in one move of the chain's head, which
        # every write of the site waits for (core.audit.appended_last).
        with appended_last():
            measurements = measurements_record(
                savepoint=False,  # the commit is all or nothing: a refusal rolls its whole transaction back
                actor=actor,
                lab=ingestion.lab,
                results=results,
                instrument=ingestion.instrument,
                ingestion=ingestion,
                raw_file=ingestion.raw_file,
                reason=reason,
            )
            ingestion.status = Ingestion.Status.COMMITTED
            ingestion.response = {
                "ingestion": ingestion.pk,
                "status": "committed",
                "raw_file": ingestion.raw_file_id,
                "measurements": [m.pk for m in measurements],
            }
            ingestion.save(update_fields=["status", "response", "updated_at"])
            record_event(
                actor=actor or ingestion.instrument,
                action="ingestion.commit",
                obj=ingestion,
                reason=reason,
                changes={
                    "file": ingestion.uploaded_name,
                    "sha256": ingestion.raw_file.sha256 if ingestion.raw_file_id else "",
                    "mapping": {str(name): barcode for name, barcode in mapping.items() if barcode},
                    "dilutions": {str(name): factor for name, factor in (dilutions or {}).items()},
                    "keep_invalid_captures": bool(keep_invalid_captures),
                    "measured_at": measured[0].isoformat() if measured[0] else None,
                    "measured_at_from": measured[1],
                    "measurements": [m.pk for m in measurements][:200],
                },
            )
    return ingestion
