"""The password re-entered for an electronic signature, and its throttle.

Wrong signature passwords are counted per account (in the cache) and audited, each in a transaction of its own,
so the refusal that follows keeps the record of the attempt.
"""

import datetime as dt

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..core.audit import record_event

# Wrong signature passwords are throttled like sign-ins: the limit and cool-off of django-axes when the site
# sets them (AXES_FAILURE_LIMIT, AXES_COOLOFF_TIME in hours or a timedelta), else 5 and a quarter of an hour.
SIGNATURE_FAILURE_LIMIT = 5
SIGNATURE_COOLOFF = dt.timedelta(minutes=15)


def _signature_failure_limit() -> int:
    return int(getattr(settings, "AXES_FAILURE_LIMIT", SIGNATURE_FAILURE_LIMIT) or SIGNATURE_FAILURE_LIMIT)


def _signature_cooloff() -> dt.timedelta:
    value = getattr(settings, "AXES_COOLOFF_TIME", None)
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, int | float) and value > 0:
        return dt.timedelta(hours=value)
    return SIGNATURE_COOLOFF  # not set, or a callable / dotted path that needs a request


def _failures_key(user) -> str:
    # The account's creation time keeps a re-used id from inheriting another account's count.
    joined = getattr(user, "date_joined", None)
    return f"evlims:signature-failures:{user.pk}:{joined.timestamp() if joined else ''}"


def signature_lockout(user) -> dt.datetime | None:
    """When signing opens again for ``user`` after too many wrong passwords, or None if it is open."""
    failures = cache.get(_failures_key(user))
    if not failures or failures["count"] < _signature_failure_limit():
        return None
    until = failures["last"] + _signature_cooloff()
    return until if until > timezone.now() else None


def _clock(moment: dt.datetime) -> str:
    return f"{timezone.localtime(moment):%H:%M} ({timezone.get_current_timezone_name()})"


def _audit_attempt(actor, review, action: str, *, meaning: str, **changes) -> None:
    """A refused signing attempt, audited in a transaction of its own: the refusal that follows keeps it."""
    with transaction.atomic():
        record_event(
            actor=actor, action=action, obj=review, lab=review.lab, changes={"meaning": str(meaning), **changes}
        )


def check_signature_password(*, actor, review, password: str, meaning: str) -> None:
    """Re-authentication for a signature. Each wrong password is counted and audited (in its own transaction,
    so the refusal does not undo it); from the limit on, signing is refused, right password or not (and audited
    as ``signature.refused_locked``, the password unread), until the cool-off after the last wrong one has
    passed. A right password clears the count."""
    until = signature_lockout(actor)
    if until is not None:
        _audit_attempt(actor, review, "signature.refused_locked", meaning=meaning, locked_until=until.isoformat())
        raise ValidationError(
            {"password": f"Too many wrong passwords: signing is locked until {_clock(until)}; nothing was signed."}
        )
    key = _failures_key(actor)
    if actor.check_password(password or ""):
        cache.delete(key)
        return
    now, limit = timezone.now(), _signature_failure_limit()
    count = (cache.get(key) or {"count": 0})["count"] + 1
    cache.set(key, {"count": count, "last": now}, timeout=int(_signature_cooloff().total_seconds()) + 60)
    _audit_attempt(
        actor, review, "signature.password_failed", meaning=meaning, failures=count, limit=limit, locked=count >= limit
    )
    message = "The password is not correct; nothing was signed."
    if count >= limit:
        message += f" After {limit} wrong passwords, signing is locked until {_clock(now + _signature_cooloff())}."
    elif limit - count <= 2:
        message += f" {limit - count} more wrong password(s) will lock signing for a while."
    raise ValidationError({"password": message})
