"""Instrument files: stored first, parsed, previewed, then committed as results once mapped to preparations.

A file that cannot be parsed still stays stored (with a failed ingestion naming the line and field), so
nothing an instrument or a person sent is lost, and no result row is written. Every upload is audited in the
transaction that saves it: ``ingestion.preview`` or ``ingestion.failed`` (with the name it came with, the
stored bytes' checksum and, when refused, why), and ``ingestion.commit`` when its results are stored; the
bytes themselves are audited once, as ``raw_file.store``, when first received.
"""

import hashlib
from statistics import fmean

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from ...conf import evlims_settings
from ...core.actors import is_person
from ...core.audit import record_event
from ...core.tenancy import INGEST_ROLES, ensure_role
from ..models import Ingestion
from ..parsers import ParseError, parse_bytes
from ..particles import SIZE_FIELDS, stock_per_ml
from ..recording import measurements_record, placed_message, result_error_place, validate_results
from .results import _client, previous_answer, raw_file_store, request_hash

# Particle formats and the technique their results are recorded under (a mapped generic table: "other").
PARTICLE_FORMATS = {"nanosight": "nta", "zetaview": "zetaview", "generic": "other"}


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


def _mean_of_valid(captures, field):
    values = [c[field] for c in captures if c.get("valid") and c.get(field) is not None]
    return fmean(values) if values else None


def particle_document(
    sample: dict, parsed: dict, preparation: str, dilution_factor=None, calibration: str = ""
) -> dict:
    """A parsed particle sample as a result document. A dilution given at upload is applied only when the
    file did not already apply one; sample-level sizes absent from the file are means of valid captures; the
    analyser settings the file records (camera level, threshold, frames, videos, temperature…) come along.
    Calibration is never in the file: a person records it."""
    captures = sample.get("captures") or []
    computed = list(sample.get("computed") or [])
    concentration = sample.get("concentration_per_ml")
    applied = sample.get("dilution_applied_in_file")
    factor = sample.get("dilution_factor")
    # Only where the file records no dilution: a recorded one is already in the parser's stock figure.
    if dilution_factor and factor is None and not applied:
        factor = dilution_factor
        concentration = stock_per_ml(concentration, dilution_factor)
        computed.append("concentration_per_ml")
    particle = {
        "technique": PARTICLE_FORMATS[parsed["format"]],
        "name": sample.get("name", ""),
        "dilution_factor": factor,
        "dilution_applied_in_file": applied,
        "concentration_per_ml": concentration,
        "instrument_average_concentration_per_ml": sample.get("instrument_average_concentration_per_ml"),
        "captures": [{k: c.get(k) for k in ("name", "concentration_per_ml", "valid", *SIZE_FIELDS)} for c in captures],
        "histogram": sample.get("histogram"),
        "settings": dict(sample.get("settings") or {}),
    }
    for field in SIZE_FIELDS:
        value = sample.get(field)
        if value is None:
            value = _mean_of_valid(captures, field)
            if value is not None:
                computed.append(field)
        particle[field] = value
    particle["computed"] = sorted(set(computed))
    if calibration:
        # Files do not record how the analyser was calibrated: the person committing the file says it.
        particle["calibration"] = calibration
    return {
        "kind": "particle",
        "method": particle["technique"],
        "preparation": preparation,
        "software_version": parsed.get("software_version") or "",
        "particle": particle,
    }


def protein_document(sample: dict, parsed: dict, preparation: str) -> dict:
    return {
        "kind": "protein",
        "method": "bca",
        "preparation": preparation,
        "software_version": parsed.get("software_version") or "",
        "protein": {
            "assay": "bca",
            "concentration_ug_per_ml": sample.get("protein_ug_per_ml"),
            "out_of_range": bool(sample.get("out_of_range")),
            "standard_curve": parsed.get("standard_curve") or {},
        },
    }


def _committed(parsed: dict, mapping: dict):
    """(sample, preparation barcode) of every sample a commit turns into a result, in the results' order."""
    for sample in parsed.get("samples") or []:
        preparation = mapping.get(sample.get("name"))
        if preparation and (parsed["format"] in PARTICLE_FORMATS or "protein_ug_per_ml" in sample):
            yield sample, preparation


def documents_from_parsed(
    parsed: dict, mapping: dict, dilutions: dict | None = None, calibration: str = ""
) -> list[dict]:
    """Result documents for the samples the user mapped ({sample name: preparation barcode}); unmapped
    samples (e.g. beads or standards) are left out on purpose."""
    documents = []
    for sample, preparation in _committed(parsed, mapping):
        if parsed["format"] in PARTICLE_FORMATS:
            dilution = (dilutions or {}).get(sample["name"])
            documents.append(particle_document(sample, parsed, preparation, dilution, calibration))
        else:
            documents.append(protein_document(sample, parsed, preparation))
    return documents


def commit_errors(errors: dict, parsed: dict, mapping: dict) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """A commit's refusal ({key: [messages]}) put on the samples it concerns: results[i] is the i-th sample the
    commit turned into a result. Returns ({sample name: messages}, {any other key: messages})."""
    names = [sample["name"] for sample, _ in _committed(parsed, mapping)]
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
    reason: str = "",
) -> Ingestion:
    """Turn a previewed file into results, all or nothing. Committing twice changes nothing. ``calibration``
    (particle files) says how the analyser was calibrated, which no export records."""
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
        documents = documents_from_parsed(ingestion.parsed, mapping, dilutions, calibration)
        if not documents:
            raise ValidationError({"mapping": "Map at least one sample of the file to a preparation."})
        results = validate_results(documents)
        measurements = measurements_record(
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
                "measurements": [m.pk for m in measurements][:200],
            },
        )
    return ingestion
