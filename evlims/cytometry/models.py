"""Single-EV flow cytometry: FCS acquisitions (the raw file kept, its header and warnings), bead calibrations as
records of their own, and results (gates, counts per gate, concentration of the original sample) linked to the
calibrations they used and, for EV samples, to the preparation's particle result."""

from django.conf import settings
from django.db import models

from ..characterization.models import Measurement
from ..core.models import Lab, TimeStampedModel
from ..instruments.models import Instrument, RawFile
from ..isolation.models import EVPreparation


class FlowCalibration(TimeStampedModel):
    """Beads of assigned values measured on one channel, and the fit that turns the channel into standard units."""

    class Kind(models.TextChoices):
        FLUORESCENCE = "fluorescence", "Fluorescence to MESF/ERF"
        SCATTER = "scatter", "Scatter to diameter (Mie)"

    class Units(models.TextChoices):
        MESF = "MESF", "MESF"
        ERF = "ERF", "ERF"
        MEFL = "MEFL", "MEFL"
        MEPE = "MEPE", "MEPE"
        NM = "nm", "Diameter (nm)"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="flow_calibrations")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    channel = models.CharField(verbose_name="Channel", max_length=60, help_text="The parameter ($PnN) it calibrates.")
    units = models.CharField(max_length=6, choices=Units.choices)
    beads = models.CharField(verbose_name="Beads", max_length=200, help_text="e.g. Spherotech RCP-30-5A")
    lot = models.CharField(verbose_name="Lot", max_length=80, blank=True)
    calibrated_on = models.DateField(verbose_name="Calibrated on")
    measured = models.JSONField(default=list, help_text="Each bead population's median, in the channel's units.")
    assigned = models.JSONField(default=list, help_text="Each population's assigned value (MESF/ERF) or size (nm).")
    optics = models.JSONField(default=dict, blank=True, help_text="Refractive indices and wavelength (scatter).")
    fit = models.JSONField(default=dict)
    raw_file = models.ForeignKey(RawFile, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["lab", "-calibrated_on", "id"]

    def __str__(self):
        return f"{self.name} ({self.channel}, {self.calibrated_on:%Y-%m-%d})"


class FlowAcquisition(TimeStampedModel):
    """One FCS file of one tube: an EV sample or one of the controls MIFlowCyt-EV asks for."""

    class Role(models.TextChoices):
        SAMPLE = "sample", "EV sample"
        BUFFER = "buffer", "Buffer only"
        BUFFER_REAGENTS = "buffer_reagents", "Buffer with reagents"
        UNSTAINED = "unstained", "Unstained sample"
        ISOTYPE = "isotype", "Isotype or FMO control"
        LYSIS = "lysis", "Detergent lysis"
        DILUTION = "dilution", "Serial dilution step"
        BEADS = "beads", "Calibration beads"

    class Status(models.TextChoices):
        QUEUED = "queued", "Events being read"
        READ = "read", "Read"
        FAILED = "failed", "Could not be read"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="flow_acquisitions")
    preparation = models.ForeignKey(
        EVPreparation, on_delete=models.PROTECT, null=True, blank=True, related_name="flow_acquisitions"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.SAMPLE)
    controls = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="control_acquisitions",
        help_text="The EV sample this control was measured for.",
    )
    raw_file = models.ForeignKey(RawFile, on_delete=models.PROTECT, related_name="flow_acquisitions")
    file_name = models.CharField(max_length=255)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    header = models.JSONField(default=dict, blank=True, help_text="What the file says: instrument, parameters, …")
    warnings = models.JSONField(default=list, blank=True)
    instrument_name = models.CharField(verbose_name="Instrument", max_length=200, blank=True)
    acquired_at = models.DateTimeField(verbose_name="Acquired", null=True, blank=True)
    event_count = models.PositiveBigIntegerField(verbose_name="Events", null=True, blank=True)
    volume_ul = models.FloatField(
        verbose_name="Analysed volume (µL)", null=True, blank=True, help_text="Given, or read from $VOL."
    )
    dilution_factor = models.FloatField(verbose_name="Dilution factor", null=True, blank=True)
    density = models.JSONField(default=dict, blank=True, help_text="The density plot's grid, computed when read.")
    # Where the file is shared (MIFlowCyt-EV's data sharing): a public repository, its accession and address.
    data_repository = models.CharField(
        verbose_name="Data repository", max_length=80, blank=True, help_text="e.g. FlowRepository"
    )
    data_accession = models.CharField(
        verbose_name="Accession", max_length=80, blank=True, help_text="e.g. FR-FCM-Z2ZY for FlowRepository"
    )
    data_url = models.URLField(verbose_name="Address of the shared data", max_length=300, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["lab", "created_at", "id"], name="evlims_flowacq_lab_created_idx")]

    def __str__(self):
        return self.file_name


class FlowResult(TimeStampedModel):
    """Gates applied to an acquisition and what they counted. Every count names its gate."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="flow_results")
    acquisition = models.ForeignKey(FlowAcquisition, on_delete=models.PROTECT, related_name="results")
    measurement = models.OneToOneField(
        Measurement, on_delete=models.PROTECT, null=True, blank=True, related_name="flow_result"
    )
    gates = models.JSONField(default=list)
    counts = models.JSONField(default=list, help_text="[{gate, parent, marker, events, percent_of_parent}]")
    particle_gate = models.CharField(verbose_name="Particle gate", max_length=60)
    calibrations = models.ManyToManyField(FlowCalibration, blank=True, related_name="results")
    axes = models.JSONField(default=dict, help_text="{parameter: units}: calibrated units or arbitrary units.")
    source = models.CharField(
        verbose_name="Gates from", max_length=120, default="Drawn in evlims", help_text="or the imported analysis"
    )
    volume_ul = models.FloatField(verbose_name="Analysed volume (µL)", null=True, blank=True)
    dilution_factor = models.FloatField(verbose_name="Dilution factor", null=True, blank=True)
    concentration_per_ml = models.FloatField(
        verbose_name="Concentration (particles/mL of original sample)", null=True, blank=True
    )
    concentration_note = models.CharField(max_length=300, blank=True, help_text="Why there is no concentration.")
    sizes = models.JSONField(default=dict, blank=True, help_text="Size distribution from calibrated scatter.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"flow result {self.pk} of {self.acquisition_id}"
