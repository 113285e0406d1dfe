"""How a signer proves who they are when signing: the password re-entered, and its throttle; or, for a person
who signs in through the site's identity provider and has no password here, a fresh sign-in at the provider.

Wrong signature passwords are counted per account (in the cache) and audited, each in a transaction of its own,
so the refusal that follows keeps the record of the attempt. A refused re-authentication is audited alike.
"""

import datetime as dt

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..compliance.models import Signature
from ..core.audit import record_event
from ..core.models import ExternalIdentity

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
    if _password_matches(actor, password or ""):
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


def _password_matches(actor, password: str) -> bool:
    """The account's own password; for an account made by the LDAP backend (no password here) the directory's,
    checked by django-auth-ldap for that same account."""
    if actor.has_usable_password() or not getattr(settings, "AUTH_LDAP_SERVER_URI", ""):
        return actor.check_password(password)
    from django_auth_ldap.backend import LDAPBackend

    found = LDAPBackend().authenticate(None, username=actor.get_username(), password=password)
    return found is not None and found.pk == actor.pk


def _sso() -> dict:
    return getattr(settings, "EVLIMS_SSO", None) or {}


def signing_method(actor) -> str:
    """How ``actor`` re-authenticates to sign: at the identity provider when single sign-on is on and their
    account has the provider's identity and no password here; by their password otherwise (local accounts)."""
    issuer = _sso().get("ISSUER")
    if issuer and not actor.has_usable_password():
        if ExternalIdentity.objects.filter(user=actor, issuer=issuer).exists():
            return Signature.Method.OIDC
    return Signature.Method.PASSWORD


def reauthentication_max_age() -> int:
    """How many seconds before signing the signer's sign-in at the provider may have been (default 300)."""
    return int(_sso().get("SIGNATURE_MAX_AGE") or 300)


CLOCK_SKEW = 60  # seconds a provider's clock may run ahead of ours


def _reauthentication_problem(actor, claims) -> str:
    provider = _sso().get("PROVIDER_NAME") or "the identity provider"
    if not claims:
        return f"Signing needs a fresh sign-in at {provider}, which did not confirm who you are"
    if claims.get("error"):
        return f"{provider} did not confirm who you are ({claims['error']})"
    issuer = _sso().get("ISSUER")
    if (
        claims.get("iss") != issuer
        or not ExternalIdentity.objects.filter(user=actor, issuer=issuer, subject=str(claims.get("sub"))).exists()
    ):
        return f"{provider} confirmed someone other than you: sign in there as yourself"
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int | float) or isinstance(auth_time, bool):
        return f"{provider} did not say when you signed in, so the sign-in cannot be shown to be fresh"
    age, limit = timezone.now().timestamp() - auth_time, reauthentication_max_age()
    if age < -CLOCK_SKEW:
        return f"{provider} reported a sign-in {int(-age)} seconds in the future (its clock or ours is wrong)"
    if age > limit:
        return (
            f"Your sign-in at {provider} was {int(age)} seconds before signing; a signature needs one within "
            f"{limit} seconds. Sign again and enter your password there when asked"
        )
    return ""


def check_signature_reauthentication(*, actor, review, claims: dict | None, meaning: str) -> None:
    """A signer's fresh sign-in at the provider: ``claims`` are the verified ID token's (issuer, subject and
    ``auth_time``). Refused, and audited as ``signature.reauthentication_refused`` (in a transaction of its own),
    when it names another person, says not when they signed in, or is older than the site's limit."""
    problem = _reauthentication_problem(actor, claims)
    if not problem:
        return
    auth_time = (claims or {}).get("auth_time")
    _audit_attempt(
        actor, review, "signature.reauthentication_refused", meaning=meaning, why=problem, auth_time=auth_time
    )
    raise ValidationError({"reauthentication": f"{problem}; nothing was signed."})


def check_signer(*, actor, review, password: str, reauthentication: dict | None, meaning: str) -> str:
    """Re-authenticate the signer by their account's method (``signing_method``) and return the method, for the
    signature and its audit event. A local account's password path is ``check_signature_password`` unchanged."""
    method = signing_method(actor)
    if method == Signature.Method.OIDC:
        check_signature_reauthentication(actor=actor, review=review, claims=reauthentication, meaning=meaning)
    else:
        check_signature_password(actor=actor, review=review, password=password, meaning=meaning)
    return method
