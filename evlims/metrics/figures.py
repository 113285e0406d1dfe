"""The preparation figures: the one catalogue every page, report, chart, table and API answer iterates.

Pure Python (no Django, no pandas), so the pure computations import it as readily as the pages do. Each figure
says what it is called in the lab (``label``, with its ``unit`` beside it), what narrow places call it (chart
axes, dashboard tables, the command-line report: ``short_label``, unit included), how its number is shown, and
which measured quantities it is computed from (``inputs``: the provenance of a stored figure names the
measurements of these quantities). The purity class is listed with them: it is stored and answered with the
figures, but it is a class, not a number.

Places that show only some figures, or show them in another order, take one of the selections at the end of
this module rather than listing keys of their own (tests/test_catalogues.py refuses a list of figure keys
anywhere else).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.numbers import superscript_exponent


@dataclass(frozen=True)
class Figure:
    key: str  # column of PreparationMetrics, of the computed frames and of the API's metrics answer
    label: str  # the lab's words, shown with ``unit`` beside it
    unit: str
    short_label: str  # for charts, dashboard tables and the command line: the unit is part of it
    number_format: str = ".3g"  # format() spec of the shown number (after ``scale``)
    scale: float = 1.0  # shown number = stored value × scale (a fraction shown in %)
    inputs: tuple[str, ...] = ()  # measured quantities the figure is computed from
    numeric: bool = True  # False: a class (text), not a number
    from_size_distribution: bool = False  # computed from the stored size bins, not from the measured values
    # Log-normal (particle counts, concentrations and yields span orders of magnitude): control charts judge and
    # draw it on log10, with geometric limits that are never negative.
    log_normal: bool = False

    def shown(self, value: float) -> str:
        """The stored value as the pages and the reports print it (the unit is printed beside it)."""
        return superscript_exponent(format(value * self.scale, self.number_format))


PARTICLE_YIELD = Figure(
    "particle_yield_per_ml_input",
    "Particle yield",
    "particles per mL of input",
    "Particles per mL input",
    inputs=("particles_per_ml",),
    log_normal=True,
)
PARTICLE_YIELD_PER_CELLS = Figure(
    "particle_yield_per_million_cells",
    "Particle yield per producing cells",
    "particles per 10⁶ cells",
    "Particles per 10⁶ cells",
    inputs=("particles_per_ml", "producing_cells"),
    log_normal=True,
)
PROTEIN_YIELD = Figure(
    "protein_yield_ug_per_ml_input",
    "Protein yield",
    "µg per mL of input",
    "Protein µg per mL input",
    number_format=".2f",
    inputs=("protein_ug_per_ml",),
)
PARTICLES_PER_UG = Figure(
    "particles_per_ug",
    "Particles per µg protein",
    "particles/µg",
    "Particles per µg protein",
    inputs=("particles_per_ml", "protein_ug_per_ml"),
    log_normal=True,
)
PURITY_CLASS = Figure(
    "purity_class",
    "Purity class",
    "",
    "Purity class",
    number_format="",
    inputs=("particles_per_ml", "protein_ug_per_ml", "lipoprotein_readout"),
    numeric=False,
)
RECOVERY = Figure(
    "recovery_pct",
    "Recovery",
    "% of input particles",
    "Recovery (%)",
    number_format=".1f",
    inputs=("particles_per_ml", "input_particles_per_ml"),
)
SIZE_MODE = Figure("size_mode_nm", "Size mode", "nm", "Size mode (nm)", number_format=".1f", inputs=("size_mode_nm",))
SIZE_MEDIAN = Figure(
    "size_median_nm", "Size median (D50)", "nm", "Size median (nm)", number_format=".1f", inputs=("size_median_nm",)
)
SMALL_EV_FRACTION = Figure(
    "small_ev_fraction",
    "Small-EV fraction",
    "% of particles",
    "Small-EV fraction",
    number_format=".1f",
    scale=100.0,
    from_size_distribution=True,
)

# Not a stored figure: the spike recovery of a preparation (the mean of its tracer readouts, evlims.standards) is
# read from its readouts when a control chart draws it, so it is kept out of the catalogue of stored figures.
SPIKE_RECOVERY = Figure(
    "spike_recovery_pct",
    "Spike recovery",
    "% of the tracer spiked",
    "Spike recovery (%)",
    number_format=".1f",
)

# Every figure, in the order the preparation page and the API give them.
CATALOGUE: tuple[Figure, ...] = (
    PARTICLE_YIELD,
    PARTICLE_YIELD_PER_CELLS,
    PROTEIN_YIELD,
    PARTICLES_PER_UG,
    PURITY_CLASS,
    RECOVERY,
    SIZE_MODE,
    SIZE_MEDIAN,
    SMALL_EV_FRACTION,
)
BY_KEY: dict[str, Figure] = {figure.key: figure for figure in CATALOGUE}
# The stored numbers (every figure but the purity class).
NUMBERS: tuple[Figure, ...] = tuple(figure for figure in CATALOGUE if figure.numeric)
NUMBER_KEYS: tuple[str, ...] = tuple(figure.key for figure in NUMBERS)
# The numbers computed from a preparation's measured values (the small-EV fraction comes from its size bins).
FROM_VALUES: tuple[Figure, ...] = tuple(figure for figure in NUMBERS if not figure.from_size_distribution)
# {figure: measured quantities} for every figure computed from measured values, the purity class included.
INPUTS: dict[str, tuple[str, ...]] = {figure.key: figure.inputs for figure in CATALOGUE if figure.inputs}

# -- selections: the figures a place shows, in its order -------------------------------------------------------

# The two figures the dashboards follow: how much material a method gives and how clean it is.
YIELD = PARTICLE_YIELD.key
PURITY = PARTICLES_PER_UG.key
TRACKED: tuple[str, ...] = (YIELD, PURITY)
# The dashboards' summaries and comparison tables: the tracked two first.
DASHBOARD: tuple[Figure, ...] = (
    PARTICLE_YIELD,
    PARTICLES_PER_UG,
    PROTEIN_YIELD,
    PARTICLE_YIELD_PER_CELLS,
    RECOVERY,
    SIZE_MODE,
    SIZE_MEDIAN,
    SMALL_EV_FRACTION,
)
# The compliance page and report of a preparation: purity first.
COMPLIANCE_REPORT: tuple[Figure, ...] = (
    PARTICLES_PER_UG,
    PARTICLE_YIELD,
    PROTEIN_YIELD,
    RECOVERY,
    SIZE_MODE,
    SIZE_MEDIAN,
    SMALL_EV_FRACTION,
)
# The command-line report from a preparations CSV (evlims_metrics): what a CSV of volumes, particles and protein
# can give.
CSV_REPORT: tuple[Figure, ...] = (PARTICLE_YIELD, PROTEIN_YIELD, PARTICLES_PER_UG, PURITY_CLASS)


def short_label(key: str) -> str:
    """The short label of a figure; a column that is not a figure keeps its own name."""
    figure = BY_KEY.get(key)
    return figure.short_label if figure else key


def present(values, selection: tuple[Figure, ...] = NUMBERS) -> list[dict]:
    """The figures of ``selection`` that ``values`` (stored metrics, or anything with the figures as attributes)
    holds, as {"key", "label", "value" (shown), "unit"}; a figure without a value is left out."""
    if values is None:
        return []
    shown = []
    for figure in selection:
        value = getattr(values, figure.key)
        if value is not None:
            shown.append({"key": figure.key, "label": figure.label, "value": figure.shown(value), "unit": figure.unit})
    return shown
