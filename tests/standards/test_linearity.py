"""The ISO 20391-2 proportionality index, per-dilution CV and linear range on a synthetic series computed by
hand (undiluted concentration 1e11 particles/mL, NTA working range 1e7-1e9 particles/mL)."""

import pytest

from evlims.standards.linearity import SeriesError, assess, proportionality_index

SERIES = [
    {"dilution_factor": 100, "readings": [1.2e9, 1.2e9]},  # saturated: above the working range
    {"dilution_factor": 200, "readings": [4.9e8, 5.1e8]},
    {"dilution_factor": 400, "readings": [2.4e8, 2.6e8]},
    {"dilution_factor": 800, "readings": [1.25e8, 1.25e8]},
    {"dilution_factor": 1600, "readings": [4.0e7, 4.0e7]},  # under-counted: 36 % below proportional
]


def test_fit_and_proportionality_index_by_hand():
    # Weighted fit through the origin, variance proportional to f: slope = Σ y / Σ f = 2.115e9 / 0.019375
    # = 846/775 x 1e11. Relative residuals (undiluted estimate / slope - 1): 84/846 for 1:100, -71/846 for 1:200,
    # 1:400 and 1:800, -350/846 for 1:1600. PI = Σ over readings |r| = 2 x (84 + 3 x 71 + 350) / 846 = 1294/846.
    result = assess(SERIES, "nta")
    assert result.slope == pytest.approx(846 / 775 * 1e11)
    residuals = [d.relative_residual for d in result.dilutions]
    assert residuals == pytest.approx([84 / 846, -71 / 846, -71 / 846, -71 / 846, -350 / 846])
    assert result.proportionality_index == pytest.approx(1294 / 846)
    assert result.proportionality_index == pytest.approx(1.529551, abs=1e-6)
    assert result.evidence == "M" and "20391-2" in result.source and "COMET" in result.source


def test_cv_per_dilution_by_hand():
    # SD of (4.9e8, 5.1e8) = sqrt(2) x 1e7: CV = 2.828 %; of (2.4e8, 2.6e8): 5.657 %; equal readings: 0.
    cvs = [d.cv for d in assess(SERIES, "nta").dilutions]
    assert cvs == pytest.approx([0.0, 0.0282843, 0.0565685, 0.0, 0.0], abs=1e-7)


def test_linear_range_and_the_concentration_it_gives():
    # 1:100 reads 1.2e9 > 1e9 (outside the working range). The other four read 1e11, 1e11, 1e11 and 6.4e10
    # undiluted: median 1e11, from which 1:1600 departs by 36 % > 20 %. The concentration is the fit on 1:200,
    # 1:400, 1:800, which all read 1e11 undiluted.
    result = assess(SERIES, "nta")
    outside = {d.factor: d.why_outside for d in result.dilutions if not d.in_linear_range}
    assert set(outside) == {100, 1600}
    assert "working range" in outside[100] and "20%" in outside[1600]
    assert result.used == [200, 400, 800]
    assert result.concentration_per_ml == pytest.approx(1e11)
    assert result.problem == ""


def test_the_squared_form_is_one_word_away():
    # Scaled sum of squares over the readings: 2 x (84² + 3 x 71² + 350²) / 846² = 289358/715716.
    residuals = [84 / 846, -71 / 846, -71 / 846, -71 / 846, -350 / 846]
    assert proportionality_index(residuals, [2] * 5, "scaled_sum_squared") == pytest.approx(289358 / 715716)
    assert proportionality_index([0.1, -0.2, 0.2], None, "scaled_sum_absolute") == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("points", "words"),
    [
        ([{"dilution_factor": 100, "readings": [1e8]}], "at least 2"),
        ([{"dilution_factor": 0.5, "readings": [1e8]}, {"dilution_factor": 10, "readings": [1e8]}], "1 or more"),
        ([{"dilution_factor": 10, "readings": [1e8]}, {"dilution_factor": 10, "readings": [1e8]}], "twice"),
        ([{"dilution_factor": 10, "readings": [-1]}, {"dilution_factor": 20, "readings": [1e8]}], "above 0"),
        ([{"dilution_factor": "x", "readings": [1]}, {"dilution_factor": 20, "readings": [1e8]}], "as numbers"),
    ],
)
def test_bad_series_are_refused_in_words(points, words):
    with pytest.raises(SeriesError, match=words):
        assess(points, "nta")


def test_nothing_in_range_says_so():
    series = [{"dilution_factor": 2, "readings": [5e10]}, {"dilution_factor": 4, "readings": [2.5e10]}]
    result = assess(series, "nta")
    assert result.concentration_per_ml is None
    assert "No dilution" in result.problem


def test_a_saturated_dilution_inside_the_working_range_does_not_pull_the_others_out():
    # 1:50 reads 3e8 (in the NTA range) but 1.5e10 undiluted; the others read 2e10: median 2e10, 1:50 is -25 %.
    series = [{"dilution_factor": f, "readings": [2e10 / f * (0.75 if f == 50 else 1.0)]} for f in (50, 100, 200, 400)]
    result = assess(series, "nta")
    assert result.used == [100, 200, 400]
    assert result.concentration_per_ml == pytest.approx(2e10)
