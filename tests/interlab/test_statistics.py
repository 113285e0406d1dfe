"""ISO 13528 statistics against hand-computed cases and an independent transcription of Algorithm A.

Sources: the Algorithm A steps of ISO 13528:2022 Annex C.3.1 (identical in the 2015 edition and in ISO 5725-5:1998
Algorithm A); the independent transcription below follows the R package metRology's ``algA`` (S. L. R. Ellison,
GPL ≥ 2, rdrr.io/rforge/metRology/src/R/algAS.r) with ISO's rounded constants 1.483 and 1.134 in place of R's
``mad`` constant 1.4826 and metRology's exact Huber factor. The creosote data are ISO 5725-5:1998's example
quoted in metRology's ``algA`` help page. See docs/interlab.md.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evlims.interlab import statistics as iso

CREOSOTE = [24.140, 20.155, 19.500, 20.300, 20.705, 17.570, 20.100, 20.940, 21.185]


def metrology_alg_a(x, k=1.5, tol=1e-12, maxiter=500):
    """metRology's algA loop, line by line in numpy (while the change of s is above tol·s)."""
    x = np.asarray(x, dtype=float)
    mu = np.median(x)
    s = 1.483 * np.median(np.abs(x - mu))
    ds = s
    n = len(x)
    for _ in range(maxiter):
        if ds <= tol * s:
            break
        old = s
        z = np.minimum(np.maximum(mu - k * s, x), mu + k * s)
        mu = z.mean()
        s = 1.134 * np.sqrt(((z - mu) ** 2).sum() / (n - 1))
        ds = abs(old - s)
    return mu, s


def test_three_results_without_outliers_converge_to_mean_and_1_134_sd():
    # Hand computed: median 2, MAD 1 → s* = 1.483, δ = 2.2245, nothing winsorised → x* = 2, s* = 1.134·1;
    # then δ = 1.701 still winsorises nothing, so x* = 2 and s* = 1.134 are the fixed point.
    robust = iso.algorithm_a([1.0, 2.0, 3.0])
    assert robust.mean == pytest.approx(2.0)
    assert robust.sd == pytest.approx(1.134)


def test_the_first_iteration_winsorises_an_outlier_by_hand():
    # median 12, |xᵢ − 12| = 2, 1, 0, 1, 88 → MAD 1, s* = 1.483, δ = 2.2245: 100 becomes 14.2245.
    first = iso.algorithm_a([10, 11, 12, 13, 100], tolerance=math.inf)
    winsorised = [10, 11, 12, 13, 14.2245]
    assert first.iterations == 1
    assert first.mean == pytest.approx(sum(winsorised) / 5)
    assert first.sd == pytest.approx(1.134 * np.std(winsorised, ddof=1))


def test_creosote_example_matches_the_independent_transcription():
    robust = iso.algorithm_a(CREOSOTE)
    mu, s = metrology_alg_a(CREOSOTE)
    assert robust.mean == pytest.approx(mu, rel=1e-8)
    assert robust.sd == pytest.approx(s, rel=1e-7)
    # To the third significant figure of s* (ISO's convergence criterion): x* = 20.41, s* = 1.07.
    assert round(robust.mean, 2) == pytest.approx(20.41)
    assert round(robust.sd, 2) == pytest.approx(1.07)
    # The gross value 24.140 does not pull the robust mean as it pulls the arithmetic one.
    assert abs(robust.mean - np.median(CREOSOTE)) < abs(np.mean(CREOSOTE) - np.median(CREOSOTE)) + 0.05


def test_the_converged_estimate_is_a_fixed_point():
    robust = iso.algorithm_a(CREOSOTE)
    delta = 1.5 * robust.sd
    clipped = np.clip(CREOSOTE, robust.mean - delta, robust.mean + delta)
    assert clipped.mean() == pytest.approx(robust.mean, rel=1e-8)
    assert 1.134 * clipped.std(ddof=1) == pytest.approx(robust.sd, rel=1e-7)


def test_with_four_results_one_far_value_is_not_winsorised_away():
    # The small-n failure ISO 13528 §5.4 warns of: with p = 4 the 1.134 factor inflates s* at every pass until
    # the far value is inside x* ± 1.5 s*, so x* ends as the plain mean and s* as 1.134·SD. Hence the notes
    # below 12 participants and the advice to take a reference value (and z′) in small rounds.
    values = [5.0, 5.2, 4.9, 9.0]
    robust = iso.algorithm_a(values)
    assert robust.mean == pytest.approx(np.mean(values))
    assert robust.sd == pytest.approx(1.134 * np.std(values, ddof=1))
    assert robust.mean == pytest.approx(metrology_alg_a(values)[0])


@pytest.mark.parametrize("values", [[], [5.0], [5.0, 6.0]])
def test_algorithm_a_refuses_fewer_than_three_results(values):
    with pytest.raises(iso.StatisticsError, match="at least 3 results"):
        iso.algorithm_a(values)


def test_algorithm_a_refuses_data_without_spread():
    with pytest.raises(iso.StatisticsError, match="identical"):
        iso.algorithm_a([4.0, 4.0, 4.0, 4.1])


def test_algorithm_a_refuses_non_numbers():
    with pytest.raises(iso.StatisticsError, match="finite"):
        iso.algorithm_a([1.0, float("nan"), 2.0])


def test_consensus_uncertainty_is_1_25_s_over_root_p_and_warns_on_small_rounds():
    assigned = iso.consensus_value(CREOSOTE)
    assert assigned.standard_uncertainty == pytest.approx(1.25 * assigned.robust.sd / 3)
    assert assigned.source == "consensus"
    assert "fewer than about 12" in assigned.notes[0]
    big = iso.consensus_value([10 + (i % 5) * 0.1 for i in range(12)])
    assert big.notes == ()


def test_scores_by_hand():
    assigned = iso.reference_value(100.0, 3.0)
    # x = 110, σ_pt = 5: z = 2; z′ = 10/√(25+9) = 1.715; ζ = 10/√(4²+3²) = 2; En = 10/√(8²+6²) = 1.
    result = iso.scores(110.0, assigned, 5.0, u_x=4.0)
    assert result.z == pytest.approx(2.0)
    assert result.z_prime == pytest.approx(10 / math.sqrt(34))
    assert result.zeta == pytest.approx(2.0)
    assert result.en == pytest.approx(1.0)
    assert result.bands() == {
        "z": "satisfactory",
        "z_prime": "satisfactory",
        "zeta": "satisfactory",
        "en": "satisfactory",
    }


def test_scores_without_participant_uncertainty_leave_zeta_and_en_empty():
    result = iso.scores(90.0, iso.reference_value(100.0, 1.0), 4.0)
    assert result.z == pytest.approx(-2.5)
    assert result.zeta is None and result.en is None
    assert result.bands()["z"] == "questionable"


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0.0, "satisfactory"),
        (2.0, "satisfactory"),
        (-2.0001, "questionable"),
        (2.99, "questionable"),
        (3.0, "unsatisfactory"),
        (-7, "unsatisfactory"),
        (None, None),
    ],
)
def test_z_bands(score, expected):
    assert iso.band(score) == expected


@pytest.mark.parametrize(
    ("score", "expected"), [(1.0, "satisfactory"), (-1.0, "satisfactory"), (1.01, "unsatisfactory")]
)
def test_en_bands(score, expected):
    assert iso.en_band(score) == expected


def test_z_refuses_a_zero_sigma():
    with pytest.raises(iso.StatisticsError, match="σ_pt"):
        iso.z_score(1.0, 1.0, 0.0)


def test_uncertainty_of_the_assigned_value_is_negligible_below_0_3_sigma():
    assert iso.uncertainty_negligible(0.29, 1.0)
    assert not iso.uncertainty_negligible(0.3, 1.0)


def test_homogeneity_by_hand():
    # Items (10, 10.2), (10.4, 10.6), (9.8, 10.0): means 10.1, 10.5, 9.9 → sₓ = 0.3055;
    # differences all 0.2 → s_w = √(3·0.04/6) = 0.1414; s_s = √(0.0933 − 0.01) = 0.2887.
    check = iso.homogeneity_check([(10.0, 10.2), (10.4, 10.6), (9.8, 10.0)], sigma_pt=1.0)
    assert check.statistic == pytest.approx(math.sqrt(np.var([10.1, 10.5, 9.9], ddof=1) - 0.02 / 2))
    assert check.limit == pytest.approx(0.3)
    assert check.passed
    assert not iso.homogeneity_check([(10.0, 10.2), (10.4, 10.6), (9.8, 10.0)], sigma_pt=0.5).passed


def test_homogeneity_between_item_sd_is_zero_when_within_item_noise_explains_all():
    check = iso.homogeneity_check([(10.0, 11.0), (11.0, 10.0), (10.0, 11.0)], sigma_pt=1.0)
    assert check.statistic == 0.0 and check.passed


def test_homogeneity_refuses_unpaired_data():
    with pytest.raises(iso.StatisticsError, match="exactly twice"):
        iso.homogeneity_check([(1.0, 2.0, 3.0), (1.0, 2.0)], sigma_pt=1.0)


def test_stability_by_hand():
    check = iso.stability_check([10.0, 10.2], [9.9, 9.9], sigma_pt=1.0)
    assert check.statistic == pytest.approx(0.2)
    assert check.passed
    assert not iso.stability_check([10.0], [9.0], sigma_pt=1.0).passed


# Results as a lab reports them (hundredths), so that no subnormal float underflows the spread to zero.
finite = st.integers(min_value=-(10**8), max_value=10**8).map(lambda n: n / 100)


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=3, max_size=40), finite, st.floats(min_value=0.1, max_value=100))
def test_algorithm_a_is_shift_and_scale_equivariant(values, shift, scale):
    try:
        base = iso.algorithm_a(values)
    except iso.StatisticsError:
        return
    moved = iso.algorithm_a([scale * v + shift for v in values])
    assert moved.mean == pytest.approx(scale * base.mean + shift, rel=1e-6, abs=1e-6 * scale * (1 + base.sd))
    assert moved.sd == pytest.approx(scale * base.sd, rel=1e-6, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=3, max_size=40))
def test_robust_mean_stays_within_the_data(values):
    try:
        robust = iso.algorithm_a(values)
    except iso.StatisticsError:
        return
    span = max(values) - min(values)
    assert min(values) - 1e-9 * span <= robust.mean <= max(values) + 1e-9 * span
    assert robust.sd > 0
