"""Isolation runs and the EV preparations they produce."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from ..core.models import Lab, Project, VersionedModel
from ..samples.models import Aliquot


class IsolationRun(VersionedModel):
    """A batch of aliquots processed together under one protocol by one operator."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        ABORTED = "aborted", "Aborted"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="isolation_runs")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="isolation_runs")
    code = models.CharField(max_length=40, unique=True)
    protocol_name = models.CharField(max_length=200, help_text="Protocol followed (name and version).")
    method = models.CharField(max_length=40, blank=True, help_text="Main separation method, e.g. sec.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PLANNED, db_index=True)
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    equipment = models.CharField(max_length=200, blank=True, help_text="Rotor, column lot, kit lot.")
    started_at = models.DateTimeField(null=True, blank=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    abort_reason = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return self.code


class EVPreparation(VersionedModel):
    """The EV-enriched material obtained from one input aliquot in one run."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="preparations")
    run = models.ForeignKey(IsolationRun, on_delete=models.PROTECT, related_name="preparations")
    input_aliquot = models.ForeignKey(Aliquot, on_delete=models.PROTECT, related_name="preparations")
    barcode = models.CharField(max_length=40, unique=True)
    input_volume_ul = models.DecimalField(max_digits=10, decimal_places=1)
    final_volume_ul = models.DecimalField(max_digits=10, decimal_places=1, null=True, blank=True)
    buffer = models.CharField(max_length=80, blank=True)
    storage = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["barcode"]
        constraints = [
            models.CheckConstraint(
                condition=Q(input_volume_ul__gt=0), name="evlims_prep_input_volume_positive"
            ),
            models.CheckConstraint(
                condition=Q(final_volume_ul__isnull=True) | Q(final_volume_ul__gt=0),
                name="evlims_prep_final_volume_positive",
            ),
        ]

    def __str__(self):
        return self.barcode
