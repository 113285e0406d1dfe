"""Inter-laboratory comparisons: a coordinating lab's scheme → rounds → items sent to participant labs, and the
results the participants report on them. Scores are computed from these rows (``interlab.scoring``), never
stored, except the assigned value and robust SD a round keeps when it is closed."""

from django.conf import settings
from django.db import models

from ..characterization.models import Measurement
from ..core.models import Lab, TimeStampedModel
from ..samples.models import Aliquot
from ..standards.models import ReferenceMaterialLot


class Quantity(models.TextChoices):
    """What a scheme compares: a headline figure of a measurement (its key in ``Measurement.values``)."""

    PARTICLES_PER_ML = "particles_per_ml", "Particle concentration (particles/mL)"
    PROTEIN_UG_PER_ML = "protein_ug_per_ml", "Protein concentration (µg/mL)"
    SIZE_MODE_NM = "size_mode_nm", "Size mode (nm)"
    SIZE_MEDIAN_NM = "d50_nm", "Size median (nm)"


class ComparisonScheme(TimeStampedModel):
    """A proficiency-testing or comparison scheme run by a coordinating lab (``lab``)."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="comparison_schemes")
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    quantity = models.CharField(max_length=40, choices=Quantity.choices)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["lab", "code"]
        constraints = [models.UniqueConstraint(fields=["lab", "code"], name="evlims_scheme_code_unique_per_lab")]

    def __str__(self):
        return f"{self.code} — {self.name}"


class ComparisonRound(TimeStampedModel):
    class Status(models.TextChoices):
        OPEN = "open", "Being prepared"
        SHIPPED = "shipped", "Items sent, results awaited"
        CLOSED = "closed", "Closed and scored"

    class AssignedFrom(models.TextChoices):
        CONSENSUS = "consensus", "Robust consensus of the participants (Algorithm A)"
        REFERENCE = "reference", "Reference value"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="+")
    scheme = models.ForeignKey(ComparisonScheme, on_delete=models.PROTECT, related_name="rounds")
    code = models.CharField(max_length=40)
    material = models.CharField(max_length=200, help_text="The pooled or reference material the items were drawn from.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    assigned_from = models.CharField(max_length=10, choices=AssignedFrom.choices, default=AssignedFrom.CONSENSUS)
    reference_lot = models.ForeignKey(
        ReferenceMaterialLot,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The coordinating lab's reference-material lot whose assigned value is the reference value.",
    )
    reference_value = models.FloatField(null=True, blank=True)
    reference_uncertainty = models.FloatField(
        verbose_name="Reference value standard uncertainty", null=True, blank=True
    )
    sigma_pt = models.FloatField(verbose_name="Standard deviation for proficiency assessment (σ_pt)")
    sigma_pt_basis = models.CharField(
        verbose_name="Basis of σ_pt", max_length=300, blank=True, help_text="Where σ_pt comes from (ISO 13528 §8)."
    )
    coverage_factor = models.FloatField(verbose_name="Coverage factor k of the assigned value", default=2.0)
    homogeneity_pairs = models.JSONField(default=list, blank=True, help_text="[[first, second], …] per item.")
    stability_before = models.JSONField(default=list, blank=True)
    stability_after = models.JSONField(default=list, blank=True)
    results_due = models.DateField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    assigned_value = models.FloatField(null=True, blank=True)
    assigned_uncertainty = models.FloatField(null=True, blank=True)
    robust_mean = models.FloatField(null=True, blank=True)
    robust_sd = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["scheme", "code"]
        constraints = [models.UniqueConstraint(fields=["scheme", "code"], name="evlims_round_code_unique")]

    def __str__(self):
        return f"{self.scheme.code} {self.code}"


class RoundParticipant(TimeStampedModel):
    """A lab taking part in a round, known to the other participants only by its code ("Lab 07")."""

    round = models.ForeignKey(ComparisonRound, on_delete=models.PROTECT, related_name="participants")
    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=20)

    class Meta:
        ordering = ["round", "code"]
        constraints = [
            models.UniqueConstraint(fields=["round", "lab"], name="evlims_participant_once_per_round"),
            models.UniqueConstraint(fields=["round", "code"], name="evlims_participant_code_unique"),
        ]

    def __str__(self):
        return self.code


class RoundItem(TimeStampedModel):
    """One item (an aliquot of the round's material) for one participant. ``lab`` is the coordinating lab."""

    class Shipping(models.TextChoices):
        CUSTODY = "custody", "Handed over on site (custody recorded)"
        KIT = "kit", "Sent as a kit with a manifest"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="+")
    round = models.ForeignKey(ComparisonRound, on_delete=models.PROTECT, related_name="items")
    participant = models.ForeignKey(RoundParticipant, on_delete=models.PROTECT, related_name="items")
    code = models.CharField(max_length=40)
    aliquot = models.ForeignKey(Aliquot, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    shipping = models.CharField(max_length=8, choices=Shipping.choices, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["round", "code"]
        constraints = [models.UniqueConstraint(fields=["round", "code"], name="evlims_round_item_code_unique")]

    def __str__(self):
        return self.code


class RoundResult(TimeStampedModel):
    """A participant's result on an item; ``lab`` is the participant's lab. Reporting again replaces it while
    the round is open."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="+")
    item = models.OneToOneField(RoundItem, on_delete=models.PROTECT, related_name="result")
    value = models.FloatField()
    standard_uncertainty = models.FloatField(verbose_name="Standard uncertainty u(x)", null=True, blank=True)
    coverage_factor = models.FloatField(verbose_name="Coverage factor k", default=2.0)
    method = models.CharField(max_length=200, blank=True)
    measurement = models.ForeignKey(Measurement, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["item"]

    def __str__(self):
        return f"result on {self.item}"
