"""The dashboards' summaries as the database computes them equal the pandas path they replaced, on the same
rows (on PostgreSQL the monthly trend is a GROUP BY; elsewhere it is ``compute.summarise`` over a narrow read)."""

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from evlims.metrics import compute, selectors, summaries
from evlims.metrics.selectors import PURITY, YIELD, MetricFilters
from evlims.web.forms.dashboards import window_start
from tests.services.test_control_charts import preparation

pytestmark = pytest.mark.django_db

JANUARY = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
# Late on the last day of February in UTC: a month is the UTC calendar month of the run's start.
FEBRUARY_END = datetime(2025, 2, 28, 23, 30, tzinfo=UTC)
MARCH = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def months(project, staff):
    """January: purity 1, 2, 3 ×10¹⁰ (n 3, SD 10¹⁰, CV 50 %) and one yield; February: one purity (no SD);
    March: a preparation without figures (n = 0); one run never started (left out)."""
    for value, made in ((1e10, 2e9), (2e10, None), (3e10, None)):
        preparation(project, staff, started_at=JANUARY, particles_per_ug=value, particle_yield_per_ml_input=made)
    preparation(project, staff, started_at=FEBRUARY_END, particles_per_ug=7.5e9, particle_yield_per_ml_input=4e9)
    preparation(project, staff, started_at=MARCH)
    preparation(project, staff, started_at=None, particles_per_ug=9e12)


def old_trend(user, filters=None) -> pd.DataFrame:
    """The dashboard's trend as it was computed before: every row read into pandas."""
    return selectors.monthly_trend(selectors.metrics_frame(user, filters))


def by_key(summary: pd.DataFrame) -> dict:
    return {(row["month"], row["metric"]): row for row in summary.to_dict("records")}


def test_month_summary_gives_hand_computed_figures(staff, months):
    trend = by_key(summaries.month_summary(staff))
    assert list(dict.fromkeys(month for month, _ in trend)) == ["2025-01", "2025-02", "2025-03"]
    january = trend[("2025-01", PURITY)]
    assert (january["n"], january["mean"], january["sd"]) == (3, pytest.approx(2e10), pytest.approx(1e10))
    assert january["cv_pct"] == pytest.approx(50.0)
    single = trend[("2025-02", PURITY)]
    assert (single["n"], single["mean"]) == (1, pytest.approx(7.5e9))
    assert np.isnan(single["sd"]) and np.isnan(single["cv_pct"])  # n = 1: no SD, no CV, never 0
    empty = trend[("2025-03", YIELD)]
    assert empty["n"] == 0 and np.isnan(empty["mean"])


def test_month_summary_equals_the_pandas_path(staff, months):
    new, old = summaries.month_summary(staff), old_trend(staff)
    assert list(new.columns) == list(old.columns) == ["month", *compute.SUMMARY_COLUMNS]
    assert [(r["month"], r["metric"]) for r in new.to_dict("records")] == [
        (r["month"], r["metric"]) for r in old.to_dict("records")
    ]
    assert new["n"].tolist() == old["n"].tolist()
    for column in ("mean", "sd", "cv_pct"):
        np.testing.assert_allclose(new[column].to_numpy(), old[column].to_numpy(), rtol=1e-12, equal_nan=True)


def test_month_summary_follows_the_filters(staff, months, project):
    preparation(project, staff, method="uc", biofluid="urine", started_at=JANUARY, particles_per_ug=5e10)
    for filters in (MetricFilters(started_from=date(2025, 2, 1)), MetricFilters(method="uc", biofluid="urine")):
        new, old = summaries.month_summary(staff, filters), old_trend(staff, filters)
        assert by_key(new).keys() == by_key(old).keys()
        np.testing.assert_allclose(new["mean"].to_numpy(), old["mean"].to_numpy(), rtol=1e-12, equal_nan=True)
    only_uc = by_key(summaries.month_summary(staff, MetricFilters(method="uc")))
    assert only_uc.keys() == {("2025-01", YIELD), ("2025-01", PURITY)}
    assert only_uc[("2025-01", PURITY)]["mean"] == pytest.approx(5e10)


def test_month_summary_of_nothing_is_empty(staff):
    empty = summaries.month_summary(staff)
    assert empty.empty and list(empty.columns) == ["month", *compute.SUMMARY_COLUMNS]


def test_other_labs_stay_out_of_the_summary(staff, outsider, other_lab, months):
    from tests.factories import SampleFactory

    foreign = SampleFactory(project__lab=other_lab).project
    preparation(foreign, outsider, started_at=JANUARY, particles_per_ug=8e13)
    assert by_key(summaries.month_summary(staff))[("2025-01", PURITY)]["n"] == 3


@pytest.mark.parametrize(
    ("today", "months", "start"),
    [
        (date(2026, 11, 27), 12, date(2025, 12, 1)),
        (date(2026, 2, 15), 3, date(2025, 12, 1)),
        (date(2026, 1, 31), 1, date(2026, 1, 1)),
        (date(2026, 3, 1), 60, date(2021, 4, 1)),
    ],
)
def test_window_holds_whole_calendar_months(today, months, start):
    assert window_start(months, today) == start
