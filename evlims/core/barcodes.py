"""Barcode issuing. The format is swappable (EVLIMS["BARCODE_GENERATOR"]); uniqueness is not."""

from django.db import transaction

from ..conf import evlims_settings
from .models import BarcodeSequence


def sequential_barcode(prefix: str, number: int) -> str:
    """Default format: PREFIX-0000123 (Code128- and QR-friendly, sorts in issue order)."""
    return f"{prefix}-{number:0{evlims_settings.BARCODE_DIGITS}d}"


@transaction.atomic
def issue_barcodes(prefix: str, count: int = 1) -> list[str]:
    """Reserve ``count`` consecutive numbers for a prefix under a row lock and format them."""
    BarcodeSequence.objects.get_or_create(prefix=prefix)
    sequence = BarcodeSequence.objects.select_for_update().get(prefix=prefix)
    first = sequence.last_value + 1
    sequence.last_value += count
    sequence.save(update_fields=["last_value"])
    generate = evlims_settings.BARCODE_GENERATOR
    return [generate(prefix, number) for number in range(first, first + count)]


def issue_barcode(prefix: str) -> str:
    return issue_barcodes(prefix, 1)[0]
