"""Donors, samples with their pre-analytical record, aliquots, storage and custody."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from ..core.models import Lab, Project, TimeStampedModel, VersionedModel
from .vocabulary import biofluid_choices


class Donor(VersionedModel):
    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Unknown"

    class Consent(models.TextChoices):
        GIVEN = "given", "Given"
        PENDING = "pending", "Pending"
        WITHDRAWN = "withdrawn", "Withdrawn"
        NOT_REQUIRED = "not_required", "Not required"

    AGE_BANDS = ["0-17", "18-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+"]

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="donors")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, null=True, blank=True, related_name="donors")
    code = models.CharField(max_length=40, help_text="Pseudonymous code; never a name or record number.")
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    age_band = models.CharField(max_length=8, choices=[(b, b) for b in AGE_BANDS], blank=True)
    diagnosis = models.CharField(max_length=200, blank=True)
    diagnosis_ontology_id = models.CharField(max_length=40, blank=True, help_text="e.g. DOID:1612 or MONDO:0007254")
    consent_status = models.CharField(max_length=16, choices=Consent.choices, default=Consent.PENDING)
    history = HistoricalRecords()

    class Meta:
        ordering = ["lab", "code"]
        constraints = [models.UniqueConstraint(fields=["lab", "code"], name="evlims_donor_code_unique_per_lab")]

    def __str__(self):
        return self.code


class Anticoagulant(models.TextChoices):
    K2_EDTA = "k2_edta", "K2-EDTA"
    K3_EDTA = "k3_edta", "K3-EDTA"
    CITRATE = "citrate", "Sodium citrate 3.2%"
    ACD_A = "acd_a", "ACD-A"
    HEPARIN = "heparin", "Heparin"
    CLOT_ACTIVATOR = "clot_activator", "Serum clot activator"
    NONE = "none", "No anticoagulant"


class SpinBrake(models.TextChoices):
    ON = "on", "Brake on"
    LOW = "low", "Low brake"
    OFF = "off", "Brake off (coast to a stop)"


class UrineCollection(models.TextChoices):
    FIRST_MORNING = "first_morning", "First morning"
    SECOND_MORNING = "second_morning", "Second morning"
    SPOT = "spot", "Spot / random"
    TIMED_24H = "timed_24h", "Timed 24 h"


class Sample(VersionedModel):
    """A primary specimen as received: the biofluid or conditioned medium plus how it was collected."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="samples")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="samples")
    donor = models.ForeignKey(Donor, on_delete=models.PROTECT, null=True, blank=True, related_name="samples")
    barcode = models.CharField(max_length=40, db_index=True)
    external_id = models.CharField(max_length=80, blank=True, help_text="The collecting site's own id.")
    biofluid = models.CharField(max_length=30, choices=biofluid_choices(), db_index=True)
    volume_ml = models.DecimalField(
        verbose_name="Volume (mL)", max_digits=9, decimal_places=3, help_text="Volume received (mL)."
    )
    collected_at = models.DateTimeField(null=True, blank=True, db_index=True)
    received_at = models.DateTimeField(null=True, blank=True)
    remarks = models.TextField(blank=True)

    # Blood collection and processing (MIBlood-EV)
    tube_type = models.CharField(max_length=80, blank=True, help_text="Manufacturer and product.")
    anticoagulant = models.CharField(max_length=20, choices=Anticoagulant.choices, blank=True)
    needle_gauge = models.PositiveSmallIntegerField(verbose_name="Needle gauge (G)", null=True, blank=True)
    discard_tube = models.BooleanField(
        verbose_name="Discard tube drawn first",
        null=True,
        blank=True,
        help_text="Whether a discard tube was drawn before the EV sample's tube.",
    )
    processing_delay_min = models.PositiveIntegerField(
        verbose_name="Time from collection to first spin (min)",
        null=True,
        blank=True,
        help_text="Minutes from collection to first centrifugation.",
    )
    processing_temperature_c = models.DecimalField(
        verbose_name="Processing temperature (°C)", max_digits=5, decimal_places=1, null=True, blank=True
    )
    prep_spin_g = models.PositiveIntegerField(
        verbose_name="Preparation spin force (× g)",
        null=True,
        blank=True,
        help_text="Plasma/serum preparation spin (× g).",
    )
    prep_spin_min = models.PositiveSmallIntegerField(verbose_name="Preparation spin time (min)", null=True, blank=True)
    prep_spin_count = models.PositiveSmallIntegerField(
        verbose_name="Number of preparation spins", null=True, blank=True
    )
    prep_spin_temperature_c = models.DecimalField(
        verbose_name="Preparation spin temperature (°C)",
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="Temperature of the preparation spins (°C).",
    )
    prep_spin_brake = models.CharField(
        verbose_name="Preparation spin brake",
        max_length=10,
        choices=SpinBrake.choices,
        blank=True,
        help_text="Centrifuge brake of the preparation spins.",
    )
    hemolysis_a414 = models.DecimalField(
        verbose_name="Hemolysis (A414)", max_digits=6, decimal_places=3, null=True, blank=True
    )
    residual_platelets_per_ul = models.PositiveIntegerField(
        verbose_name="Residual platelets (per µL)", null=True, blank=True
    )
    fasting = models.BooleanField(null=True, blank=True)

    # Urine
    urine_collection = models.CharField(max_length=20, choices=UrineCollection.choices, blank=True)
    pre_cleared = models.BooleanField(null=True, blank=True)
    pre_clearing_g = models.PositiveIntegerField(verbose_name="Pre-clearing spin (× g)", null=True, blank=True)
    urine_normalization = models.CharField(
        verbose_name="Normalisation",
        max_length=80,
        blank=True,
        help_text="How amounts are normalised, e.g. creatinine, specific gravity.",
    )
    protease_inhibitors = models.BooleanField(
        verbose_name="Protease inhibitors added",
        null=True,
        blank=True,
        help_text="Whether protease inhibitors were added at collection.",
    )

    # Storage before aliquoting
    storage_temperature_c = models.DecimalField(
        verbose_name="Storage temperature (°C)", max_digits=5, decimal_places=1, null=True, blank=True
    )
    storage_duration_days = models.DecimalField(
        verbose_name="Storage time before isolation (days)",
        max_digits=8,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="Days stored before EV isolation; empty: from collection to the isolation start.",
    )

    # Tissue
    tissue_mass_mg = models.DecimalField(
        verbose_name="Tissue mass (mg)",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Tissue mass processed (mg).",
    )

    # Cell-culture conditioned medium
    cell_line = models.CharField(max_length=80, blank=True)
    cell_line_cellosaurus = models.CharField(max_length=20, blank=True, help_text="e.g. CVCL_0030")
    passage = models.PositiveSmallIntegerField(null=True, blank=True)
    culture_medium = models.CharField(max_length=80, blank=True)
    serum_supplement = models.CharField(max_length=80, blank=True, help_text="e.g. 10% FBS")
    serum_percent = models.DecimalField(
        verbose_name="Serum in the medium (%)",
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Serum in the conditioning medium (%); 0 if serum-free.",
    )
    serum_ev_depleted = models.BooleanField(verbose_name="Serum EV-depleted", null=True, blank=True)
    serum_ev_depletion_method = models.CharField(max_length=120, blank=True)
    conditioning_time_h = models.DecimalField(
        verbose_name="Conditioning time (h)", max_digits=6, decimal_places=1, null=True, blank=True
    )
    cell_count_at_harvest = models.PositiveBigIntegerField(null=True, blank=True)
    viability_pct_at_harvest = models.DecimalField(
        verbose_name="Viability at harvest (%)", max_digits=5, decimal_places=1, null=True, blank=True
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-collected_at", "-id"]
        indexes = [
            models.Index(fields=["lab", "biofluid", "collected_at"], name="evlims_sample_lab_fluid_idx"),
            models.Index(fields=["project", "collected_at"], name="evlims_sample_project_idx"),
            # The sample list reads a lab's samples by collection time, page by page (id breaks ties).
            models.Index(fields=["lab", "collected_at", "id"], name="evlims_sample_lab_coll_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["lab", "barcode"], name="evlims_sample_barcode_unique_per_lab"),
            models.CheckConstraint(condition=Q(volume_ml__gt=0), name="evlims_sample_volume_positive"),
            models.CheckConstraint(
                condition=Q(viability_pct_at_harvest__isnull=True)
                | Q(viability_pct_at_harvest__gte=0, viability_pct_at_harvest__lte=100),
                name="evlims_sample_viability_pct",
            ),
        ]

    def __str__(self):
        return self.barcode


class StorageUnit(TimeStampedModel):
    """A node of the storage tree: site → freezer → rack → box. Boxes have a grid of positions."""

    class Kind(models.TextChoices):
        SITE = "site", "Site"
        FREEZER = "freezer", "Freezer"
        RACK = "rack", "Rack"
        BOX = "box", "Box"

    PARENT_KIND = {Kind.FREEZER: Kind.SITE, Kind.RACK: Kind.FREEZER, Kind.BOX: Kind.RACK}

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="storage_units")
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=80)
    temperature_c = models.DecimalField(
        verbose_name="Temperature (°C)", max_digits=5, decimal_places=1, null=True, blank=True
    )
    rows = models.PositiveSmallIntegerField(null=True, blank=True)
    columns = models.PositiveSmallIntegerField(null=True, blank=True)
    path = models.CharField(max_length=400, editable=False, help_text="Site / freezer / rack / box, for display.")

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["lab", "parent", "name"], name="evlims_storage_name_unique_in_parent"),
            models.CheckConstraint(
                condition=~Q(kind="box") | Q(rows__gte=1, columns__gte=1), name="evlims_box_has_grid"
            ),
        ]

    def __str__(self):
        return self.path or self.name


class Aliquot(VersionedModel):
    class Status(models.TextChoices):
        AVAILABLE = "available", "Available"
        CONSUMED = "consumed", "Consumed"
        SHIPPED = "shipped", "Shipped"
        DISPOSED = "disposed", "Disposed"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="aliquots")
    sample = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="aliquots")
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    barcode = models.CharField(max_length=40, db_index=True)
    initial_volume_ul = models.DecimalField(verbose_name="Initial volume (µL)", max_digits=10, decimal_places=1)
    volume_ul = models.DecimalField(verbose_name="Volume (µL)", max_digits=10, decimal_places=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.AVAILABLE, db_index=True)
    box = models.ForeignKey(StorageUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="aliquots")
    position_row = models.PositiveSmallIntegerField(null=True, blank=True)
    position_column = models.PositiveSmallIntegerField(null=True, blank=True)
    freeze_thaw_count = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["barcode"]
        constraints = [
            models.UniqueConstraint(fields=["lab", "barcode"], name="evlims_aliquot_barcode_unique_per_lab"),
            models.CheckConstraint(condition=Q(volume_ul__gte=0), name="evlims_aliquot_volume_not_negative"),
            models.CheckConstraint(
                condition=Q(volume_ul__lte=models.F("initial_volume_ul")),
                name="evlims_aliquot_volume_le_initial",
            ),
            models.UniqueConstraint(
                fields=["box", "position_row", "position_column"],
                condition=Q(box__isnull=False),
                name="evlims_one_tube_per_position",
            ),
            models.CheckConstraint(
                condition=Q(box__isnull=True, position_row__isnull=True, position_column__isnull=True)
                | Q(box__isnull=False, position_row__isnull=False, position_column__isnull=False),
                name="evlims_position_complete",
            ),
        ]

    def __str__(self):
        return self.barcode

    @property
    def position_label(self) -> str:
        if self.box_id is None:
            return ""
        return f"{chr(ord('A') + self.position_row - 1)}{self.position_column}"


class CustodyEvent(models.Model):
    """The timeline of an aliquot: append-only, one row per physical event."""

    class Kind(models.TextChoices):
        RECEIVED = "received", "Received"
        MOVED = "moved", "Moved"
        THAWED = "thawed", "Thawed"
        ALIQUOTED = "aliquoted", "Aliquoted"
        CONSUMED = "consumed", "Consumed"
        SHIPPED = "shipped", "Shipped"
        DISPOSED = "disposed", "Disposed"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="+")
    aliquot = models.ForeignKey(Aliquot, on_delete=models.PROTECT, related_name="custody_events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    from_location = models.CharField(max_length=400, blank=True)
    to_location = models.CharField(max_length=400, blank=True)
    volume_change_ul = models.DecimalField(
        verbose_name="Volume change (µL)", max_digits=10, decimal_places=1, null=True, blank=True
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["aliquot", "occurred_at"], name="evlims_custody_aliquot_idx")]

    def __str__(self):
        return f"{self.aliquot} {self.kind} {self.occurred_at:%Y-%m-%d %H:%M}"


def _manifest_path(instance, filename):
    return f"evlims/manifests/{instance.lab_id}/{instance.sha256[:2]}/{instance.sha256}"


class ManifestImport(TimeStampedModel):
    """An uploaded sample manifest (CSV/Excel): kept byte for byte, validated, then committed or not."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        VALIDATING = "validating", "Validating"
        INVALID = "invalid", "Has errors"
        VALID = "valid", "Ready to commit"
        COMMITTING = "committing", "Committing"
        COMMITTED = "committed", "Committed"
        FAILED = "failed", "Failed"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    original_name = models.CharField(max_length=255)
    file = models.FileField(upload_to=_manifest_path, max_length=300)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UPLOADED, db_index=True)
    row_count = models.PositiveIntegerField(default=0)
    rows_processed = models.PositiveIntegerField(default=0, help_text="Progress of validation or commit.")
    errors = models.JSONField(default=list, blank=True, help_text="[{row, column, message}]")
    committed_at = models.DateTimeField(null=True, blank=True)
    samples_created = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.original_name
