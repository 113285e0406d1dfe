"""Tenancy (labs, projects, memberships), the append-only audit trail and shared model bases."""

from django.conf import settings
from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class VersionedModel(TimeStampedModel):
    """Records people edit carry a version; a save based on an older version is refused (optimistic lock)."""

    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True


class Lab(TimeStampedModel):
    """A tenant: every record belongs to exactly one lab, and users see only their labs' records."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Project(VersionedModel):
    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="projects")
    code = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["lab", "code"]
        constraints = [models.UniqueConstraint(fields=["lab", "code"], name="evlims_project_code_unique_per_lab")]

    def __str__(self):
        return f"{self.code} — {self.title}"


class Role(models.TextChoices):
    LAB_STAFF = "lab_staff", "Lab staff"
    QA_MANAGER = "qa_manager", "QA manager"
    LAB_ADMIN = "lab_admin", "Lab admin"
    INSTRUMENT = "instrument", "Instrument"


class Membership(TimeStampedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="evlims_memberships")
    lab = models.ForeignKey(Lab, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "lab"], name="evlims_one_membership_per_lab")]

    def __str__(self):
        return f"{self.user} @ {self.lab} ({self.get_role_display()})"


class ExternalIdentity(TimeStampedModel):
    """A person's account at the site's identity provider (OpenID Connect): the provider (its issuer) and the
    subject id it gives them, which names them there for good (an e-mail address can change hands). A sign-in
    through the provider finds the account by this pair, and a signature's re-authentication must name it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="evlims_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="evlims_one_account_per_identity")]

    def __str__(self):
        return f"{self.user} at {self.issuer}"


class BarcodeSequence(models.Model):
    """The last number issued per barcode prefix; incremented under a row lock so barcodes never repeat."""

    prefix = models.CharField(max_length=20, unique=True)
    last_value = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.prefix}:{self.last_value}"


class AuditEvent(models.Model):
    """One row per change, written in the same transaction as the change. Never updated or deleted.

    Each row carries the hash of its predecessor, so an edited or removed row breaks the chain
    (checked by ``manage.py evlims_verify_audit``).
    """

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    previous_hash = models.CharField(max_length=64, blank=True)
    entry_hash = models.CharField(max_length=64, unique=True)
    # Which HMAC key sealed this event ("" for events written before the chain was keyed); the keys
    # themselves live outside the database (see evlims.core.audit_keys).
    key_id = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "id"], name="evlims_audit_object_idx"),
            # The dashboards' cache version reads a lab's newest event: one index probe, not all its events.
            models.Index(fields=["lab", "id"], name="evlims_audit_lab_id_idx"),
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        """Inserts only: an event already stored is never rewritten (edits would break the hash chain)."""
        if not self._state.adding or kwargs.get("force_update") or kwargs.get("update_fields"):
            raise ValueError(f"Audit event {self.pk} is stored; the audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(f"Audit event {self.pk} cannot be deleted; the audit trail is append-only.")


class AuditChainHead(models.Model):
    """The hash of the newest audit event; locking this single row serialises appends to the chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_hash = models.CharField(max_length=64, blank=True)

    def __str__(self):
        return self.last_hash
