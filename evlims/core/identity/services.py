"""Accounts kept up to date from the identity provider: one service, called on every sign-in through single
sign-on, that creates or updates the person's account and (where the site maps the provider's groups) their
lab memberships, in one transaction with one audit event."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from ..audit import record_event
from ..models import ExternalIdentity, Lab, Membership, Role
from ..tenancy import forget_memberships
from .config import ROLE_RANK

PROFILE_CLAIMS = {"email": "email", "first_name": "given_name", "last_name": "family_name"}


def _sso() -> dict:
    return getattr(settings, "EVLIMS_SSO", None) or {}


def mapped_roles(groups, group_map) -> dict[str, str]:
    """{lab slug: role} the groups give under the site's map: the highest role where several groups name a lab."""
    roles: dict[str, str] = {}
    for group in groups:
        for slug, role in group_map.get(group, ()):
            if slug not in roles or ROLE_RANK.index(role) > ROLE_RANK.index(roles[slug]):
                roles[slug] = role
    return roles


def _groups(claims) -> list[str]:
    groups = claims.get(_sso().get("GROUPS_CLAIM", "groups"), [])
    if isinstance(groups, str):
        groups = groups.split()
    return [str(group) for group in groups if isinstance(group, str | int)] if isinstance(groups, list) else []


def _new_username(claims) -> str:
    """A username from the provider's preferred username or e-mail, made unique with a number if it is taken."""
    User = get_user_model()
    limit = User._meta.get_field(User.USERNAME_FIELD).max_length or 150
    wanted = str(claims.get("preferred_username") or claims.get("email") or f"sso-{claims['sub']}")
    base = slugify(wanted.replace("@", "-at-").replace(".", "-"))[: limit - 6] or "sso-user"
    username, number = base, 1
    while User.objects.filter(**{User.USERNAME_FIELD: username}).exists():
        number += 1
        username = f"{base}-{number}"
    return username


def _sync_memberships(user, groups) -> dict:
    """Memberships in the labs the map names follow the groups; labs the map does not name are left alone."""
    group_map = _sso().get("GROUP_MAP") or {}
    if not group_map:
        return {}
    wanted = mapped_roles(groups, group_map)
    labs = {lab.slug: lab for lab in Lab.objects.filter(slug__in={s for pairs in group_map.values() for s, _ in pairs})}
    held = {m.lab.slug: m for m in Membership.objects.select_for_update().filter(user=user, lab__in=labs.values())}
    changes = {}
    for slug, lab in sorted(labs.items()):
        membership, role = held.get(slug), wanted.get(slug)
        if membership is not None and membership.role == Role.INSTRUMENT:
            continue  # an instrument's account is never a person's
        if membership is None and role:
            Membership.objects.create(user=user, lab=lab, role=role)
            changes[slug] = [None, role]
        elif membership is not None and role and membership.role != role:
            changes[slug] = [membership.role, role]
            membership.role = role
            membership.save(update_fields=["role", "updated_at"])
        elif membership is not None and not role:
            changes[slug] = [membership.role, None]
            membership.delete()
    forget_memberships(user)
    return changes


@transaction.atomic
def sso_account_sync(*, actor=None, claims: dict, user=None, reason: str = "") -> object:
    """Create or update the account of the person the provider vouched for (``claims``: the verified ID token's
    and the user info's claims, with ``iss`` and ``sub``), and their memberships in the labs the site's group
    map names. ``user`` is the account found for them, or None for a first sign-in. ``actor`` is None: the
    provider, not a person here, is the source; the audit event names the account."""
    issuer, subject = str(claims.get("iss") or ""), str(claims.get("sub") or "")
    if not issuer or not subject:
        raise ValidationError({"claims": "The identity provider named no issuer or subject for this person."})
    User = get_user_model()
    created = user is None
    if created:
        user = User(**{User.USERNAME_FIELD: _new_username(claims)})
        user.set_unusable_password()  # they sign in, and re-authenticate to sign, at the provider
    before = {field: getattr(user, field) for field in PROFILE_CLAIMS}
    for field, claim in PROFILE_CLAIMS.items():
        if isinstance(claims.get(claim), str):
            setattr(user, field, claims[claim][: User._meta.get_field(field).max_length])
    user.full_clean(exclude=["password"], validate_unique=False)
    user.save()
    ExternalIdentity.objects.get_or_create(issuer=issuer, subject=subject, defaults={"user": user})
    changes = {"issuer": issuer, "subject": subject, "created": created}
    profile = {f: [before[f], getattr(user, f)] for f in PROFILE_CLAIMS if before[f] != getattr(user, f)}
    if profile:
        changes["profile"] = profile
    memberships = _sync_memberships(user, _groups(claims))
    if memberships:
        changes["memberships"] = memberships
    action = "account.sso_create" if created else "account.sso_sign_in"
    record_event(actor=actor if actor is not None else user, action=action, obj=user, changes=changes, reason=reason)
    return user
