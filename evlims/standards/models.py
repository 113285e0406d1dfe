"""Reference-material lots, spikes of them into samples or runs, the tracer read back in the preparations, and
dilution series of counting instruments (docs/standardization.md)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from ..core.models import Lab, TimeStampedModel
from ..instruments.models import Instrument
from ..isolation.models import EVPreparation, IsolationRun
from ..samples.models import Aliquot
from .units import CONCENTRATION_UNITS, READOUT_UNITS, SPIKE_UNITS

UNIT_CHOICES = [(unit, unit) for unit in CONCENTRATION_UNITS]
SPIKE_UNIT_CHOICES = [(unit, unit) for unit in SPIKE_UNITS]
READOUT_UNIT_CHOICES = [(unit, unit) for unit in READOUT_UNITS]


class CurrentVersions(models.Manager):
    """Current records only: what recoveries, summaries, charts and lists count. Superseded and voided versions
    are read through ``all_versions`` (history)."""

    def get_queryset(self):
        return super().get_queryset().filter(status=Status.CURRENT)


class Status(models.TextChoices):
    CURRENT = "current", "Current"
    SUPERSEDED = "superseded", "Superseded by a correction"
    VOIDED = "voided", "Voided"


class Versioned(models.Model):
    """A record that is never edited in place: a correction is a new record whose ``supersedes`` names the old
    one (then marked superseded); a voided record stays, marked void. Both keep the reason, when and who."""

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CURRENT, db_index=True)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    status_reason = models.TextField(blank=True, help_text="Why the record was corrected or voided.")
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    # The first manager declared is the default one: reverse relations and lists count current records only.
    objects = CurrentVersions()
    all_versions = models.Manager()  # noqa: DJ012 - every version: current, superseded and voided (history)

    class Meta:
        abstract = True


class Readout(models.TextChoices):
    FLUORESCENT_NTA = "fluorescent_nta", "Fluorescent NTA count"
    GFP_ELISA = "gfp_elisa", "GFP ELISA"
    RT_QPCR = "rt_qpcr", "RT-qPCR copies"
    NANOFLOW = "nanoflow", "Nano-flow gated count"


class ReferenceMaterialLot(TimeStampedModel):
    """A lot of a reference material (e.g. recombinant EVs, rEV) with its assigned value and standard
    uncertainty, as the certificate gives them."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="reference_lots")
    material = models.CharField(max_length=120, help_text="e.g. rEV (recombinant GFP EVs), Geeurickx et al. 2019")
    lot_number = models.CharField(max_length=60)
    supplier = models.CharField(max_length=120, blank=True)
    readout = models.CharField(max_length=20, choices=Readout.choices)
    assigned_value = models.FloatField(help_text="The lot's assigned concentration, in the unit below.")
    assigned_uncertainty = models.FloatField(
        verbose_name="Standard uncertainty", help_text="Standard uncertainty (k=1) of the assigned value, same unit."
    )
    unit = models.CharField(max_length=20, choices=UNIT_CHOICES)
    expires_on = models.DateField(null=True, blank=True)
    storage = models.CharField(max_length=200, blank=True, help_text="e.g. −80 °C, single-use 10 µL vials")
    certificate = models.CharField(max_length=200, blank=True, help_text="Certificate or value assignment reference.")

    class Meta:
        ordering = ["lab", "material", "lot_number"]
        constraints = [
            models.UniqueConstraint(fields=["lab", "material", "lot_number"], name="evlims_reflot_unique"),
            models.CheckConstraint(condition=Q(assigned_value__gt=0), name="evlims_reflot_value_positive"),
            models.CheckConstraint(condition=Q(assigned_uncertainty__gte=0), name="evlims_reflot_u_nonnegative"),
        ]

    def __str__(self):
        return f"{self.material} lot {self.lot_number}"


class Spike(Versioned, TimeStampedModel):
    """An amount of a lot added to a sample aliquot or to the inputs of an isolation run (then the amount is
    what went into each input)."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="spikes")
    lot = models.ForeignKey(ReferenceMaterialLot, on_delete=models.PROTECT, related_name="spikes")
    aliquot = models.ForeignKey(Aliquot, on_delete=models.PROTECT, null=True, blank=True, related_name="spikes")
    run = models.ForeignKey(IsolationRun, on_delete=models.PROTECT, null=True, blank=True, related_name="spikes")
    amount = models.FloatField(help_text="A volume of the lot, or an amount in the lot's own unit.")
    amount_unit = models.CharField(max_length=20, choices=SPIKE_UNIT_CHOICES)
    amount_uncertainty = models.FloatField(
        null=True, blank=True, help_text="Standard uncertainty (k=1) of the amount, same unit: e.g. the pipetting."
    )
    amount_uncertainty_basis = models.CharField(max_length=200, blank=True, help_text="Where that figure comes from.")
    matrix = models.CharField(max_length=80, help_text="What the lot was spiked into, e.g. blood plasma.")
    spiked_at = models.DateTimeField()
    spiked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-spiked_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(aliquot__isnull=False) & Q(run__isnull=True))
                | (Q(aliquot__isnull=True) & Q(run__isnull=False)),
                name="evlims_spike_one_target",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="evlims_spike_amount_positive"),
        ]

    def __str__(self):
        target = self.aliquot.barcode if self.aliquot_id else self.run.code
        return f"{self.amount:g} {self.amount_unit} of {self.lot} into {target}"


class TracerReadout(Versioned, TimeStampedModel):
    """The tracer of a spike measured in a preparation made from the spiked aliquot or run."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="tracer_readouts")
    spike = models.ForeignKey(Spike, on_delete=models.PROTECT, related_name="readouts")
    preparation = models.ForeignKey(EVPreparation, on_delete=models.PROTECT, related_name="tracer_readouts")
    value = models.FloatField(help_text="Measured in the preparation, in the unit below.")
    standard_uncertainty = models.FloatField(
        null=True, blank=True, help_text="Standard uncertainty (k=1) of the value, same unit; e.g. SD/√n of replicates."
    )
    replicates = models.PositiveSmallIntegerField(default=1)
    unit = models.CharField(max_length=20, choices=READOUT_UNIT_CHOICES)
    dilution_factor = models.FloatField(
        default=1.0, help_text="The preparation was diluted this many times before the reading (1: undiluted)."
    )
    dilution_uncertainty = models.FloatField(
        null=True, blank=True, help_text="Standard uncertainty (k=1) of the dilution factor."
    )
    volume_uncertainty_ul = models.FloatField(
        verbose_name="Final volume uncertainty (µL)",
        null=True,
        blank=True,
        help_text="Standard uncertainty (k=1) of the preparation's final volume, in µL.",
    )
    volume_uncertainty_basis = models.CharField(max_length=200, blank=True, help_text="Where that figure comes from.")
    measured_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-measured_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="evlims_tracer_value_nonnegative"),
            models.CheckConstraint(condition=Q(dilution_factor__gte=1), name="evlims_tracer_dilution_at_least_1"),
        ]

    def __str__(self):
        return f"tracer of {self.spike.lot} in {self.preparation.barcode}"


class DilutionSeries(TimeStampedModel):
    """One preparation counted at several dilutions on one counting instrument."""

    class Technique(models.TextChoices):
        NTA = "nta", "Nanoparticle tracking analysis"
        NANOFLOW = "nanoflow", "Nano-flow cytometry"
        TRPS = "trps", "Tunable resistive pulse sensing"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="dilution_series")
    preparation = models.ForeignKey(EVPreparation, on_delete=models.PROTECT, related_name="dilution_series")
    technique = models.CharField(max_length=12, choices=Technique.choices)
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    measured_at = models.DateTimeField()
    points = models.JSONField(help_text='[{"dilution_factor": 100, "readings": [particles/mL, …]}, …]')
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-measured_at", "-id"]
        verbose_name_plural = "dilution series"

    def __str__(self):
        return f"dilution series of {self.preparation.barcode}"
