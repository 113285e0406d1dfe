"""Calibration against a published bead set, the Mie scatter model, and gate arithmetic.

Bead set: Spherotech RCP-30-5A (Rainbow calibration particles, 8 peaks), lots AG01, AF02, AD04 and AAE01, MEFL
and MEPE values assigned by the manufacturer (Spherotech data sheet RCP-30-5A rev H, 2012, as quoted in FlowCal's
MEF tutorial, Castillo-Hair et al., ACS Synth Biol 2016). The instrument's response is a power law in log-log
space with 1 % bead-to-bead noise; the fit must return every bead's assigned value from its median."""

import numpy as np
import pytest

from evlims.cytometry.calibration import (
    CalibrationError,
    calibrated_columns,
    cross_sections,
    fit_fluorescence,
    fit_scatter,
    to_diameter,
    to_fluorescence_units,
)
from evlims.cytometry.gating import Gate, GateError, apply_gates, check_gates, concentration, density

RCP_30_5A_MEFL = [0, 792, 2079, 6588, 16471, 47497, 137049, 271647]
RCP_30_5A_MEPE = [0, 531, 1504, 4819, 12506, 36159, 109588, 250892]


@pytest.mark.parametrize("assigned", [RCP_30_5A_MEFL, RCP_30_5A_MEPE])
def test_fluorescence_fit_returns_the_assigned_values_of_the_bead_set(assigned):
    rng = np.random.default_rng(7)
    slope, intercept = 1.08, 0.35  # log10(MEF) = 0.35 + 1.08 log10(a.u.)
    medians = [
        10 ** ((np.log10(v) - intercept) / slope) * (1 + 0.01 * rng.standard_normal()) if v else 12.0 for v in assigned
    ]
    fit = fit_fluorescence(medians, assigned)
    assert fit["slope"] == pytest.approx(slope, abs=0.02) and fit["intercept"] == pytest.approx(intercept, abs=0.1)
    assert fit["r_squared"] > 0.999 and len(fit["points"]) == 7  # the blank bead is left out
    back = to_fluorescence_units(np.array(medians[1:]), fit)
    assert back == pytest.approx(assigned[1:], rel=0.03)


def test_fluorescence_fit_needs_three_beads():
    with pytest.raises(CalibrationError, match="three bead populations"):
        fit_fluorescence([0, 10, 20], [0, 792, 2079])


def test_mie_cross_section_grows_with_size_and_index():
    small, large = cross_sections([100, 200], refractive_index=1.59, medium_index=1.333, wavelength_nm=488)
    assert 20 < large / small < 64  # near the Rayleigh d⁶ limit (64) at 100–200 nm, below it as Mie sets in
    ev = cross_sections([100], refractive_index=1.40, medium_index=1.333, wavelength_nm=488)[0]
    assert ev < small / 10  # an EV scatters far less than a polystyrene bead of its size


def test_scatter_calibration_reads_an_ev_size_back_from_its_scatter():
    beads = [100, 152, 203, 303]
    factor = 0.8
    sigma = cross_sections(beads, refractive_index=1.59, medium_index=1.333, wavelength_nm=488)
    fit = fit_scatter(
        list(sigma * factor), beads, bead_index=1.59, medium_index=1.333, wavelength_nm=488, particle_index=1.40
    )
    assert fit["factor"] == pytest.approx(factor, rel=1e-6) and fit["residual_log10"] < 1e-6
    ev_sizes = np.array([80.0, 150.0, 400.0])
    scatter = factor * cross_sections(ev_sizes, refractive_index=1.40, medium_index=1.333, wavelength_nm=488)
    assert to_diameter(scatter, fit) == pytest.approx(ev_sizes, rel=0.01)
    # The same scatter as a 100 nm polystyrene bead is a larger EV.
    assert to_diameter(np.array([sigma[0] * factor]), fit)[0] > 150


def test_scatter_fit_refuses_an_impossible_refractive_index():
    with pytest.raises(CalibrationError, match="refractive index 0.5"):
        fit_scatter([1, 2], [100, 200], bead_index=0.5, medium_index=1.333, wavelength_nm=488, particle_index=1.4)


def test_gates_count_percent_positive_and_colocalisation():
    rng = np.random.default_rng(1)
    n = 10_000
    ssc = rng.lognormal(5, 1, n)
    cd9 = np.where(np.arange(n) % 4 == 0, 5000.0, 10.0)  # every 4th event CD9+
    cd63 = np.where(np.arange(n) % 2 == 0, 5000.0, 10.0)  # every 2nd CD63+ (so every 4th is both)
    columns = {"SSC-H": ssc, "FL1-H": cd9, "FL2-H": cd63}
    gates = [
        Gate(name="Particles", x="SSC-H", x_min=0),
        Gate(name="CD9+", x="FL1-H", x_min=1000, marker="CD9", parent="Particles"),
        Gate(name="CD63+", x="FL2-H", x_min=1000, marker="CD63", parent="Particles"),
        Gate(name="CD9+CD63+", x="FL1-H", x_min=1000, y="FL2-H", y_min=1000, marker="CD9+CD63+", parent="Particles"),
    ]
    check_gates(gates, list(columns))
    counts = {c["gate"]: c for c in apply_gates(columns, gates, n)}
    assert counts["Particles"]["events"] == n and counts["Particles"]["parent"] == "All events"
    assert counts["CD9+"]["events"] == 2500 and counts["CD9+"]["percent_of_parent"] == 25.0
    assert counts["CD63+"]["percent_of_parent"] == 50.0
    assert counts["CD9+CD63+"]["events"] == 2500


@pytest.mark.parametrize(
    ("gates", "words"),
    [
        ([], "at least one gate"),
        ([Gate(name="A", x="nope", x_min=1)], "no parameter “nope”"),
        ([Gate(name="A", x="SSC-H", x_min=5, x_max=1)], "not below"),
        ([Gate(name="A", x="SSC-H")], "has no bound"),
        ([Gate(name="A", x="SSC-H", x_min=1, parent="B")], "not a gate listed before"),
        ([Gate(name="A", x="SSC-H", x_min=1), Gate(name="A", x="SSC-H", x_min=2)], "Two gates"),
    ],
)
def test_gates_that_cannot_be_applied_are_refused(gates, words):
    with pytest.raises(GateError, match=words):
        check_gates(gates, ["SSC-H"])


def test_gate_bounds_must_be_numbers():
    with pytest.raises(GateError, match="x min must be a number"):
        Gate.from_dict({"name": "A", "x": "SSC-H", "x_min": "ten"})


def test_concentration_of_the_original_sample_and_why_not():
    assert concentration(50_000, volume_ul=10, dilution=100)[0] == pytest.approx(5e8)
    value, why = concentration(50_000, volume_ul=None, dilution=100)
    assert value is None and "No analysed volume" in why
    assert concentration(5, volume_ul=1, dilution=None)[0] is None


def test_calibrated_columns_and_density():
    events = np.array([[100.0, 10.0], [1000.0, 100.0]], dtype=np.float32)
    fit = {"slope": 1.0, "intercept": 1.0}
    columns = calibrated_columns(events, ["SSC-H", "FL1-H"], {"FL1-H": {"kind": "fluorescence", "fit": fit}})
    assert columns["FL1-H"].tolist() == pytest.approx([100.0, 1000.0])
    grid = density(columns["SSC-H"], columns["FL1-H"], bins=4)
    assert grid["shown"] == 2 and sum(map(sum, grid["counts"])) == 2
