"""Characterization results of EV preparations: a Measurement row plus one typed detail per kind."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from ..core.models import Lab, TimeStampedModel
from ..instruments.models import Ingestion, Instrument, RawFile
from ..isolation.models import EVPreparation
from ..samples.models import Sample


class CurrentResults(models.Manager):
    """Current results only: what metrics, compliance evidence, exports, dashboards and lists count.

    It is Measurement's default manager, so reverse relations (``preparation.measurements``) and their prefetches,
    which Django builds from the default manager's class, count current results too. History (superseded and
    voided versions) is read through ``Measurement.all_versions``."""

    def get_queryset(self):
        return super().get_queryset().filter(status=Measurement.Status.CURRENT)


class CurrentSizeBins(models.Manager):
    """Size bins of current particle results only (reads join through the analysis to its result)."""

    def get_queryset(self):
        return super().get_queryset().filter(analysis__measurement__status=Measurement.Status.CURRENT)


class Measurement(TimeStampedModel):
    class Kind(models.TextChoices):
        PARTICLE = "particle", "Particle analysis"
        PROTEIN = "protein", "Protein quantification"
        MARKER = "marker", "Marker result"
        IMAGING = "imaging", "Imaging"
        LIPID = "lipid", "Lipid quantification"
        RNA = "rna", "RNA quantification"

    class Status(models.TextChoices):
        CURRENT = "current", "Current"
        SUPERSEDED = "superseded", "Superseded by a correction"
        VOIDED = "voided", "Voided"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="measurements")
    preparation = models.ForeignKey(
        EVPreparation, on_delete=models.PROTECT, null=True, blank=True, related_name="measurements"
    )
    input_sample = models.ForeignKey(
        Sample,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="measurements",
        help_text="Set when the starting material itself was measured (for recovery).",
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    method = models.CharField(max_length=40, help_text="e.g. nta, bca, western_blot, tem")
    measured_at = models.DateTimeField(db_index=True)
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    instrument_name = models.CharField(max_length=120, blank=True)
    software_version = models.CharField(max_length=80, blank=True)
    raw_file = models.ForeignKey(RawFile, on_delete=models.PROTECT, null=True, blank=True, related_name="measurements")
    ingestion = models.ForeignKey(
        Ingestion, on_delete=models.PROTECT, null=True, blank=True, related_name="measurements"
    )
    values = models.JSONField(default=dict, help_text="Headline figures, keyed by name with units in the key.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    # Correction and voiding: a result is never edited in place. A correction is a new Measurement whose
    # ``supersedes`` names the old one (then marked superseded); a voided result stays, marked void. Only
    # current results feed metrics and compliance; reports show the others as superseded or voided.
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CURRENT, db_index=True)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    status_reason = models.TextField(blank=True, help_text="Why the result was corrected or voided.")
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    # The first manager declared is the default one (a Meta option would need a migration).
    objects = CurrentResults()  # the default manager: current results only
    all_versions = models.Manager()  # noqa: DJ012 - every version: current, superseded and voided (history)

    class Meta:
        ordering = ["measured_at", "id"]
        indexes = [
            models.Index(fields=["preparation", "kind"], name="evlims_measurement_prep_idx"),
            # The measurement list reads a lab's results in measurement order, page by page.
            models.Index(fields=["lab", "measured_at", "id"], name="evlims_meas_lab_measured_idx"),
            # Current results of a list of preparations or input samples (the metric recompute): without planner
            # statistics SQLite otherwise walks every result through the index on status alone.
            models.Index(fields=["status", "preparation"], name="evlims_meas_status_prep_idx"),
            models.Index(fields=["status", "input_sample"], name="evlims_meas_status_input_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(preparation__isnull=False) | Q(input_sample__isnull=False),
                name="evlims_measurement_has_subject",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.preparation_id or self.input_sample_id}"


class ParticleAnalysis(models.Model):
    measurement = models.OneToOneField(Measurement, on_delete=models.CASCADE, related_name="particle")
    technique = models.CharField(max_length=20, help_text="nta, zetaview, trps, nanoflow, dls")
    sample_name = models.CharField(max_length=200, blank=True)
    settings = models.JSONField(default=dict, blank=True, help_text="camera level, threshold, temperature…")
    dilution_factor = models.FloatField(null=True, blank=True)
    dilution_applied_in_file = models.BooleanField(null=True, blank=True)
    concentration_per_ml = models.FloatField(
        verbose_name="Concentration (particles/mL)", null=True, blank=True, help_text="Stock, after dilution."
    )
    instrument_average_concentration_per_ml = models.FloatField(
        verbose_name="Instrument's average concentration (particles/mL)", null=True, blank=True
    )
    size_mean_nm = models.FloatField(verbose_name="Mean size (nm)", null=True, blank=True)
    size_mode_nm = models.FloatField(verbose_name="Size mode (nm)", null=True, blank=True)
    size_sd_nm = models.FloatField(verbose_name="Size SD (nm)", null=True, blank=True)
    d10_nm = models.FloatField(verbose_name="D10 (nm)", null=True, blank=True)
    d50_nm = models.FloatField(verbose_name="D50 (nm)", null=True, blank=True)
    d90_nm = models.FloatField(verbose_name="D90 (nm)", null=True, blank=True)
    computed = models.JSONField(default=list, blank=True, help_text="Figures computed here, not read from the file.")
    calibration = models.CharField(
        max_length=200, blank=True, help_text="How the analyser was calibrated, e.g. 100 nm polystyrene beads."
    )

    def __str__(self):
        return f"particles of {self.measurement_id}"


class ParticleCapture(models.Model):
    analysis = models.ForeignKey(ParticleAnalysis, on_delete=models.CASCADE, related_name="captures")
    name = models.CharField(max_length=200)
    concentration_per_ml = models.FloatField(verbose_name="Concentration (particles/mL)", null=True, blank=True)
    valid = models.BooleanField(default=True, help_text="The instrument's own verdict on the capture.")
    invalid_reason = models.CharField(
        max_length=200, blank=True, help_text="Why the instrument marked the capture invalid, as the file says."
    )
    included_in_mean = models.BooleanField(
        default=True, help_text="Counted in the analysis mean; captures marked invalid are left out unless kept."
    )
    size_mean_nm = models.FloatField(verbose_name="Mean size (nm)", null=True, blank=True)
    size_mode_nm = models.FloatField(verbose_name="Size mode (nm)", null=True, blank=True)
    size_sd_nm = models.FloatField(verbose_name="Size SD (nm)", null=True, blank=True)
    d10_nm = models.FloatField(verbose_name="D10 (nm)", null=True, blank=True)
    d50_nm = models.FloatField(verbose_name="D50 (nm)", null=True, blank=True)
    d90_nm = models.FloatField(verbose_name="D90 (nm)", null=True, blank=True)

    class Meta:
        ordering = ["analysis", "id"]

    def __str__(self):
        return self.name


class SizeBin(models.Model):
    analysis = models.ForeignKey(ParticleAnalysis, on_delete=models.CASCADE, related_name="bins")
    bin_center_nm = models.FloatField(
        verbose_name="Bin centre (nm)",
    )
    concentration_per_ml = models.FloatField(
        verbose_name="Concentration (particles/mL)",
    )

    objects = CurrentSizeBins()  # the default manager: bins of current results only
    all_versions = models.Manager()  # noqa: DJ012 - bins of every version

    class Meta:
        ordering = ["analysis", "bin_center_nm"]

    def __str__(self):
        return f"{self.bin_center_nm} nm"


class ProteinQuantification(models.Model):
    measurement = models.OneToOneField(Measurement, on_delete=models.CASCADE, related_name="protein")
    assay = models.CharField(max_length=20, help_text="bca, micro_bca, bradford, qubit")
    concentration_ug_per_ml = models.FloatField(verbose_name="Protein concentration (µg/mL)", null=True, blank=True)
    volume_assayed_ul = models.FloatField(verbose_name="Volume assayed (µL)", null=True, blank=True)
    out_of_range = models.BooleanField(default=False)
    standard_curve = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return f"{self.assay} of {self.measurement_id}"


class MarkerResult(models.Model):
    class Detection(models.TextChoices):
        DETECTED = "detected", "Detected"
        NOT_DETECTED = "not_detected", "Not detected"
        SEMI_QUANTITATIVE = "semi_quantitative", "Semi-quantitative"

    measurement = models.OneToOneField(Measurement, on_delete=models.CASCADE, related_name="marker")
    protein = models.CharField(max_length=30, help_text="HGNC symbol")
    misev_category = models.CharField(max_length=10, blank=True)
    detection = models.CharField(max_length=20, choices=Detection.choices)
    semi_quantitative_value = models.FloatField(null=True, blank=True)
    antibody_clone = models.CharField(max_length=80, blank=True)
    antibody_catalogue = models.CharField(max_length=80, blank=True)
    antibody_dilution = models.CharField(max_length=40, blank=True)
    antibody_supplier = models.CharField(max_length=80, blank=True)
    lysate_buffer = models.CharField(max_length=80, blank=True)
    lysis_protocol = models.CharField(
        max_length=200, blank=True, help_text="How the EVs were lysed, e.g. 10 min on ice in RIPA with sonication."
    )
    lysate_reducing = models.BooleanField(null=True, blank=True, help_text="Reducing sample buffer or not.")
    protein_loaded_ug = models.FloatField(verbose_name="Protein loaded (µg)", null=True, blank=True)
    compared_with_source_lysate = models.BooleanField(null=True, blank=True)
    topology_assay = models.CharField(
        max_length=120, blank=True, help_text="Assay showing where the protein sits, e.g. proteinase K protection."
    )
    topology_component = models.CharField(
        max_length=120, blank=True, help_text="What the assay showed, e.g. luminal, or surface-exposed."
    )

    def __str__(self):
        return f"{self.protein} {self.detection}"


class ImagingResult(models.Model):
    measurement = models.OneToOneField(Measurement, on_delete=models.CASCADE, related_name="imaging")
    technique = models.CharField(max_length=20, help_text="tem, cryo_em, sem, afm, super_resolution")
    wide_field = models.BooleanField(default=False)
    close_up = models.BooleanField(default=False)
    magnification = models.CharField(max_length=40, blank=True)
    images = models.ManyToManyField(RawFile, blank=True, related_name="+")

    def __str__(self):
        return f"{self.technique} of {self.measurement_id}"


class AnalyteQuantification(models.Model):
    """Lipid or RNA quantification: one figure with its assay and unit."""

    measurement = models.OneToOneField(Measurement, on_delete=models.CASCADE, related_name="analyte")
    assay = models.CharField(max_length=60)
    value = models.FloatField()
    unit = models.CharField(max_length=30)

    def __str__(self):
        return f"{self.assay}: {self.value} {self.unit}"
