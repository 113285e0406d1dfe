"""Characterization results of EV preparations (typed payloads arrive with instrument ingestion)."""

from django.conf import settings
from django.db import models

from ..core.models import Lab, TimeStampedModel
from ..isolation.models import EVPreparation


class Measurement(TimeStampedModel):
    class Kind(models.TextChoices):
        PARTICLE = "particle", "Particle analysis"
        PROTEIN = "protein", "Protein quantification"
        MARKER = "marker", "Marker result"
        IMAGING = "imaging", "Imaging"
        LIPID = "lipid", "Lipid quantification"
        RNA = "rna", "RNA quantification"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="measurements")
    preparation = models.ForeignKey(EVPreparation, on_delete=models.PROTECT, related_name="measurements")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    method = models.CharField(max_length=40, help_text="e.g. nta, bca, western_blot, tem")
    measured_at = models.DateTimeField(db_index=True)
    instrument_name = models.CharField(max_length=120, blank=True)
    values = models.JSONField(
        default=dict, help_text="Figures of the result, keyed by name with units in the key."
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["measured_at", "id"]
        indexes = [models.Index(fields=["preparation", "kind"], name="evlims_measurement_prep_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.preparation_id}"
