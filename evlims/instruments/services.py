"""Instruments, their API keys, raw files and the ingestion of results (JSON posts and files)."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..core.actors import is_person
from ..core.audit import record_event
from ..core.canonical import canonical_hash
from ..core.models import Role
from ..core.tenancy import INGEST_ROLES, ensure_role
from .models import Ingestion, Instrument, InstrumentApiKey, RawFile
from .recording import measurements_record, validate_results

KEY_PREFIX = "evl"
MAX_RESULTS_PER_POST = 500
LAST_USED_RESOLUTION = timedelta(minutes=1)


@transaction.atomic
def instrument_register(*, actor, lab, name: str, kind: str, reason: str = "", **fields) -> Instrument:
    ensure_role(actor, lab.pk, {Role.LAB_ADMIN}, "register instruments")
    if Instrument.objects.filter(lab=lab, name=name).exists():
        raise ValidationError({"name": f"An instrument named {name!r} exists in this lab."})
    instrument = Instrument(lab=lab, name=name, kind=kind, **fields)
    instrument.full_clean(validate_unique=False)
    instrument.save()
    record_event(
        reason=reason, actor=actor, action="instrument.register", obj=instrument, changes={"name": name, "kind": kind}
    )
    return instrument


def _hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def api_key_issue(*, actor, instrument, scopes, label: str = "", reason: str = "") -> tuple[InstrumentApiKey, str]:
    """Create a key; the plaintext is returned once and never stored."""
    ensure_role(actor, instrument.lab_id, {Role.LAB_ADMIN}, "issue instrument keys")
    allowed = set(InstrumentApiKey.Scope.values)
    scopes = sorted(set(scopes))
    if not scopes or not set(scopes) <= allowed:
        raise ValidationError({"scopes": f"Choose scopes among {', '.join(sorted(allowed))}."})
    prefix = secrets.token_hex(6)
    raw_key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = InstrumentApiKey.objects.create(
        instrument=instrument, label=label, prefix=prefix, key_hash=_hash_key(raw_key), scopes=scopes, created_by=actor
    )
    record_event(
        reason=reason,
        actor=actor,
        action="api_key.issue",
        obj=key,
        lab=instrument.lab,
        changes={"prefix": prefix, "scopes": scopes},
    )
    return key, raw_key


@transaction.atomic
def api_key_revoke(*, actor, key, reason: str) -> InstrumentApiKey:
    key = InstrumentApiKey.objects.select_for_update(of=("self",)).select_related("instrument").get(pk=key.pk)
    ensure_role(actor, key.instrument.lab_id, {Role.LAB_ADMIN}, "revoke instrument keys")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at", "updated_at"])
        record_event(
            actor=actor,
            action="api_key.revoke",
            obj=key,
            lab=key.instrument.lab,
            reason=reason,
            changes={"prefix": key.prefix},
        )
    return key


def api_key_authenticate(raw_key: str) -> InstrumentApiKey | None:
    """The active key matching ``raw_key``, or None. Compared in constant time; last use noted once a minute."""
    parts = (raw_key or "").split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    key = InstrumentApiKey.objects.select_related("instrument__lab").filter(prefix=parts[1]).first()
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.key_hash, _hash_key(raw_key)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        InstrumentApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


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


def results_ingest(
    *, actor, lab, documents, instrument=None, idempotency_key: str = "", external_run_id: str = "", reason: str = ""
) -> tuple[Ingestion, bool]:
    """Store posted results all or nothing. Returns (ingestion, replayed): a retry gets the first answer."""
    if not isinstance(documents, list) or not 1 <= len(documents) <= MAX_RESULTS_PER_POST:
        raise ValidationError({"results": f"Send a list of 1–{MAX_RESULTS_PER_POST} results."})
    if instrument is None:
        ensure_role(actor, lab.pk, INGEST_ROLES, "post results")
    body_hash = request_hash({"results": documents, "external_run_id": external_run_id})
    earlier = previous_answer(actor=actor, instrument=instrument, idempotency_key=idempotency_key, body_hash=body_hash)
    if earlier:
        return earlier, True
    if external_run_id and instrument:
        earlier = Ingestion.objects.filter(instrument=instrument, external_run_id=external_run_id).first()
        if earlier:
            return earlier, True
    results = validate_results(documents)
    try:
        with transaction.atomic():
            ingestion = Ingestion.objects.create(
                lab=lab,
                instrument=instrument,
                submitted_by=actor if is_person(actor) else None,
                client=_client(actor, instrument),
                idempotency_key=idempotency_key,
                external_run_id=external_run_id,
                request_hash=body_hash,
                status=Ingestion.Status.COMMITTED,
            )
            measurements = measurements_record(
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
            ingestion.save(update_fields=["response"])
    except IntegrityError:
        # A concurrent retry with the same key committed first: answer with its result.
        earlier = previous_answer(
            actor=actor, instrument=instrument, idempotency_key=idempotency_key, body_hash=body_hash
        )
        if earlier is None and external_run_id and instrument:
            earlier = Ingestion.objects.filter(instrument=instrument, external_run_id=external_run_id).first()
        if earlier is None:
            raise
        return earlier, True
    return ingestion, False
