"""Spike recovery with its propagated standard uncertainty (pure; no Django).

Amounts are checked and converted with Pint (``units.py``); the numbers carry their standard uncertainty as
``uncertainties`` values, so first-order propagation (GUM, law of propagation of uncertainty) is done by the
library, and the recoveries that share one reference-material lot stay correlated through its assigned value
(a mean over several spikes of one lot does not average the lot's uncertainty away).

recovered = readout x dilution factor x preparation volume (a readout given as a concentration) or the readout x
dilution factor (an amount); spiked = amount x assigned concentration (an amount given as a volume of the lot) or
the amount itself, which then carries the lot's relative uncertainty; recovery = recovered / spiked.

Each input is an uncertain number tagged with what it is (``SOURCES``): the assigned value, the spiked volume
(pipetting), the readout, the dilution factor and the final volume, so the budget of a recovery (how much of its
uncertainty each input gives) is read from the library's error components, not worked out a second time.
"""

from __future__ import annotations

from dataclasses import dataclass

from uncertainties import ufloat

from ..instruments.particles import stock_per_ml
from .units import UnitMismatch, as_amount, as_quantity, magnitude_in


@dataclass(frozen=True)
class Recovery:
    """One recovery: ``value`` and ``uncertainty`` as fractions (0.42 is 42 %), the amounts behind them in
    ``unit`` (the lot's amount unit), and ``problem`` in the lab's words when it could not be computed."""

    value: float | None
    uncertainty: float | None
    spiked: float | None = None
    spiked_uncertainty: float | None = None
    recovered: float | None = None
    recovered_uncertainty: float | None = None
    unit: str = ""
    problem: str = ""
    variable: object = None  # the uncertainties value, for aggregates that keep correlations
    budget: tuple = ()  # BudgetLine per input with an uncertainty, largest first

    @property
    def percent(self) -> float | None:
        return None if self.value is None else 100.0 * self.value

    @property
    def percent_uncertainty(self) -> float | None:
        return None if self.uncertainty is None else 100.0 * self.uncertainty


SOURCES = {
    "lot": "Assigned value of the lot",
    "spike": "Spiked amount (pipetting)",
    "readout": "Tracer readout",
    "dilution": "Dilution before the reading",
    "volume": "Final volume of the preparation",
}


@dataclass(frozen=True)
class BudgetLine:
    """One input's part of a recovery's standard uncertainty: ``contribution`` is |∂R/∂x| · u(x) (a fraction, as
    the recovery), ``share`` its part of the variance (the shares add up to 1)."""

    source: str
    label: str
    contribution: float
    share: float


def budget(ratio) -> tuple:
    """The uncertainty budget of an uncertain result, from the library's error components: one line per tagged
    input, largest first (inputs of the same kind, e.g. two lots, are added in quadrature)."""
    components = getattr(ratio, "error_components", lambda: {})()
    by_source: dict = {}
    for variable, contribution in components.items():
        source = (variable.tag or "").split(" ", 1)[0]
        by_source[source] = by_source.get(source, 0.0) + contribution**2
    total = sum(by_source.values())
    lines = [
        BudgetLine(source, SOURCES.get(source, source), variance**0.5, variance / total if total else 0.0)
        for source, variance in by_source.items()
        if variance > 0
    ]
    return tuple(sorted(lines, key=lambda line: -line.contribution))


def lot_value(assigned: float, uncertainty: float | None, *, tag: str = ""):
    """The lot's assigned value as an uncertain number (its standard uncertainty, 0 when not given); one per
    lot, shared by every spike of it."""
    return _uncertain(assigned, uncertainty, tag)


def _uncertain(value, uncertainty, tag: str = ""):
    """An uncertain number, or the plain number when its uncertainty is 0 or not given (a zero-width
    uncertain number only draws warnings from the library)."""
    if not uncertainty:
        return float(value)
    return ufloat(float(value), float(uncertainty), tag or None)


def nominal(number) -> float:
    return float(getattr(number, "nominal_value", number))


def std_dev(number) -> float:
    return float(getattr(number, "std_dev", 0.0))


def relative(value: float | None, uncertainty: float | None, tag: str):
    """1 ± u/value, tagged: a volume's relative uncertainty as a factor (1 when none is given). One per physical
    act: readouts of one preparation share its final volume, and its pipetting of the spike."""
    if not value or not uncertainty:
        return 1.0
    return _uncertain(1.0, float(uncertainty) / float(value), tag)


def spiked_amount(*, lot, lot_unit: str, amount: float, amount_unit: str, pipetting=1.0):
    """The spiked amount as an uncertain number in the lot's amount unit, and that unit's name; ``pipetting`` (a
    ``relative`` factor) carries the amount's own standard uncertainty besides the lot's."""
    concentration = as_quantity(1.0, lot_unit, what="The lot's assigned value")
    amount_unit_name = as_amount(concentration, "The lot's assigned value")
    given = as_quantity(amount, amount_unit, what="The spiked amount")
    pipetted = pipetting
    if given.check("[volume]"):
        return lot * pipetted * magnitude_in(given * concentration, amount_unit_name), amount_unit_name
    if given.dimensionality != concentration.units.dimensionality * _volume_dim():
        raise UnitMismatch(
            f"The spiked amount is in {amount_unit} but the lot's assigned value is in {lot_unit}: give the amount"
            f" as a volume of the lot (µL, mL) or in {amount_unit_name}."
        )
    # The amount was worked out from the assigned value, so it keeps the lot's relative uncertainty and its
    # correlation with the other spikes of the lot.
    return lot * pipetted * (magnitude_in(given, amount_unit_name) / nominal(lot)), amount_unit_name


def recovered_amount(
    *,
    value: float,
    uncertainty: float | None,
    unit: str,
    amount_unit: str,
    volume_ul: float | None,
    volume_factor=1.0,
    dilution_factor: float = 1.0,
    dilution_uncertainty: float | None = None,
):
    """The tracer found in the preparation, as an uncertain number in ``amount_unit``: the reading times the
    dilution factor, times the final volume for a concentration."""
    readout = as_quantity(1.0, unit, what="The tracer readout")
    wanted = as_quantity(1.0, amount_unit, what="The spiked amount")
    # The dilution is applied as every reading's is (``stock_per_ml``); its uncertainty is the relative factor
    # 1 ± u(f)/f, the same to first order as multiplying by f ± u(f).
    factor = dilution_factor or 1.0
    in_preparation = stock_per_ml(_uncertain(value, uncertainty, "readout"), factor)
    spread = relative(factor, dilution_uncertainty, "dilution")
    number = in_preparation * spread
    if readout.dimensionality == wanted.dimensionality:
        return number * magnitude_in(readout, amount_unit)
    if readout.dimensionality == wanted.dimensionality / _volume_dim():
        if volume_ul is None:
            raise UnitMismatch(
                "The tracer readout is a concentration and the preparation has no final volume: record the"
                " preparation's final volume (µL), or give the readout as an amount."
            )
        total = readout * as_quantity(float(volume_ul), "µL", what="The final volume")
        return number * volume_factor * magnitude_in(total, amount_unit)
    raise UnitMismatch(
        f"The tracer readout is in {unit} but the spike was in {amount_unit}: a readout of this lot is given in"
        f" {amount_unit} or {amount_unit} per volume (e.g. {amount_unit}/mL)."
    )


def recovery(
    *,
    lot,
    lot_unit: str,
    amount: float,
    amount_unit: str,
    readout: float,
    readout_uncertainty: float | None,
    readout_unit: str,
    volume_ul: float | None,
    amount_uncertainty: float | None = None,
    volume_uncertainty_ul: float | None = None,
    dilution_factor: float = 1.0,
    dilution_uncertainty: float | None = None,
    pipetting=None,
    volume_factor=None,
) -> Recovery:
    """recovered / spiked with its propagated standard uncertainty and its budget; a unit mismatch or a missing
    volume comes back as ``problem`` (in words), never as an exception. ``pipetting`` and ``volume_factor`` are
    the shared factors of ``relative`` when the caller keeps them per act; otherwise they are made from the
    uncertainties given."""
    if pipetting is None:
        pipetting = relative(amount, amount_uncertainty, "spike")
    if volume_factor is None:
        volume_factor = relative(volume_ul, volume_uncertainty_ul, "volume")
    try:
        spiked, unit = spiked_amount(
            lot=lot, lot_unit=lot_unit, amount=amount, amount_unit=amount_unit, pipetting=pipetting
        )
        recovered = recovered_amount(
            value=readout,
            uncertainty=readout_uncertainty,
            unit=readout_unit,
            amount_unit=unit,
            volume_ul=volume_ul,
            volume_factor=volume_factor,
            dilution_factor=dilution_factor,
            dilution_uncertainty=dilution_uncertainty,
        )
    except UnitMismatch as error:
        return Recovery(None, None, problem=str(error))
    if nominal(spiked) <= 0:
        return Recovery(None, None, problem="The spiked amount is 0: recovery cannot be computed.")
    ratio = recovered / spiked
    return Recovery(
        nominal(ratio),
        std_dev(ratio),
        nominal(spiked),
        std_dev(spiked),
        nominal(recovered),
        std_dev(recovered),
        unit,
        variable=ratio,
        budget=budget(ratio),
    )


def mean_recovery(recoveries) -> tuple[float | None, float | None]:
    """The mean of several recoveries and its propagated standard uncertainty (correlations through shared lots
    kept); (None, None) when none could be computed."""
    variables = [r.variable for r in recoveries if r.variable is not None]
    if not variables:
        return None, None
    mean = sum(variables) / len(variables)
    return nominal(mean), std_dev(mean)


def _volume_dim():
    return as_quantity(1.0, "mL", what="volume").dimensionality
