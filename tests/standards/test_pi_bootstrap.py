"""NIST COMET's bootstrap confidence limits of the proportionality index: the procedure of COMET's R code
(readings resampled within each dilution, iteration i seeded with i, limits on the log scale with Student's t),
deterministic, and checked against an independent transcription of that procedure."""

import math

import numpy as np
import pytest
from scipy.stats import t as student_t

from evlims.standards.linearity import assess, index_of, pi_bootstrap_limits

SERIES = [
    {"dilution_factor": 100, "readings": [9.0e8, 9.4e8]},
    {"dilution_factor": 200, "readings": [4.9e8, 5.1e8]},
    {"dilution_factor": 400, "readings": [2.4e8, 2.6e8]},
    {"dilution_factor": 800, "readings": [1.25e8, 1.27e8]},
]


def _transcribed(series, replicates=50, level=0.95):
    """COMET's run_bootstrap_proc / nonpar.boot.simple, line by line, with numpy's generator for R's."""
    pairs = [(p["dilution_factor"], p["readings"]) for p in series]
    index = index_of(pairs)
    logs = []
    for i in range(1, replicates + 1):
        rng = np.random.default_rng(i)  # set.seed(i)
        boot = [(f, rng.choice(np.array(r), size=len(r), replace=True)) for f, r in pairs]  # sample(inds.pool, …)
        logs.append(math.log(index_of(boot)))  # log of the "error" metrics
    se = np.std(logs, ddof=1)  # sqrt(var(x))
    t_val = student_t.ppf((1 + level) / 2, replicates - 1)  # qt((1+conf_lev)/2, n_boot-1)
    return math.exp(math.log(index) - t_val * se), math.exp(math.log(index) + t_val * se)


def test_the_limits_follow_comets_procedure_and_are_deterministic():
    result = assess(SERIES, "nta")
    lower, upper = result.pi_limits
    assert (lower, upper) == pytest.approx(_transcribed(SERIES), rel=1e-12)
    assert lower < result.proportionality_index < upper
    assert assess(SERIES, "nta").pi_limits == (lower, upper)  # the seeds are the iteration numbers


def test_no_spread_within_dilutions_gives_no_width_and_more_spread_a_wider_interval():
    single = [{"dilution_factor": p["dilution_factor"], "readings": p["readings"][:1]} for p in SERIES]
    result = assess(single, "nta")
    assert result.pi_limits == pytest.approx((result.proportionality_index, result.proportionality_index))
    wide = [{"dilution_factor": 100, "readings": [8.0e8, 10.4e8]}] + SERIES[1:]
    lower, upper = assess(wide, "nta").pi_limits
    narrow_lower, narrow_upper = assess(SERIES, "nta").pi_limits
    assert math.log(upper / lower) > math.log(narrow_upper / narrow_lower)


def test_a_perfectly_proportional_series_has_no_limits():
    exact = [{"dilution_factor": f, "readings": [1e11 / f, 1e11 / f]} for f in (100, 200, 400)]
    result = assess(exact, "nta")
    assert result.proportionality_index == pytest.approx(0.0, abs=1e-12)
    assert pi_bootstrap_limits([(f, [1e11 / f]) for f in (100, 200)], 0.0) is None
