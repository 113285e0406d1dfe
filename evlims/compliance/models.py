"""Stored compliance evaluations, QA reviews and electronic signatures (registered here; the review logic is
in ``evlims.review``)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property

from ..core.models import Lab, TimeStampedModel
from ..isolation.models import EVPreparation, IsolationRun
from .stored_reports import full_report


class ComplianceEvaluation(TimeStampedModel):
    """The current verdicts of one preparation against every rule set, refreshed when its evidence changes.

    ``evidence_hash`` identifies the experiment document evaluated, so an unchanged preparation is not
    re-evaluated, and a signature can prove which evidence it covered. ``report`` is stored compact (or in
    full, as before the compact form); read it as ``full_report`` (``stored_reports``).
    """

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="+")
    preparation = models.OneToOneField(EVPreparation, on_delete=models.CASCADE, related_name="evaluation")
    rulesets = models.JSONField(default=dict, help_text="{rule set id: version} used.")
    report = models.JSONField(default=dict)
    # Written with the report, by the batch alone (evaluation_rows): a forced refresh whose report is the stored one
    # is told so by this, so PostgreSQL neither parses nor compares the report's JSON (docs/performance.md).
    report_digest = models.CharField(
        max_length=64, blank=True, default="", help_text="SHA-256 of the stored report's JSON text; empty if unknown."
    )
    document = models.JSONField(default=dict, help_text="The experiment document that was evaluated.")
    evidence_hash = models.CharField(max_length=64)
    ev_metric_pct = models.PositiveSmallIntegerField(verbose_name="EV-METRIC (%)", null=True, blank=True, db_index=True)
    mandatory_failed = models.PositiveSmallIntegerField(default=0, db_index=True)
    failed_rules = models.JSONField(default=list, help_text="Ids of failed rules, for filtering the QA queue.")
    evaluated_at = models.DateTimeField()

    class Meta:
        ordering = ["-evaluated_at"]

    def __str__(self):
        return f"evaluation of {self.preparation_id}"

    @cached_property
    def full_report(self) -> dict:
        """The report with the rule sets' titles, levels, fixes and citations, whichever form it is stored in."""
        return full_report(self.report)


class Review(TimeStampedModel):
    """QA review of a preparation or a run: submitted → verified → approved, or rejected."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", "Awaiting verification"
        VERIFIED = "verified", "Verified, awaiting approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        VOIDED = "voided", "Voided by a later change"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="+")
    preparation = models.ForeignKey(
        EVPreparation, on_delete=models.CASCADE, null=True, blank=True, related_name="reviews"
    )
    run = models.ForeignKey(IsolationRun, on_delete=models.CASCADE, null=True, blank=True, related_name="reviews")
    state = models.CharField(max_length=10, choices=State.choices, default=State.SUBMITTED, db_index=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField()
    note = models.TextField(blank=True)
    # Why a preparation with mandatory failures is submitted as it is (required then; the reviewers see it).
    justification = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["submitted_at"]
        # The QA queue: a lab's reviews awaiting a signature, oldest first (closed reviews are left out).
        indexes = [
            models.Index(
                fields=["lab", "submitted_at", "id"],
                condition=Q(state__in=["submitted", "verified"]),
                name="evlims_review_queue_idx",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(preparation__isnull=False, run__isnull=True)
                | Q(preparation__isnull=True, run__isnull=False),
                name="evlims_review_has_one_subject",
            ),
            models.UniqueConstraint(
                fields=["preparation"],
                condition=Q(state__in=["submitted", "verified", "approved"]),
                name="evlims_one_open_review_per_preparation",
            ),
            models.UniqueConstraint(
                fields=["run"],
                condition=Q(state__in=["submitted", "verified", "approved"]),
                name="evlims_one_open_review_per_run",
            ),
        ]

    def __str__(self):
        return f"review of {self.preparation or self.run} ({self.state})"


class Signature(models.Model):
    """An electronic signature: who, when, what it means, and a hash of exactly what was signed."""

    class Meaning(models.TextChoices):
        VERIFIED = "verified", "Verified: the record is complete and correct"
        APPROVED = "approved", "Approved: released for use"
        REJECTED = "rejected", "Rejected"

    class Method(models.TextChoices):
        """How the signer proved who they were when signing."""

        PASSWORD = "password", "Password re-entered"
        OIDC = "oidc", "Re-authenticated at the identity provider"

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="signatures")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    meaning = models.CharField(max_length=10, choices=Meaning.choices)
    statement = models.TextField(help_text="The signer's own words.")
    signed_at = models.DateTimeField()
    content_hash = models.CharField(max_length=64)
    content = models.JSONField(help_text="The signed content (record and evaluation) as it was.")
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.PASSWORD)

    class Meta:
        ordering = ["signed_at"]
        constraints = [
            models.UniqueConstraint(fields=["review", "signer", "meaning"], name="evlims_one_signature_per_meaning")
        ]

    def __str__(self):
        return f"{self.signer} {self.meaning} {self.signed_at:%Y-%m-%d}"
