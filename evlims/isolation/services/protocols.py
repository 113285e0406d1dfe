"""Writes to protocols: a lab's drafts, their approval and retirement, and the shipped library.

Protocol content is validated by the Django-free ``protocols`` library; this module adds who may do what and
the lifecycle (draft → approved → retired), with the audit trail.
"""

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

import protocols as protocol_library
from protocols.errors import ProtocolValidationError, shorten
from protocols.loader import load_protocol_yaml

from ...core.audit import record_event
from ...core.tenancy import REVIEWER_ROLES, ensure_can_write, ensure_role
from ..models import Protocol, ProtocolVersion
from ._common import protocol_errors


def parse_protocol_text(text: str):
    """YAML text → validated ProtocolDefinition, or a ValidationError naming the step and field."""
    try:
        data = load_protocol_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = shorten(getattr(exc, "problem", None) or exc)
        raise ValidationError({"source_text": f"Not valid YAML{where}: {problem}"})
    if not isinstance(data, dict):
        raise ValidationError({"source_text": "A protocol is a YAML mapping with slug, version, title and steps."})
    try:
        return protocol_library.validate_protocol(data)
    except ProtocolValidationError as exc:
        raise protocol_errors(exc)


def _version_fields(definition, source_text: str) -> dict:
    return {
        "definition": definition.to_dict(),
        "source_text": source_text,
        "content_hash": definition.content_hash,
        "methods": list(definition.methods),
        "misev_class": str(
            definition.misev_class.label if hasattr(definition.misev_class, "label") else definition.misev_class
        ),
    }


@transaction.atomic
def protocol_version_save_draft(*, actor, lab, source_text: str, reason: str = "") -> ProtocolVersion:
    """A lab writes or uploads a protocol version. A draft may be replaced (whoever replaces it becomes one of
    its authors, who may not approve it); an approved or retired version number is never re-used."""
    ensure_can_write(actor, lab.pk)
    definition = parse_protocol_text(source_text)
    protocol, _ = Protocol.objects.get_or_create(
        lab=lab, slug=definition.slug, defaults={"title": definition.title, "description": definition.description or ""}
    )
    existing = ProtocolVersion.objects.select_for_update().filter(protocol=protocol, version=definition.version).first()
    if existing and existing.status != ProtocolVersion.Status.DRAFT:
        raise ValidationError(
            {
                "version": f"Version {definition.version} of {protocol.slug} is "
                f"{existing.get_status_display().lower()} and cannot change; "
                "save it as a new version."
            }
        )
    fields = _version_fields(definition, source_text)
    if existing:
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save()
        version, action = existing, "protocol_version.update_draft"
    else:
        version = ProtocolVersion.objects.create(
            protocol=protocol, version=definition.version, created_by=actor, **fields
        )
        action = "protocol_version.create"
    record_event(
        actor=actor,
        action=action,
        obj=version,
        lab=lab,
        reason=reason,
        changes={"content_hash": version.content_hash, "methods": version.methods},
    )
    return version


@transaction.atomic
def protocol_version_approve(*, actor, version: ProtocolVersion, reason: str = "") -> ProtocolVersion:
    """A QA manager (or lab admin) approves a draft; nobody approves a version they wrote."""
    version = ProtocolVersion.objects.select_for_update(of=("self",)).select_related("protocol").get(pk=version.pk)
    lab = version.protocol.lab
    if lab is None:
        raise ValidationError({"status": "Library protocols are approved by their release, not in a lab."})
    ensure_role(actor, lab.pk, REVIEWER_ROLES, "approve protocols")
    if version.status != ProtocolVersion.Status.DRAFT:
        raise ValidationError({"status": f"Only drafts can be approved; this one is {version.status}."})
    from ..selectors import protocol_version_authors

    if actor.pk in protocol_version_authors([version.pk]):
        raise ValidationError({"approved_by": "You wrote or changed this version; another QA manager must approve it."})
    version.status = ProtocolVersion.Status.APPROVED
    version.approved_by, version.approved_at = actor, timezone.now()
    version.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
    record_event(
        actor=actor,
        action="protocol_version.approve",
        obj=version,
        lab=lab,
        reason=reason,
        changes={"status": ["draft", "approved"], "content_hash": version.content_hash},
    )
    return version


@transaction.atomic
def protocol_version_retire(*, actor, version: ProtocolVersion, reason: str) -> ProtocolVersion:
    version = ProtocolVersion.objects.select_for_update(of=("self",)).select_related("protocol").get(pk=version.pk)
    lab = version.protocol.lab
    if lab is None:
        raise ValidationError({"status": "Library protocols are retired by a new library release."})
    ensure_role(actor, lab.pk, REVIEWER_ROLES, "retire protocols")
    if version.status != ProtocolVersion.Status.APPROVED:
        raise ValidationError({"status": "Only approved versions can be retired."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why this version is retired."})
    version.status = ProtocolVersion.Status.RETIRED
    version.save(update_fields=["status", "updated_at"])
    record_event(
        actor=actor,
        action="protocol_version.retire",
        obj=version,
        lab=lab,
        reason=reason,
        changes={"status": ["approved", "retired"]},
    )
    return version


@transaction.atomic
def library_load(*, actor=None, root=None, reason: str = "") -> dict:
    """Upsert the shipped protocol library idempotently; a released version whose content changed is refused.

    Returns counts {"created", "unchanged", "drafts_updated"}.
    """
    counts = {"created": 0, "unchanged": 0, "drafts_updated": 0}
    for definition in protocol_library.load_library(root):
        source_text = getattr(definition, "source_text", "") or yaml.safe_dump(definition.to_dict(), sort_keys=False)
        protocol, _ = Protocol.objects.get_or_create(
            lab=None,
            slug=definition.slug,
            defaults={"title": definition.title, "description": definition.description or ""},
        )
        released = definition.status == "released"
        status = ProtocolVersion.Status.APPROVED if released else ProtocolVersion.Status.DRAFT
        existing = ProtocolVersion.objects.filter(protocol=protocol, version=definition.version).first()
        if existing is None:
            version = ProtocolVersion.objects.create(
                protocol=protocol,
                version=definition.version,
                status=status,
                from_library=True,
                approved_at=timezone.now() if released else None,
                **_version_fields(definition, source_text),
            )
            record_event(
                reason=reason,
                actor=actor,
                action="protocol_version.load",
                obj=version,
                lab=None,
                changes={"content_hash": version.content_hash, "status": status},
            )
            counts["created"] += 1
        elif existing.content_hash == definition.content_hash:
            counts["unchanged"] += 1
        elif existing.status == ProtocolVersion.Status.DRAFT and not released:
            for name, value in _version_fields(definition, source_text).items():
                setattr(existing, name, value)
            existing.save()
            counts["drafts_updated"] += 1
        else:
            raise ValidationError(
                f"{definition.slug}@{definition.version} is released and its content changed "
                f"(stored {existing.content_hash[:12]}…, file {definition.content_hash[:12]}…). "
                "Released versions are immutable: publish the change as a new version."
            )
    return counts
