"""Instruments, their API keys, raw files and ingestions (the record of every post, for idempotency)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from ..core.models import Lab, TimeStampedModel, VersionedModel


class Instrument(TimeStampedModel):
    class Kind(models.TextChoices):
        NTA = "nta", "Nanoparticle tracking (NanoSight)"
        ZETAVIEW = "zetaview", "ZetaView"
        PLATE_READER = "plate_reader", "Plate reader"
        FLOW = "flow", "Flow cytometer"
        TRPS = "trps", "TRPS"
        MICROSCOPE = "microscope", "Electron microscope"
        OTHER = "other", "Other"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="instruments")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    model_name = models.CharField(max_length=120, blank=True)
    serial_number = models.CharField(max_length=80, blank=True)
    software_version = models.CharField(max_length=80, blank=True)
    column_mapping = models.JSONField(default=dict, blank=True, help_text="Saved generic CSV/Excel column mapping.")
    # A folder the instrument PC drops its exports in (under the site's EVLIMS_WATCH_ROOT); empty: not watched.
    watch_folder = models.CharField(max_length=500, blank=True)
    watch_format = models.CharField(max_length=20, blank=True, default="auto")
    watch_read = models.CharField(
        max_length=120, blank=True, help_text="The absorbance plate to read (Gen5, EnVision)."
    )
    watch_plate_layout = models.ForeignKey(
        "PlateLayout", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["lab", "name"]
        constraints = [models.UniqueConstraint(fields=["lab", "name"], name="evlims_instrument_name_unique")]

    def __str__(self):
        return self.name


class InstrumentApiKey(TimeStampedModel):
    """A credential for one instrument. Only a SHA-256 of the key is stored; the key is shown once.

    Keys are 256-bit random tokens, so a fast hash is enough (no dictionary to attack).
    """

    class Scope(models.TextChoices):
        RESULTS_WRITE = "results:write", "Post results"
        READ = "read", "Read"

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="api_keys")
    label = models.CharField(max_length=120, blank=True)
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part of the key, for lookup and display.")
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.instrument} key {self.prefix}…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


def _raw_path(instance, filename):
    return f"evlims/raw/{instance.lab_id}/{instance.sha256[:2]}/{instance.sha256}"


class RawFile(TimeStampedModel):
    """An instrument file exactly as received, stored before anything is parsed."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="raw_files")
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120, blank=True)
    size_bytes = models.PositiveBigIntegerField()
    file = models.FileField(upload_to=_raw_path, max_length=300)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["lab", "sha256"], name="evlims_raw_file_unique_per_lab")]

    def __str__(self):
        return self.original_name


class Ingestion(TimeStampedModel):
    """One post of results (JSON or file). Its key makes a retry return the first answer."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PREVIEW = "preview", "Parsed, awaiting confirmation"
        COMMITTED = "committed", "Committed"
        FAILED = "failed", "Failed"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="ingestions")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    client = models.CharField(max_length=40, help_text="'instrument:<id>' or 'user:<id>': whose keys these are.")
    idempotency_key = models.CharField(max_length=120, blank=True)
    external_run_id = models.CharField(max_length=120, blank=True)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the request body, to spot key reuse.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    raw_file = models.ForeignKey(RawFile, on_delete=models.PROTECT, null=True, blank=True, related_name="ingestions")
    # The name this upload came with: identical bytes share one RawFile, but each upload keeps its own name.
    uploaded_name = models.CharField(max_length=255, blank=True)
    parsed = models.JSONField(default=dict, blank=True, help_text="Parser output, as shown in the preview.")
    response = models.JSONField(default=dict, blank=True, help_text="The answer given, replayed on retry.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        # The ingestion list reads a lab's uploads and posts newest first, page by page.
        indexes = [models.Index(fields=["lab", "created_at", "id"], name="evlims_ingest_lab_created_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="evlims_ingestion_idempotency_key_unique",
            ),
            models.UniqueConstraint(
                fields=["instrument", "external_run_id"],
                condition=~Q(external_run_id=""),
                name="evlims_ingestion_external_run_unique",
            ),
        ]

    def __str__(self):
        return f"ingestion {self.pk} ({self.status})"


class PlateLayout(VersionedModel):
    """Which wells of a plate hold standards (with their concentration), blanks and samples (with their label): a
    lab's reusable plate map for BCA plates, optionally tied to one instrument. Never deleted: retired.

    ``wells`` is {well: {"role": "standard", "ug_per_ml": 2000} | {"role": "blank"} | {"role": "sample", "name":
    "EV 1"[, "dilution_factor": 2]}}, row by row, empty wells left out (``instruments.layouts``)."""

    class Format(models.IntegerChoices):
        WELLS_96 = 96, "96 wells (8 × 12)"
        WELLS_384 = 384, "384 wells (16 × 24)"

    class Fit(models.TextChoices):
        LINEAR = "linear", "Linear"
        QUADRATIC = "quadratic", "Quadratic"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="plate_layouts")
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, null=True, blank=True, related_name="plate_layouts"
    )
    name = models.CharField(max_length=120)
    plate_format = models.PositiveSmallIntegerField(choices=Format.choices, default=Format.WELLS_96)
    fit = models.CharField(max_length=10, choices=Fit.choices, default=Fit.LINEAR)
    wells = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    retired_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["lab", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lab", "name"],
                condition=Q(retired_at__isnull=True),
                name="evlims_plate_layout_name_unique",
                violation_error_message="A plate layout of this lab in use has this name.",
            )
        ]

    def __str__(self):
        return self.name


class WatchedFile(TimeStampedModel):
    """One version (name, size, modification time) of a file seen in an instrument's watched folder, and what became
    of it: waiting until it is completely written, ingested, a duplicate of content already received, or failed
    with its reason. Nothing in the folder is ever moved or deleted; these records are how a file is taken once."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting until completely written"
        INGESTED = "ingested", "Ingested"
        DUPLICATE = "duplicate", "Duplicate, not ingested again"
        FAILED = "failed", "Failed"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="+")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="watched_files")
    name = models.CharField(max_length=255, help_text="The file's name in the watched folder.")
    size_bytes = models.PositiveBigIntegerField()
    modified_ns = models.BigIntegerField(help_text="Modification time as the folder reports it (ns since 1970).")
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING, db_index=True)
    ingestion = models.ForeignKey(Ingestion, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "name", "size_bytes", "modified_ns"], name="evlims_watched_file_version_unique"
            )
        ]
        indexes = [models.Index(fields=["lab", "sha256"], name="evlims_watched_file_hash_idx")]

    def __str__(self):
        return f"{self.name} ({self.status})"
