"""The dashboards' cached figures: reused while the labs' data stay the same, never shown once they changed;
the window of months is shown and changeable, and a bad window is a clear 400; the comparison page shows the
same figures as the pandas path it replaced."""

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from evlims.characterization.services import record_results
from evlims.metrics import charts, selectors, summaries, svg_trend
from evlims.metrics.models import PreparationMetrics
from evlims.metrics.selectors import PURITY, YIELD, MetricFilters
from evlims.samples.services import sample_update
from evlims.web.forms.dashboards import window_start
from evlims.web.views.dashboards import GROUPINGS
from tests.services.test_control_charts import START, preparation

DASHBOARD = reverse("evlims:dashboard")
COMPARISON = reverse("evlims:dashboard-comparison")


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


@pytest.fixture
def settled(monkeypatch):
    """Cache even figures computed a moment ago, as a page does once a recompute has settled."""
    monkeypatch.setattr(summaries, "SETTLING_SECONDS", 0)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def get(client, url, params=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    return response, len(queries)


def trend(response) -> dict:
    return {(row["month"], row["metric"]): row for row in response.context["figures"]["trend"].rows}


def this_month() -> str:
    return timezone.now().strftime("%Y-%m")


# -- the cache ------------------------------------------------------------------------------------------------


def test_a_repeated_view_reuses_the_figures(staff_client, project, staff, settled):
    preparation(project, staff, started_at=timezone.now(), particles_per_ug=2e10)
    first, built = get(staff_client, DASHBOARD)
    again, reused = get(staff_client, DASHBOARD)
    assert "figures" in first.context and "figures" not in again.context  # the second view rendered nothing anew
    assert reused < built
    for response in (first, again):
        assert 'data-table="trend"' in response.content.decode() and "2.00 × 10¹⁰" in response.content.decode()


def test_made_up_parameters_share_the_cached_figures(staff_client, project, staff, settled):
    preparation(project, staff, started_at=timezone.now(), particles_per_ug=2e10)
    get(staff_client, DASHBOARD, {"months": 12})
    again, _ = get(staff_client, DASHBOARD, {"months": 12, "junk": "x" * 50})
    assert "figures" not in again.context
    assert 'href="?months=12&amp;export=trend"' in again.content.decode()


def test_figures_computed_a_moment_ago_are_not_cached(staff_client, project, staff):
    prep = preparation(project, staff, started_at=timezone.now(), particles_per_ug=2e10)
    PreparationMetrics.objects.filter(preparation=prep).update(computed_at=timezone.now())
    get(staff_client, DASHBOARD)
    again, _ = get(staff_client, DASHBOARD)
    assert "figures" in again.context  # built again: rows stamped earlier could still be committing


def test_a_recomputed_figure_shows_at_once(staff_client, project, staff, settled):
    prep = preparation(project, staff, started_at=timezone.now(), particles_per_ug=2e10)
    assert trend(get(staff_client, DASHBOARD)[0])[(this_month(), PURITY)]["mean"] == pytest.approx(2e10)
    # What a recompute writes: new figures and a new stamp (no audit event).
    PreparationMetrics.objects.filter(preparation=prep).update(particles_per_ug=6e10, computed_at=timezone.now())
    assert trend(get(staff_client, DASHBOARD)[0])[(this_month(), PURITY)]["mean"] == pytest.approx(6e10)


def test_a_figure_stored_with_an_older_stamp_still_shows(staff_client, project, staff, settled):
    preparation(project, staff, started_at=timezone.now(), particles_per_ug=2e10)
    get(staff_client, DASHBOARD)
    preparation(project, staff, started_at=timezone.now(), particles_per_ug=4e10)  # stamped START, a new row
    row = trend(get(staff_client, DASHBOARD)[0])[(this_month(), PURITY)]
    assert (row["n"], row["mean"]) == (2, pytest.approx(3e10))


def test_a_new_result_changes_the_cached_dashboard_at_once(
    staff_client, project, staff, lab, settled, django_capture_on_commit_callbacks
):
    prep = preparation(project, staff, started_at=timezone.now(), particles_per_ug=2e10)
    assert trend(get(staff_client, DASHBOARD)[0])[(this_month(), PURITY)]["mean"] == pytest.approx(2e10)
    particle = {"technique": "nta", "concentration_per_ml": 4e11}
    protein = {"assay": "bca", "concentration_ug_per_ml": 10.0}
    documents = [
        {"kind": "particle", "method": "nta", "preparation": prep.barcode, "particle": particle},
        {"kind": "protein", "method": "bca", "preparation": prep.barcode, "protein": protein},
    ]
    with django_capture_on_commit_callbacks(execute=True):  # the metric job runs when the results commit
        record_results(actor=staff, lab=lab, documents=documents)
    response, _ = get(staff_client, DASHBOARD)
    assert "figures" not in response.context  # rendered by the warm-up when the metric job completed
    trend_table = response.content.decode().split('data-table="trend"')[1].split("</table>")[0]
    assert "4.00 × 10¹⁰" in trend_table and "2.00 × 10¹⁰" not in trend_table  # 4e11 particles/mL ÷ 10 µg/mL


def test_an_edited_sample_regroups_the_cached_comparison(staff_client, project, staff, settled):
    prep = preparation(project, staff, started_at=timezone.now(), particles_per_ug=2e10)

    def groups():
        return {row["biofluid"] for row in get(staff_client, COMPARISON)[0].context["tables"]["summary"].rows}

    assert groups() == {"blood_plasma"}
    sample = prep.input_aliquot.sample
    sample_update(
        sample=sample, actor=staff, reason="typo", expected_version=sample.version, changes={"biofluid": "urine"}
    )
    assert groups() == {"urine"}  # no figure changed, but the sample's audit event did


# -- the window of months -------------------------------------------------------------------------------------


@pytest.fixture
def spread(project, staff):
    """Preparations of runs started now, 200 days ago and 500 days ago."""
    now = timezone.now()
    return [
        preparation(project, staff, started_at=now - timedelta(days=days), particles_per_ug=2e10 + days)
        for days in (0, 200, 500)
    ]


def test_the_dashboard_window_is_shown_and_changeable(staff_client, spread):
    older_month = spread[1].run.started_at.strftime("%Y-%m")
    default = staff_client.get(DASHBOARD)
    assert {month for month, _ in trend(default)} == {this_month(), older_month}
    html = default.content.decode()
    assert f"runs started from {window_start(12):%Y-%m-%d}" in html and '<option value="12" selected>' in html
    short = staff_client.get(DASHBOARD, {"months": 3})
    assert {month for month, _ in trend(short)} == {this_month()}
    assert "Figures by month (last 3 months)" in short.content.decode()
    assert '<option value="3" selected>' in short.content.decode()


@pytest.mark.parametrize("months", ["abc", "7", "-1", "99999999999999999999"])
def test_a_bad_dashboard_window_is_a_clear_400(staff_client, spread, months):
    response = staff_client.get(DASHBOARD, {"months": months})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose one of the listed windows" in html and "Show the last 12 months" in html


def test_the_comparison_compares_the_last_12_months_unless_asked(staff_client, spread):
    default = staff_client.get(COMPARISON)
    assert default.context["count"] == 2
    assert f'value="{window_start(12).isoformat()}"' in default.content.decode()  # the window is in the form
    every = staff_client.get(COMPARISON, {"started_from": ""})
    assert every.context["count"] == 3
    bad = staff_client.get(COMPARISON, {"started_from": "2025-13-45"})
    assert bad.status_code == 400 and "Enter a valid date." in bad.content.decode()


# -- the comparison's figures equal the old pandas path ----------------------------------------------------------


@pytest.fixture
def compared(project, staff):
    values = [
        (1e10, 2e9, "sec", "blood_plasma"),
        (2e10, 3e9, "sec", "blood_plasma"),
        (3.5e10, None, "sec", "blood_plasma"),
    ]
    values += [(5e9, 1e9, "uc", "urine"), (6e9, 1.5e9, "uc", "urine"), (None, 4e9, "uc", "blood_plasma")]
    for day, (purity, made, method, biofluid) in enumerate(values):
        preparation(
            project,
            staff,
            method=method,
            biofluid=biofluid,
            started_at=START + timedelta(days=40 * day),
            particles_per_ug=purity,
            particle_yield_per_ml_input=made,
            protein_yield_ug_per_ml_input=0.2 * (day + 1),
        )


def keys(values) -> tuple:
    """A group's keys with a missing key as None (NaN never equals itself)."""
    return tuple(None if pd.isna(value) else value for value in values)


@pytest.mark.parametrize("grouping", list(GROUPINGS))
def test_comparison_figures_equal_the_pandas_path(staff_client, staff, compared, grouping):
    response = staff_client.get(COMPARISON, {"group": grouping, "started_from": "", "overlay": []})
    _, columns = GROUPINGS[grouping]
    old_frame = selectors.metrics_frame(staff, MetricFilters())
    old = selectors.group_summary(old_frame, columns, selectors.recorded_figures(old_frame))
    shown = response.context["tables"]["summary"].rows
    assert [keys(row[c] for c in [*columns, "metric", "n"]) for row in shown] == [
        keys(row) for row in old[[*columns, "metric", "n"]].itertuples(index=False)
    ]
    for column in ("mean", "sd", "cv_pct"):
        np.testing.assert_allclose([row[column] for row in shown], old[column].to_numpy(), equal_nan=True)
    assert response.context["count"] == len(old_frame) == 6


def test_comparison_box_plots_draw_the_same_groups_and_medians(staff_client, staff, compared, monkeypatch):
    from evlims.metrics import charts

    drawn = {}

    def capture(frame, figure_name, by, **kwargs):
        drawn[figure_name] = frame.groupby(by)[figure_name].median().to_dict()

    monkeypatch.setattr(charts, "box_plot", capture)
    staff_client.get(COMPARISON, {"started_from": ""})
    old = selectors.metrics_frame(staff, MetricFilters())
    old = old.assign(method_biofluid=old["method"].fillna("(no method)") + " · " + old["biofluid"])
    for figure in (PURITY, YIELD):
        expected = pd.Series(old.groupby("method_biofluid")[figure].median().to_dict()).sort_index()
        assert pd.Series(drawn[figure]).sort_index().equals(expected)
    assert drawn[PURITY]["sec · blood_plasma"] == pytest.approx(2e10)


def test_comparison_lists_the_first_preparations_and_exports_all(staff_client, compared, monkeypatch):
    from evlims.web.views import dashboards

    monkeypatch.setattr(dashboards, "SHOWN_POINTS", 4)
    response = staff_client.get(COMPARISON, {"started_from": ""})
    points = response.context["tables"]["points"]
    assert len(points.rows) == 4 and "The first 4 of 6 preparations" in points.note
    exported = staff_client.get(COMPARISON, {"started_from": "", "export": "points"}).content.decode("utf-8-sig")
    assert len(exported.strip().splitlines()) == 7  # header and every preparation


def test_pages_stay_flat_with_the_window(staff_client, project, staff):
    now = timezone.now()

    def add(count):
        for index in range(count):
            preparation(project, staff, started_at=now - timedelta(days=30 * index), particles_per_ug=1e10 + index)

    add(2)
    small = [get(staff_client, DASHBOARD, {"months": 60})[1], get(staff_client, COMPARISON, {"started_from": ""})[1]]
    add(10)
    large = [get(staff_client, DASHBOARD, {"months": 60})[1], get(staff_client, COMPARISON, {"started_from": ""})[1]]
    assert small == large


def test_window_start_is_today_based():
    assert window_start(1) == timezone.localdate().replace(day=1)
    assert window_start(12) < timezone.localdate() - timedelta(days=334)


# -- the charts' drawing --------------------------------------------------------------------------------------

MONTHS = [[f"2026-{month:02d}", 1e10 * month, 2e9 if month % 3 else None, 10 + month] for month in range(1, 13)]
PROTOCOLS = [["SEC v1", [1e9 * (1 + i % 9) for i in range(40)], [1e10 * (1 + i % 4) for i in range(40)]]]


@pytest.mark.parametrize(
    "draw",
    [
        lambda: svg_trend.trend_svg("Particles per µg: monthly mean ± SD", "Particles per µg protein (log)", MONTHS),
        lambda: charts._scatter(PROTOCOLS, [("high purity", 3e10)]),
    ],
    ids=["trend", "scatter"],
)
def test_a_chart_is_the_same_text_every_time_it_is_drawn(draw):
    # The cache may hold either drawing: what a cold and a warm view show must not differ.
    assert draw() == draw()
