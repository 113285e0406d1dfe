"""Isolation runs and the EV preparations they produce."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from ..core.models import Lab, Project, TimeStampedModel, VersionedModel
from ..samples.models import Aliquot


class Protocol(TimeStampedModel):
    """A named isolation procedure. Shipped reference protocols have no lab and are visible to every lab."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, null=True, blank=True, related_name="protocols")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.UniqueConstraint(fields=["lab", "slug"], name="evlims_protocol_slug_unique_per_lab"),
            models.UniqueConstraint(
                fields=["slug"], condition=Q(lab__isnull=True), name="evlims_library_protocol_slug_unique"
            ),
        ]

    def __str__(self):
        return self.title


class ProtocolVersion(TimeStampedModel):
    """One immutable version of a protocol: its validated, canonical definition and content hash.

    Only drafts may be replaced; approved and retired versions are frozen (a change is a new version).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved"
        RETIRED = "retired", "Retired"

    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    definition = models.JSONField(help_text="Canonical protocol document (protocols.ProtocolDefinition.to_dict()).")
    source_text = models.TextField(blank=True, help_text="The YAML as written, kept for display and diff.")
    content_hash = models.CharField(max_length=80)
    methods = models.JSONField(default=list)
    misev_class = models.CharField(max_length=80, blank=True)
    from_library = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["protocol__slug", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "version"], name="evlims_protocol_version_unique"),
        ]

    def __str__(self):
        return f"{self.protocol.slug}@{self.version}"

    @property
    def steps(self) -> list[dict]:
        return self.definition.get("steps", [])


class IsolationRun(VersionedModel):
    """A batch of aliquots processed together under one protocol by one operator."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        ABORTED = "aborted", "Aborted"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="isolation_runs")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="isolation_runs")
    code = models.CharField(max_length=40, db_index=True)
    protocol_version = models.ForeignKey(
        ProtocolVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="runs"
    )
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
        # The run list reads a lab's runs newest first, page by page (id breaks ties for keyset cursors).
        indexes = [
            models.Index(fields=["lab", "created_at", "id"], name="evlims_run_lab_created_idx"),
            # The dashboard's recent runs, newest start first: read backwards, no sort of the lab's runs.
            models.Index(fields=["lab", "started_at", "id"], name="evlims_run_lab_started_idx"),
        ]
        # Codes are unique within a lab only: another lab's codes are neither reserved nor revealed.
        constraints = [models.UniqueConstraint(fields=["lab", "code"], name="evlims_run_code_unique_per_lab")]

    def __str__(self):
        return self.code


class RunStep(TimeStampedModel):
    """What was actually done at one protocol step of a run, and how it deviated from the protocol."""

    run = models.ForeignKey(IsolationRun, on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveSmallIntegerField(help_text="1-based position in the protocol's step chain.")
    method = models.CharField(max_length=40)
    observed = models.JSONField(default=dict, help_text="Canonical observed parameters.")
    observed_original = models.JSONField(default=dict, help_text="Parameters as entered, before unit conversion.")
    deviations = models.JSONField(default=list, help_text="Computed against the protocol; never typed.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="evlims_run_step_unique")]

    def __str__(self):
        return f"{self.run} step {self.number}"


class EVSubtype(models.TextChoices):
    """What the preparation is called (MISEV2023 Table 2): generic terms, or biogenesis terms that need evidence."""

    EV = "ev", "Extracellular vesicles (EVs)"
    SMALL_EV = "small_ev", "Small EVs"
    LARGE_EV = "large_ev", "Large EVs"
    EXOSOME = "exosome", "Exosomes"
    ECTOSOME = "ectosome", "Ectosomes"
    MICROVESICLE = "microvesicle", "Microvesicles"
    APOPTOTIC_BODY = "apoptotic_body", "Apoptotic bodies"
    LARGE_ONCOSOME = "large_oncosome", "Large oncosomes"
    EXOMERE = "exomere", "Exomeres"
    OTHER = "other", "Other"


class FunctionalCargo(models.TextChoices):
    SECRETED_PROTEIN = "secreted_protein", "A secreted protein"
    MEMBRANE_PROTEIN = "membrane_protein", "A membrane protein"
    RNA = "rna", "RNA"
    LIPID = "lipid", "A lipid"
    OTHER = "other", "Other"


class FunctionalControl(models.TextChoices):
    VEHICLE = "vehicle", "Vehicle (buffer only)"
    EV_DEPLETED_FRACTION = "ev_depleted_fraction", "EV-depleted fraction"
    NON_EV_FRACTION = "non_ev_fraction", "Non-EV fraction of the same separation"
    DOSE_RESPONSE = "dose_response", "Dose response"
    SOURCE_CELL_CONTROL = "source_cell_control", "Source-cell control"
    OTHER = "other", "Other"


class PreparationState(models.TextChoices):
    """Whether a preparation exists (not stored: its run's status decides). Barcodes are issued when the run is
    planned, so labels can be printed; the preparation is produced when its run is completed."""

    PRODUCED = "produced", "Produced"
    NOT_PRODUCED = "not_produced", "Not produced yet"
    ABORTED = "aborted", "Aborted"


class EVPreparation(VersionedModel):
    """The EV-enriched material obtained from one input aliquot in one run, how it is stored, and what is
    claimed about it."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="preparations")
    run = models.ForeignKey(IsolationRun, on_delete=models.PROTECT, related_name="preparations")
    input_aliquot = models.ForeignKey(Aliquot, on_delete=models.PROTECT, related_name="preparations")
    barcode = models.CharField(max_length=40, db_index=True)
    input_volume_ul = models.DecimalField(verbose_name="Input volume (µL)", max_digits=10, decimal_places=1)
    final_volume_ul = models.DecimalField(
        verbose_name="Final volume (µL)", max_digits=10, decimal_places=1, null=True, blank=True
    )
    buffer = models.CharField(
        verbose_name="Storage buffer", max_length=80, blank=True, help_text="Buffer the EVs are stored in, e.g. PBS."
    )
    storage = models.CharField(
        verbose_name="Storage location",
        max_length=200,
        blank=True,
        help_text="Where it is kept: freezer, box and position.",
    )
    storage_container = models.CharField(
        verbose_name="Storage container",
        max_length=120,
        blank=True,
        help_text="Tube or vial, e.g. 0.5 mL low-binding polypropylene tube.",
    )
    storage_temperature_c = models.DecimalField(
        verbose_name="Storage temperature (°C)",
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="Storage temperature (°C), e.g. -80.",
    )
    storage_duration_days = models.DecimalField(
        verbose_name="Storage time before characterisation (days)",
        max_digits=8,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="Days stored before characterisation; empty: from run completion to the last result.",
    )
    storage_freeze_thaw_cycles = models.PositiveSmallIntegerField(
        verbose_name="Freeze–thaw cycles of the preparation",
        null=True,
        blank=True,
        help_text="Freeze-thaw cycles of the preparation before characterisation.",
    )
    claimed_subtype = models.CharField(
        verbose_name="Called",
        max_length=20,
        choices=EVSubtype.choices,
        blank=True,
        help_text="What the preparation is called.",
    )
    biogenesis_evidence = models.TextField(
        verbose_name="Evidence for the biogenesis term",
        blank=True,
        help_text="How a biogenesis term (exosome, ectosome, microvesicle) is supported.",
    )
    functional_cargo = models.CharField(
        verbose_name="Cargo a function is attributed to",
        max_length=20,
        choices=FunctionalCargo.choices,
        blank=True,
        help_text="Cargo a function is attributed to.",
    )
    functional_studies = models.JSONField(
        default=list, blank=True, help_text="[{assay, readout, dose, controls, notes}] of functional studies."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["barcode"]
        # The preparation list (web and API) reads a lab's preparations newest first, page by page.
        indexes = [models.Index(fields=["lab", "created_at", "id"], name="evlims_prep_lab_created_idx")]
        constraints = [
            models.UniqueConstraint(fields=["lab", "barcode"], name="evlims_prep_barcode_unique_per_lab"),
            models.CheckConstraint(condition=Q(input_volume_ul__gt=0), name="evlims_prep_input_volume_positive"),
            models.CheckConstraint(
                condition=Q(final_volume_ul__isnull=True) | Q(final_volume_ul__gt=0),
                name="evlims_prep_final_volume_positive",
            ),
        ]

    def __str__(self):
        return self.barcode

    @property
    def state(self) -> str:
        """Produced (its run is completed), not produced yet (planned or in progress) or aborted."""
        if self.run.status == IsolationRun.Status.COMPLETED:
            return PreparationState.PRODUCED
        if self.run.status == IsolationRun.Status.ABORTED:
            return PreparationState.ABORTED
        return PreparationState.NOT_PRODUCED

    @property
    def produced(self) -> bool:
        return self.state == PreparationState.PRODUCED

    @property
    def state_label(self) -> str:
        """The state in the lab's words, with the abort reason: "Aborted: column clogged"."""
        label = PreparationState(self.state).label
        if self.state == PreparationState.ABORTED and self.run.abort_reason:
            return f"{label}: {self.run.abort_reason}"
        return label
