"""Who may see and do what: labs a user belongs to and the role they hold there."""

from django.core.exceptions import PermissionDenied

from .actors import is_person
from .models import Membership, Role

WRITER_ROLES = frozenset({Role.LAB_STAFF, Role.LAB_ADMIN})
READER_ROLES = frozenset({Role.LAB_STAFF, Role.LAB_ADMIN, Role.QA_MANAGER, Role.INSTRUMENT})
REVIEWER_ROLES = frozenset({Role.QA_MANAGER, Role.LAB_ADMIN})
# Who may post instrument results and files: the bench, and accounts made for an instrument.
INGEST_ROLES = WRITER_ROLES | {Role.INSTRUMENT}


def _memberships(user) -> dict[int, str]:
    """{lab_id: role} for the user, cached on the user object for the request."""
    if user is None or not user.is_authenticated:
        return {}
    cached = getattr(user, "_evlims_memberships", None)
    if cached is None:
        cached = dict(Membership.objects.filter(user=user).values_list("lab_id", "role"))
        user._evlims_memberships = cached
    return cached


def forget_memberships(user) -> None:
    if hasattr(user, "_evlims_memberships"):
        del user._evlims_memberships


def visible_lab_ids(user) -> list[int]:
    return sorted(_memberships(user))


def role_in(user, lab_id: int) -> str | None:
    return _memberships(user).get(lab_id)


def labs_where(user, roles) -> list[int]:
    return sorted(lab for lab, role in _memberships(user).items() if role in roles)


def is_instrument_account(user) -> bool:
    """A person's account whose only role, in every lab it belongs to, is ``instrument``: a login made for a
    machine. It gets an instrument key's reach and no more: no web page, and in the API only the endpoints
    where a key may post results (see ``evlims.api.permissions``). Instrument keys themselves are not
    accounts (``evlims.api.authentication.InstrumentPrincipal``) and are not matched here."""
    if not is_person(user):
        return False
    roles = set(_memberships(user).values())
    return bool(roles) and roles <= {Role.INSTRUMENT.value}


def ensure_role(user, lab_id: int, roles, action: str = "do this") -> None:
    if role_in(user, lab_id) not in roles:
        raise PermissionDenied(f"Your role in this lab does not allow you to {action}.")


def ensure_can_write(user, lab_id: int) -> None:
    ensure_role(user, lab_id, WRITER_ROLES, "change its records")
