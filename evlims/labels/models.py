"""A lab's label template: the label stock, the printer's resolution, the symbol and the lines printed."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from ..core.models import Lab, VersionedModel
from . import zpl


class LabelTemplate(VersionedModel):
    """How the lab's thermal printer labels an aliquot (one template per lab; the defaults until an admin saves
    one). ``fields`` lists the human-readable lines in the order printed (``FIELDS``)."""

    class Symbology(models.TextChoices):
        DATAMATRIX = zpl.DATAMATRIX, zpl.SYMBOLOGIES[zpl.DATAMATRIX]
        QR = zpl.QR, zpl.SYMBOLOGIES[zpl.QR]

    class Dpi(models.IntegerChoices):
        DPI_203 = 203, "203 dpi (8 dots/mm)"
        DPI_300 = 300, "300 dpi (12 dots/mm)"

    SIZE_CHOICES = [(size.key, size.name) for size in zpl.SIZES.values()]
    FIELDS = {
        "code": "Aliquot code",
        "sample": "Sample code",
        "biofluid": "Sample type",
        "volume": "Volume (µL)",
        "collected": "Collection date",
        "position": "Box and position",
    }
    DEFAULT_FIELDS = ["code", "biofluid", "volume", "collected"]

    lab = models.OneToOneField(Lab, on_delete=models.PROTECT, related_name="label_template")
    size = models.CharField("Label size", max_length=20, choices=SIZE_CHOICES, default="cryo-1.28x0.5")
    dpi = models.PositiveSmallIntegerField("Printer resolution", choices=Dpi.choices, default=Dpi.DPI_203)
    symbology = models.CharField("Symbol", max_length=12, choices=Symbology.choices, default=Symbology.DATAMATRIX)
    fields = models.JSONField("Printed lines", default=list)
    printer_host = models.CharField("Printer address", max_length=253, blank=True)
    printer_port = models.PositiveIntegerField(
        "Printer port", default=9100, validators=[MinValueValidator(9100), MaxValueValidator(9109)]
    )

    def __str__(self):
        return f"Label template of {self.lab}"

    @property
    def label_size(self) -> zpl.LabelSize:
        return zpl.SIZES[self.size]

    @property
    def field_names(self) -> list[str]:
        return [self.FIELDS[name] for name in self.fields if name in self.FIELDS]
