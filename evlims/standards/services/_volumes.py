"""The uncertainties of volumes and dilutions a spike or a readout carries: entered with what they rest on, or
ISO 8655-2's default for the pipette (standards.yaml ``pipetting``), never both."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from ..pipetting import as_microlitres, default_uncertainty_ul
from ._common import number, text

BOTH = "Give the standard uncertainty or ask for the ISO 8655-2 default, not both."


def _entered(value, field: str, label: str, basis: str) -> tuple[float | None, str]:
    if value is None or value == "":
        return None, ""
    return number(value, field, label=label, allow_zero=True), text(basis, 200)


def _default(volume_ul: float | None, field: str, what: str) -> tuple[float, str]:
    found = None if volume_ul is None else default_uncertainty_ul(volume_ul)
    if found is None:
        held = "no volume" if volume_ul is None else f"{volume_ul:g} µL"
        raise ValidationError({field: f"No pipette of the ISO 8655-2 table holds {what} ({held}): enter the figure."})
    return found.uncertainty_ul, found.basis


def amount_uncertainty_of(amount, amount_unit, uncertainty, basis, use_default) -> tuple[float | None, str]:
    """The spiked amount's standard uncertainty (same unit as the amount) and its basis."""
    field = "amount_uncertainty"
    if use_default:
        if uncertainty not in (None, ""):
            raise ValidationError({field: BOTH})
        volume_ul = as_microlitres(amount, amount_unit)
        if volume_ul is None:
            raise ValidationError(
                {field: "The ISO 8655-2 default is for a volume of the lot (µL, mL): enter the figure."}
            )
        found, why = _default(volume_ul, field, "the spiked volume")
        return found * amount / volume_ul, why
    return _entered(uncertainty, field, "The standard uncertainty of the amount", basis)


def volume_uncertainty_of(final_volume_ul, uncertainty, basis, use_default) -> tuple[float | None, str]:
    """The preparation's final volume's standard uncertainty (µL) and its basis."""
    field = "volume_uncertainty_ul"
    if use_default:
        if uncertainty not in (None, ""):
            raise ValidationError({field: BOTH})
        volume = None if final_volume_ul is None else float(final_volume_ul)
        return _default(volume, field, "the preparation's final volume")
    return _entered(uncertainty, field, "The standard uncertainty of the final volume", basis)


def dilution_of(factor, uncertainty) -> tuple[float, float | None]:
    """The dilution before the reading (1 or more) and its standard uncertainty."""
    factor = 1.0 if factor in (None, "") else number(factor, "dilution_factor", label="The dilution factor")
    if factor < 1:
        raise ValidationError({"dilution_factor": "The dilution factor is 1 (undiluted) or more (10 for 1:10)."})
    if uncertainty in (None, ""):
        return factor, None
    return factor, number(uncertainty, "dilution_uncertainty", label="The dilution's uncertainty", allow_zero=True)
