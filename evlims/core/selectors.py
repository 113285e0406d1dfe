"""Reads of tenancy for the lab administration pages: the labs a user administers, a lab's members, and the
account a lab admin names when adding someone. Each is one query whatever the number of members."""

from django.contrib.auth import get_user_model
from django.db.models import Q

from .errors import NotFound
from .models import Lab, Membership, Role
from .tenancy import labs_where, role_in, visible_lab_ids


def administered_labs(user):
    """The labs ``user`` is an admin of, by name."""
    return Lab.objects.filter(pk__in=labs_where(user, {Role.LAB_ADMIN})).order_by("name")


def lab_of_member(user, lab_id) -> Lab:
    """A lab ``user`` belongs to (in any role); any other lab is NotFound, so its existence is not revealed."""
    if lab_id not in visible_lab_ids(user):
        raise NotFound
    return Lab.objects.get(pk=lab_id)


def lab_members(lab_id):
    """The lab's memberships with their accounts, by username."""
    return Membership.objects.filter(lab_id=lab_id).select_related("user").order_by("user__username", "id")


def membership_get(user, pk) -> Membership:
    """A membership of a lab ``user`` belongs to, with its account and lab; NotFound otherwise."""
    membership = (
        Membership.objects.filter(pk=pk, lab_id__in=visible_lab_ids(user)).select_related("user", "lab").first()
    )
    if membership is None:
        raise NotFound
    return membership


def is_lab_admin(user, lab_id) -> bool:
    return role_in(user, lab_id) == Role.LAB_ADMIN


def accounts_named(login: str) -> list:
    """Active accounts whose username is ``login`` or, when none is, whose e-mail address is (case-insensitive).

    Up to two are returned, enough to tell "nobody", "this person" and "several people share this address"."""
    login = login.strip()
    if not login:
        return []
    users = get_user_model().objects.filter(is_active=True)
    by_name = list(users.filter(**{get_user_model().USERNAME_FIELD: login})[:1])
    if by_name:
        return by_name
    return list(users.filter(Q(email__iexact=login)).order_by("pk")[:2])
