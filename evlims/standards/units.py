"""The units of reference materials, spikes and readouts, checked and converted with Pint (pure; no Django).

A registry of its own, with the few units the lab writes: volumes (L, mL, µL), masses (g, mg, µg, ng, pg) and
three counted kinds that never convert into each other (particles, RNA copies, flow events). A lot's assigned
value is a concentration (an amount per volume); a spike is an amount or a volume of the lot; a tracer readout
is an amount or a concentration in the preparation.
"""

from __future__ import annotations

import pint

DEFINITIONS = """
micro- = 1e-6 = µ- = u-
milli- = 1e-3 = m-
nano- = 1e-9 = n-
pico- = 1e-12 = p-
femto- = 1e-15 = f-
litre = [volume] = L = l = liter
gram = [mass] = g
particle = [particle] = _ = particles
copy = [copies] = _ = copies
event = [event] = _ = events
"""

REGISTRY = pint.UnitRegistry(None)
for _line in DEFINITIONS.strip().splitlines():
    REGISTRY.define(_line)

# The units the forms offer (what the lab writes); the API takes these same spellings.
CONCENTRATION_UNITS = (
    "particles/mL",
    "particles/µL",
    "copies/mL",
    "copies/µL",
    "events/mL",
    "events/µL",
    "pg/mL",
    "ng/mL",
)
AMOUNT_UNITS = ("particles", "copies", "events", "pg", "ng")
VOLUME_UNITS = ("µL", "mL")
SPIKE_UNITS = VOLUME_UNITS + AMOUNT_UNITS
READOUT_UNITS = CONCENTRATION_UNITS + AMOUNT_UNITS
KIND_WORDS = {"[particle]": "particles", "[copies]": "RNA copies", "[event]": "gated events", "[mass]": "a mass"}


class UnitMismatch(ValueError):
    """Units that do not fit together, said in the lab's words."""


def as_quantity(value: float, unit: str, *, what: str):
    try:
        return REGISTRY.Quantity(float(value), REGISTRY.parse_units(str(unit).replace("μ", "µ")))
    except (pint.errors.PintError, AttributeError, TypeError, ValueError, AssertionError) as error:
        raise UnitMismatch(f"{what}: “{unit}” is not a unit evlims knows.") from error


def magnitude_in(quantity, unit: str) -> float:
    return float(quantity.to(REGISTRY.parse_units(unit.replace("μ", "µ"))).magnitude)


def amount_unit_of(concentration_unit: str) -> str:
    """The amount unit of a concentration unit: particles for particles/mL, pg for pg/mL."""
    return as_amount(as_quantity(1.0, concentration_unit, what="The unit"), concentration_unit)


def as_amount(concentration, what: str) -> str:
    """The amount (numerator) unit of a concentration quantity; refuses anything that is not amount/volume."""
    amount = concentration * REGISTRY.Quantity(1.0, "mL")
    for unit in AMOUNT_UNITS:
        if amount.dimensionality == REGISTRY.Quantity(1.0, unit).dimensionality:
            return unit
    raise UnitMismatch(f"{what} must be a concentration (an amount per volume, e.g. particles/mL).")


def kind_words(unit: str) -> str:
    """What a unit counts, in words: particles, RNA copies, gated events, a mass."""
    quantity = as_quantity(1.0, unit, what="The unit")
    for dimension, words in KIND_WORDS.items():
        if dimension in str(quantity.dimensionality):
            return words
    return str(unit)


def check_compatible(*, lot_unit: str, unit: str, what: str, allow_volume: bool) -> None:
    """Refuse ``unit`` unless it measures what the lot measures (its amount, or its concentration) or, when
    ``allow_volume``, a volume of the lot."""
    amount = amount_unit_of(lot_unit)
    given = as_quantity(1.0, unit, what=what)
    fits = {as_quantity(1.0, amount, what=what).dimensionality, as_quantity(1.0, lot_unit, what=what).dimensionality}
    if allow_volume:
        fits.add(REGISTRY.Quantity(1.0, "mL").dimensionality)
    if given.dimensionality not in fits:
        raise UnitMismatch(
            f"{what} is in {unit} ({kind_words(unit)}) but the lot's assigned value is in {lot_unit}"
            f" ({kind_words(lot_unit)}): give it in {amount} or {lot_unit}"
            + (" or as a volume of the lot (µL, mL)." if allow_volume else ".")
        )
