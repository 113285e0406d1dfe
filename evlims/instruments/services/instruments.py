"""Instruments and their API keys: registered, issued and revoked by a lab admin, each audited; a key's plaintext
is shown once and only its hash is kept."""

import hashlib
import hmac
import secrets
from datetime import timedelta
from functools import cache

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from ...core.audit import record_event
from ...core.models import Lab, Role
from ...core.rows import instance_from_row, model_columns
from ...core.tenancy import ensure_role
from ..models import Instrument, InstrumentApiKey

KEY_PREFIX = "evl"
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


# The key, its instrument and the instrument's lab: the tables of one key read, each with its alias.
KEY_READ = ((InstrumentApiKey, "k"), (Instrument, "i"), (Lab, "l"))


@cache
def _key_statement() -> tuple[str, list]:
    """(SELECT of a key by prefix with its instrument and lab, [(model, attnames, converters)] of its columns).

    Hand-written because it runs on every request an instrument signs: the ORM's ``select_related`` equivalent
    cost about 0.7 ms of CPU to build, the statement runs in a few hundredths of that. The values go through
    the converters the ORM would apply (SQLite's dates, JSON), so the instances equal the ORM's."""
    quote = connection.ops.quote_name
    columns, layout = [], []
    for model, alias in KEY_READ:
        model_cols, model_layout = model_columns(model, alias)
        columns += model_cols
        layout.append((model, len(model_cols), model_layout))
    key, instrument, lab = (model._meta for model, _ in KEY_READ)
    statement = (
        f"SELECT {', '.join(columns)} FROM {quote(key.db_table)} k "
        f"INNER JOIN {quote(instrument.db_table)} i ON i.{quote(instrument.pk.column)} = "
        f"k.{quote(key.get_field('instrument').column)} "
        f"INNER JOIN {quote(lab.db_table)} l ON l.{quote(lab.pk.column)} = "
        f"i.{quote(instrument.get_field('lab').column)} "
        f"WHERE k.{quote(key.get_field('prefix').column)} = %s"
    )
    return statement, layout


def _key_read(prefix: str) -> InstrumentApiKey | None:
    """The key with this prefix, its instrument and lab attached (as ``select_related("instrument__lab")``)."""
    statement, layout = _key_statement()
    with connection.cursor() as cursor:
        cursor.execute(statement, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    objects, start = [], 0
    for model, width, model_layout in layout:
        objects.append(instance_from_row(model, model_layout, row[start : start + width]))
        start += width
    key, instrument, lab = objects
    Instrument._meta.get_field("lab").set_cached_value(instrument, lab)
    InstrumentApiKey._meta.get_field("instrument").set_cached_value(key, instrument)
    return key


def api_key_authenticate(raw_key: str) -> InstrumentApiKey | None:
    """The active key matching ``raw_key``, or None. Compared in constant time; last use noted once a minute.

    Read from the database on every call (one statement, ``_key_read``): a revoked key is refused on the next
    request, in every process."""
    parts = (raw_key or "").split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    key = _key_read(parts[1])
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.key_hash, _hash_key(raw_key)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        InstrumentApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
