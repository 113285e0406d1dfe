"""Setting up tenancy: labs, their projects, and who belongs to them in which role.

Like every other service these are keyword-only, run in one transaction and write one audit event with the
reason. Labs are created by a site administrator (a Django superuser, or ``actor=None`` for a management
command run by whoever has a shell on the server); a lab's projects and members are also managed by the
lab's own admins.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.text import slugify

from .audit import diff_fields, record_event, snapshot
from .editing import apply_edit, require_reason
from .models import Lab, Membership, Project, Role
from .tenancy import forget_memberships, role_in

LAB_FIELDS = ("name", "slug")
PROJECT_FIELDS = ("code", "title", "description")


def _ensure_site_admin(actor) -> None:
    if actor is not None and not actor.is_superuser:
        raise PermissionDenied("Only a site administrator may create or rename labs.")


def _ensure_lab_admin(actor, lab) -> None:
    if _is_site_admin(actor) or role_in(actor, lab.pk) == Role.LAB_ADMIN:
        return
    raise PermissionDenied("Only an admin of this lab may change its projects and members.")


def _is_site_admin(actor) -> bool:
    return actor is None or actor.is_superuser


def _keep_an_admin(*, actor, membership, doing: str) -> None:
    """Refuse to leave the lab without an admin when ``membership`` (a lab admin's) is removed or demoted.

    The lab's admin memberships are read under a row lock, so two admins demoting each other at the same time
    cannot both succeed. A site administrator (a superuser, or a management command) may still do it: they can
    always give the lab a new admin, which nobody in the lab could."""
    if membership.role != Role.LAB_ADMIN or _is_site_admin(actor):
        return
    admins = list(
        Membership.objects.select_for_update()
        .filter(lab_id=membership.lab_id, role=Role.LAB_ADMIN)
        .values_list("pk", flat=True)
    )
    if set(admins) <= {membership.pk}:
        raise ValidationError({"role": last_admin_message(membership, doing)})


def last_admin_message(membership, doing: str) -> str:
    return (
        f"{membership.user.get_username()} is the last admin of this lab: {doing} would leave "
        "nobody to manage its members and instruments. Make another member a lab admin first."
    )


def is_last_admin(membership, *, actor) -> bool:
    """Would demoting or removing this membership leave its lab without an admin (for forms that ask first; the
    services check again under a row lock)?"""
    if membership.role != Role.LAB_ADMIN or _is_site_admin(actor):
        return False
    others = Membership.objects.filter(lab_id=membership.lab_id, role=Role.LAB_ADMIN).exclude(pk=membership.pk)
    return not others.exists()


@transaction.atomic
def lab_create(*, actor, name: str, slug: str = "", reason: str = "") -> Lab:
    _ensure_site_admin(actor)
    lab = Lab(name=name.strip(), slug=slug or slugify(name)[:60])
    lab.full_clean()
    lab.save()
    record_event(actor=actor, action="lab.create", obj=lab, lab=lab, changes=snapshot(lab, LAB_FIELDS), reason=reason)
    return lab


@transaction.atomic
def lab_update(lab, *, actor, reason: str, changes: dict) -> Lab:
    _ensure_site_admin(actor)
    reason = require_reason(reason)
    unknown = set(changes) - set(LAB_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be edited." for name in sorted(unknown)})
    before = snapshot(lab, changes)
    for name, value in changes.items():
        setattr(lab, name, value)
    lab.full_clean()
    lab.save()
    delta = diff_fields(before, snapshot(lab, changes))
    record_event(actor=actor, action="lab.edit", obj=lab, lab=lab, changes=delta, reason=reason)
    return lab


@transaction.atomic
def project_create(*, actor, lab, code: str, title: str, description: str = "", reason: str = "") -> Project:
    _ensure_lab_admin(actor, lab)
    project = Project(lab=lab, code=code.strip(), title=title.strip(), description=description)
    project.full_clean()
    project.save()
    record_event(
        actor=actor, action="project.create", obj=project, changes=snapshot(project, PROJECT_FIELDS), reason=reason
    )
    return project


def project_update(project, *, actor, reason: str, expected_version: int, changes: dict) -> Project:
    _ensure_lab_admin(actor, project.lab)
    return apply_edit(
        project,
        actor=actor,
        reason=reason,
        expected_version=expected_version,
        changes=changes,
        editable=set(PROJECT_FIELDS),
    )


@transaction.atomic
def membership_set(*, actor, lab, user, role: str, reason: str = "") -> Membership:
    """Give ``user`` ``role`` in ``lab``: a new membership, or the role of the one they hold changed."""
    _ensure_lab_admin(actor, lab)
    if role not in Role.values:
        raise ValidationError({"role": f"Not a role: {role!r}. Roles: {', '.join(Role.values)}."})
    membership = Membership.objects.select_for_update().filter(lab=lab, user=user).first()
    if membership is None:
        membership = Membership.objects.create(lab=lab, user=user, role=role)
        action, changes = "membership.create", {"user": user.get_username(), "role": role}
    elif membership.role != role:
        _keep_an_admin(actor=actor, membership=membership, doing="changing their role")
        action, changes = "membership.edit", {"role": [membership.role, role]}
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
    else:
        return membership
    record_event(actor=actor, action=action, obj=membership, changes=changes, reason=reason)
    forget_memberships(user)
    return membership


@transaction.atomic
def membership_remove(membership, *, actor, reason: str) -> None:
    _ensure_lab_admin(actor, membership.lab)
    reason = require_reason(reason)
    given = membership
    membership = Membership.objects.select_for_update().select_related("user").get(pk=given.pk)
    _keep_an_admin(actor=actor, membership=membership, doing="removing them")
    changes = {"user": membership.user.get_username(), "role": membership.role}
    record_event(actor=actor, action="membership.remove", obj=membership, changes=changes, reason=reason)
    membership.delete()
    forget_memberships(given.user)
