"""Raw files and posted results: the bytes kept as sent, and JSON results stored all or nothing, with
idempotent retries."""

import hashlib
from functools import cache

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction

from ...core.actors import is_person
from ...core.audit import appended_last, record_event
from ...core.canonical import canonical_hash
from ...core.rows import row_insert
from ...core.tenancy import INGEST_ROLES, ensure_role
from ..models import Ingestion, RawFile
from ..recording import measurements_record, validate_results

MAX_RESULTS_PER_POST = 500


def raw_file_store(
    *, lab, data: bytes, name: str, content_type: str = "", actor=None, instrument=None, reason: str = ""
) -> RawFile:
    """Keep the file byte for byte, in its own transaction, before anything reads it: what was sent is never lost.

    The same bytes sent twice are stored once (per lab).
    """
    digest = hashlib.sha256(data).hexdigest()
    existing = RawFile.objects.filter(lab=lab, sha256=digest).first()
    if existing:
        return existing
    raw = RawFile(
        lab=lab,
        sha256=digest,
        original_name=name[:255],
        content_type=content_type[:120],
        size_bytes=len(data),
        uploaded_by=actor if is_person(actor) else None,
        instrument=instrument,
    )
    raw.file.save(digest, ContentFile(data), save=False)
    try:
        with transaction.atomic():
            raw.save()
            record_event(
                reason=reason,
                actor=actor or instrument,
                action="raw_file.store",
                obj=raw,
                changes={"sha256": digest, "size_bytes": len(data), "name": raw.original_name},
            )
    except IntegrityError:  # a concurrent upload of the same bytes won
        return RawFile.objects.get(lab=lab, sha256=digest)
    return raw


def _client(actor, instrument) -> str:
    return f"instrument:{instrument.pk}" if instrument else f"user:{actor.pk}"


def request_hash(body) -> str:
    if isinstance(body, bytes):
        return hashlib.sha256(body).hexdigest()
    return canonical_hash(body)


def previous_answer(*, actor, instrument, idempotency_key: str, body_hash: str) -> Ingestion | None:
    """The earlier ingestion with this key, if any. The same key with another body is a client error."""
    if not idempotency_key:
        return None
    earlier = Ingestion.objects.filter(client=_client(actor, instrument), idempotency_key=idempotency_key).first()
    if earlier and earlier.request_hash != body_hash:
        raise ValidationError({"Idempotency-Key": "This key was already used for a different request."})
    return earlier


def _earlier_ingestion(*, actor, instrument, idempotency_key: str, external_run_id: str, body_hash: str):
    """The ingestion a post repeats: the same Idempotency-Key (another body with it is refused), or the same
    run id of the instrument; None for a new post."""
    earlier = previous_answer(actor=actor, instrument=instrument, idempotency_key=idempotency_key, body_hash=body_hash)
    if earlier is None and external_run_id and instrument:
        earlier = Ingestion.objects.filter(instrument=instrument, external_run_id=external_run_id).first()
    return earlier


@cache
def _answer_statement() -> tuple[str, object]:
    """(UPDATE of an ingestion's stored answer, the answer's field)."""
    quote = connection.ops.quote_name
    meta = Ingestion._meta
    response = meta.get_field("response")
    update = f"UPDATE {quote(meta.db_table)} SET {quote(response.column)} = %s WHERE {quote(meta.pk.column)} = %s"
    return update, response


def _ingestion_insert(ingestion: Ingestion) -> Ingestion:
    """``ingestion.save()`` of a new row, in one prepared statement (``core.rows.row_insert``).

    Written by hand, as its answer's update, because a result post writes one ingestion row and its answer each
    time: through the ORM (``create``, then ``save(update_fields=["response"])``) the two statements cost about
    0.5 ms of CPU to build, more than they take to run. No signal listens to ingestions."""
    return row_insert(ingestion)


def _ingestion_answer_save(ingestion: Ingestion) -> None:
    """``ingestion.save(update_fields=["response"])``, in one prepared statement."""
    update, response = _answer_statement()
    with connection.cursor() as cursor:
        cursor.execute(update, [response.get_db_prep_save(ingestion.response, connection), ingestion.pk])


def results_ingest(
    *, actor, lab, documents, instrument=None, idempotency_key: str = "", external_run_id: str = "", reason: str = ""
) -> tuple[Ingestion, bool]:
    """Store posted results all or nothing. Returns (ingestion, replayed): a retry gets the first answer.

    A retry is found by the database, not by a read before writing: the ingestion row is inserted first, and
    the unique keys on (client, Idempotency-Key) and (instrument, external run id) refuse a second one; the
    transaction then rolls back and the first answer is read. A new post thus costs no read for its key.
    """
    if not isinstance(documents, list) or not 1 <= len(documents) <= MAX_RESULTS_PER_POST:
        raise ValidationError({"results": f"Send a list of 1–{MAX_RESULTS_PER_POST} results."})
    if instrument is None:
        ensure_role(actor, lab.pk, INGEST_ROLES, "post results")
    body_hash = request_hash({"results": documents, "external_run_id": external_run_id})
    repeated = {
        "actor": actor,
        "instrument": instrument,
        "idempotency_key": idempotency_key,
        "external_run_id": external_run_id,
        "body_hash": body_hash,
    }
    try:
        results = validate_results(documents)
    except ValidationError:
        # A refused body may still be a retry (the key reused with another body is a 422, not a 400).
        earlier = _earlier_ingestion(**repeated) if idempotency_key or external_run_id else None
        if earlier:
            return earlier, True
        raise
    try:
        with transaction.atomic():
            ingestion = _ingestion_insert(
                Ingestion(
                    lab=lab,
                    instrument=instrument,
                    submitted_by=actor if is_person(actor) else None,
                    client=_client(actor, instrument),
                    idempotency_key=idempotency_key,
                    external_run_id=external_run_id,
                    request_hash=body_hash,
                    status=Ingestion.Status.COMMITTED,
                )
            )
            # The audit event after the stored answer: the chain's head, which every write waits for, is then
            # locked only for the event and the commit.
            with appended_last():
                measurements = measurements_record(
                    savepoint=False,
                    actor=actor or instrument,
                    lab=lab,
                    results=results,
                    instrument=instrument,
                    ingestion=ingestion,
                    reason=reason,
                )
                ingestion.response = {
                    "ingestion": ingestion.pk,
                    "status": ingestion.status,
                    "measurements": [m.pk for m in measurements],
                }
                _ingestion_answer_save(ingestion)
    except IntegrityError:
        # A retry (or a concurrent one that committed first): answer with the first post's result.
        earlier = _earlier_ingestion(**repeated)
        if earlier is None:
            raise
        return earlier, True
    return ingestion, False
