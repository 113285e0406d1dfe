"""Stored metric results and the jobs that compute them (every job is a row before it is queued)."""

from django.db import models

from ..core.models import Lab, TimeStampedModel
from ..isolation.models import EVPreparation


class ControlMaterial(TimeStampedModel):
    """A reference material a lab isolates again and again to watch its process (Levey–Jennings charts)."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="control_materials")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    target_mean_particles_per_ug = models.FloatField(verbose_name="Target mean (particles/µg)", null=True, blank=True)
    target_sd_particles_per_ug = models.FloatField(verbose_name="Target SD (particles/µg)", null=True, blank=True)
    baseline_points = models.PositiveSmallIntegerField(
        default=20, help_text="Without targets, the first N runs estimate mean and SD."
    )
    samples = models.ManyToManyField("evlims.Sample", blank=True, related_name="control_materials")

    class Meta:
        ordering = ["lab", "name"]
        constraints = [models.UniqueConstraint(fields=["lab", "name"], name="evlims_control_name_unique")]

    def __str__(self):
        return self.name


class PreparationMetrics(models.Model):
    """Figures of one preparation; a missing input leaves its figure null, never zero."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="+")
    preparation = models.OneToOneField(EVPreparation, on_delete=models.CASCADE, related_name="metrics")
    particle_yield_per_ml_input = models.FloatField(null=True)
    particle_yield_per_million_cells = models.FloatField(null=True)
    protein_yield_ug_per_ml_input = models.FloatField(null=True)
    particles_per_ug = models.FloatField(verbose_name="Particles per µg protein", null=True)
    purity_class = models.CharField(max_length=20, null=True, db_index=True)
    recovery_pct = models.FloatField(verbose_name="Recovery (%)", null=True)
    size_mode_nm = models.FloatField(verbose_name="Size mode (nm)", null=True)
    size_median_nm = models.FloatField(verbose_name="Size median (nm)", null=True)
    small_ev_fraction = models.FloatField(null=True)
    provenance = models.JSONField(default=dict, help_text="{figure: [measurement ids]}")
    computed_at = models.DateTimeField(db_index=True)

    class Meta:
        # The dashboards' cache version: newest stamp and newest row of the user's labs, read from index ends.
        indexes = [
            models.Index(fields=["lab", "computed_at"], name="evlims_metric_lab_computed_idx"),
            models.Index(fields=["lab", "id"], name="evlims_metric_lab_id_idx"),
        ]

    def __str__(self):
        return f"metrics of {self.preparation_id}"


class MetricJob(TimeStampedModel):
    """One recompute, claimed by exactly one worker at a time (pending → running with a conditional UPDATE).

    An incremental job lists its preparations in ``preparation_ids``. A full job covers every preparation of
    its lab (of every lab when ``lab`` is empty) and lists none: when it starts it fans out into incremental
    chunk jobs whose ``parent`` is the full job (``full.chunks``); its ``total`` counts the preparations and
    its ``processed`` sums its chunks' progress.
    """

    class Kind(models.TextChoices):
        INCREMENTAL = "incremental", "Affected preparations"
        FULL = "full", "Full recompute"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    preparation_ids = models.JSONField(default=list, blank=True)
    # Chunks are the full job's own bookkeeping: deleting old full jobs takes their chunks along (a chunk
    # whose parent is gone would pass for a stand-alone incremental job, and PROTECT would block pruning).
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="chunks")
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind} metrics job {self.pk} ({self.status})"
