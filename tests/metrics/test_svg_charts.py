"""The scatter, trend and Levey–Jennings charts written as SVG (evlims/metrics/svg_*.py) show the data they are
given: every mark is read back through the axis' own tick labels (tests/metrics/svg_reading.py) and compared
with the values, limits and bounds; log axes have their ticks at powers of ten, evenly spaced; the legend names
every group with its n; the chart has a title and a description."""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from evlims.metrics import charts, compute, svg, svg_scatter
from evlims.metrics.figures import PURITY, YIELD
from tests.metrics.svg_reading import NS, groups, reader, svg_root, texts, ticks

pytestmark = pytest.mark.usefixtures("_cold_cache")


@pytest.fixture
def _cold_cache():
    from django.core.cache import cache

    cache.clear()


def assert_log_axis(root, axis):
    shown = ticks(root, axis)
    exponents = [math.log10(value) for _, value in shown]
    assert all(exponent == pytest.approx(round(exponent)) for exponent in exponents)  # powers of ten
    gaps = np.diff([pixel for pixel, _ in shown]) / np.diff(exponents)
    assert gaps == pytest.approx(np.full(len(gaps), gaps[0]), rel=1e-3)  # a decade is the same length everywhere


def assert_ticks_agree(root, axis, *, log):
    """Every tick sits where the first and last ticks say its value belongs (on a log or a linear scale)."""
    read = reader(root, axis, log=log)
    shown = ticks(root, axis)
    assert len(shown) >= 2
    assert [read(pixel) for pixel, _ in shown] == pytest.approx([value for _, value in shown], rel=1e-3)


def test_log_ticks_are_decades_and_a_narrow_range_gets_1_2_5():
    assert svg.log_ticks(3e8, 2e11) == [(1e9, "10⁹"), (1e10, "10¹⁰"), (1e11, "10¹¹")]
    assert svg.log_ticks(1.2e-3, 0.5) == [(1e-2, "10⁻²"), (1e-1, "10⁻¹")]
    assert [value for value, _ in svg.log_ticks(4e9, 3e10)] == pytest.approx([5e9, 1e10, 2e10])
    assert [label for _, label in svg.log_ticks(4e9, 3e10)] == ["5×10⁹", "10¹⁰", "2×10¹⁰"]
    assert len(svg.log_ticks(1e-30, 1e30)) <= 8


def test_linear_ticks_are_1_2_5_steps_within_the_range():
    assert [value for value, _ in svg.linear_ticks(0.4, 12.6, whole=True)] == [2, 4, 6, 8, 10, 12]
    assert [label for _, label in svg.linear_ticks(0, 3e10)][:3] == ["0", "5 × 10⁹", "1 × 10¹⁰"]


PROTOCOLS = [
    ["SEC qEV 70 nm@1.0", [2e9, 5e9, 8e10, 3e8], [1e10, 4e10, 2e11, 5e9]],
    ["UC 100,000 g@2.1", [1e9, 1.5e9], [1e9, 2.5e9]],
    ["PEG & salt <v1>", [7e9], [6e10]],
]


def scatter_frame(protocols):
    rows = [{"protocol": name, YIELD: x, PURITY: y} for name, xs, ys in protocols for x, y in zip(xs, ys, strict=True)]
    return pd.DataFrame(rows + [{"protocol": "SEC qEV 70 nm@1.0", YIELD: 0.0, PURITY: 1e10}])  # off a log axis


def test_scatter_places_every_preparation_where_its_figures_say():
    root = svg_root(charts.yield_purity_scatter(scatter_frame(PROTOCOLS)))
    read_x, read_y = reader(root, "x", log=True), reader(root, "y", log=True)
    drawn = groups(root)
    assert set(drawn) == {name for name, _, _ in PROTOCOLS}
    for name, xs, ys in PROTOCOLS:
        read = sorted((read_x(px), read_y(py)) for px, py in drawn[name])
        np.testing.assert_allclose(read, sorted(zip(xs, ys, strict=True)), rtol=2e-3, err_msg=name)
    assert_log_axis(root, "x")
    assert_log_axis(root, "y")
    assert_ticks_agree(root, "x", log=True)


def test_scatter_legend_bands_title_and_description():
    root = svg_root(charts.yield_purity_scatter(scatter_frame(PROTOCOLS)))
    # Protocols in the lab's words, each with its n (the preparation off the log axes is not counted).
    assert sorted(texts(root, "legend")) == sorted(f"{name} (n={len(xs)})" for name, xs, _ in PROTOCOLS)
    # One marker shape per protocol.
    markers = {m.get("id"): m.find("svg:path", NS).get("d") for m in root.findall(".//svg:marker", NS)}
    assert len(set(markers.values())) == len(PROTOCOLS)
    read_y = reader(root, "y", log=True)
    lines = root.findall(".//svg:line[@class='band']", NS)
    bounds = [band.lower for band in compute.purity_bands() if math.isfinite(band.lower)]
    assert sorted(read_y(float(line.get("y1"))) for line in lines) == pytest.approx(sorted(bounds), rel=2e-3)
    words = texts(root, "band")
    assert "high purity from 3.0 × 10¹⁰" in words and "low purity from 2.0 × 10⁹" in words
    assert root.find("svg:title", NS).text == "Yield against purity, by protocol"
    assert "7 preparations of 3 protocols" in root.find("svg:desc", NS).text
    labels = [element.text for element in root.findall("svg:text", NS)]
    assert "Particles per mL input (log)" in labels and "Particles per µg protein (log)" in labels


def test_scatter_of_many_points_merges_only_markers_within_a_few_pixels():
    rng = np.random.default_rng(3)
    many = [["SEC@1", list(10 ** rng.normal(9.5, 0.5, 900)), list(10 ** rng.normal(10, 0.5, 900))]]
    many.append(["UC@2", list(10 ** rng.normal(9, 0.3, 300)), list(10 ** rng.normal(9.5, 0.3, 300))])
    root = svg_root(charts.yield_purity_scatter(scatter_frame(many)))
    assert sorted(texts(root, "legend")) == ["SEC@1 (n=900)", "UC@2 (n=300)"]  # every preparation counted
    assert "closer than 3 px are drawn once" in root.find("svg:desc", NS).text
    read_x, read_y = reader(root, "x", log=True), reader(root, "y", log=True)
    # Pixels per decade of each axis, from its ticks.
    per_decade = [
        abs(np.polyfit(np.log10([v for _, v in ticks(root, a)]), [p for p, _ in ticks(root, a)], 1)[0])
        for a in ("x", "y")
    ]
    for name, xs, ys in many:
        marks = np.log10([(read_x(px), read_y(py)) for px, py in groups(root)[name]]) * per_decade
        assert 0 < len(marks) < len(xs)
        for point in np.log10(np.column_stack([xs, ys])) * per_decade:
            nearest = np.abs(marks - point).max(axis=1).min()
            assert nearest <= svg_scatter.MERGE_PX / 2 + 0.02  # every preparation has a mark within 1.5 px


MONTHS = [["2026-01", 1e10, None, 1], ["2026-02", 2e10, 5e9, 4], ["2026-03", 3e10, 4e10, 3], ["2026-04", 5e9, 1e9, 2]]


def trend_frame(rows):
    return pd.DataFrame(
        [{"metric": PURITY, "month": month, "mean": mean, "sd": sd, "n": n} for month, mean, sd, n in rows]
    )


def test_trend_places_means_sd_bars_and_n_by_month():
    root = svg_root(charts.trend_chart(trend_frame(MONTHS), PURITY))
    read_y = reader(root, "y", log=True)
    assert_ticks_agree(root, "y", log=True)
    [means] = groups(root).values()
    lines = root.findall(".//svg:line[@class='x-tick']", NS)
    labels = root.findall(".//svg:text[@class='x-tick']", NS)
    month_at = {float(line.get("x1")): label.text for line, label in zip(lines, labels, strict=True)}
    assert [month_at[px] for px, _ in means] == [row[0] for row in MONTHS]  # each mean above its month
    assert [read_y(py) for _, py in means] == pytest.approx([row[1] for row in MONTHS], rel=2e-3)
    # SD bars where the month has an SD below its mean (March's 4e10 > 3e10 would reach below zero).
    bars = root.findall(".//svg:path[@class='sd']", NS)
    assert [(float(bar.get("data-mean")), float(bar.get("data-sd"))) for bar in bars] == [(2e10, 5e9), (5e9, 1e9)]
    for bar in bars:
        ys = [float(n) for n in bar.get("d").replace("M", " ").replace("V", " ").replace("h", " ").split()[1:3]]
        mean, sd = float(bar.get("data-mean")), float(bar.get("data-sd"))
        assert [read_y(y) for y in ys] == pytest.approx([mean - sd, mean + sd], rel=2e-3)
    assert texts(root, "n") == ["n=1", "n=4", "n=3", "n=2"]
    labels = [element.text for element in root.findall("svg:text", NS)]
    assert "Particles per µg protein (log)" in labels and "Month" in labels
    assert root.find("svg:title", NS).text == "Particles per µg protein: monthly mean ± SD"


def control(points, *, log=True, provisional=False, limits=None):
    frame = pd.DataFrame(
        {
            "sequence": [p[0] for p in points],
            "value": [p[1] for p in points],
            "level": pd.Series([p[2] for p in points], dtype=object),
            "violated_rules": [p[3] for p in points],
        }
    )
    return SimpleNamespace(
        points=frame,
        material=SimpleNamespace(name="Reference EV"),
        protocol="sec-plasma@1.0",
        figure_label="Particles per µg protein",
        log_scale=log,
        provisional=provisional,
        limits=limits or {},
    )


POINTS = [
    (1, 1.0e10, None, []),
    (2, 1.1e10, None, []),
    (3, 2.9e10, "reject", ["1-2s", "1-3s"]),
    (4, 0.9e10, "accept", []),
    (5, 1.4e10, "warning", ["1-2s"]),
    (6, 1.0e10, "accept", []),
]
LOG_LIMITS = {k: 10 ** (10 + k * 0.12) for k in range(-3, 4)}


@pytest.mark.parametrize(
    ("log", "limits"), [(True, LOG_LIMITS), (False, {k: 1.2e10 + k * 4e9 for k in range(-3, 4)})], ids=["log", "linear"]
)
def test_levey_jennings_limits_points_levels_and_rules(log, limits):
    root = svg_root(charts.levey_jennings_chart(control(POINTS, log=log, provisional=log, limits=limits)))
    read_x, read_y = reader(root, "x", log=False), reader(root, "y", log=log)
    assert_ticks_agree(root, "y", log=log)
    assert_ticks_agree(root, "x", log=False)
    lines = root.findall(".//svg:line[@class='limit']", NS)
    assert {int(line.get("data-k")): read_y(float(line.get("y1"))) for line in lines} == pytest.approx(limits, rel=2e-3)
    words = [element.text for element in root.findall(".//svg:text[@class='limit']", NS)]
    assert words == ["-3 SD", "-2 SD", "-1 SD", "geometric mean" if log else "mean", "+1 SD", "+2 SD", "+3 SD"]
    shown = {name: [(round(read_x(px)), read_y(py)) for px, py in marks] for name, marks in groups(root).items()}
    expected = {
        "baseline (not judged)": [(1, 1.0e10), (2, 1.1e10)],
        "reject": [(3, 2.9e10)],
        "in control": [(4, 0.9e10), (6, 1.0e10)],
        "warning": [(5, 1.4e10)],
    }
    assert shown.keys() == expected.keys()
    for name, marks in expected.items():
        assert [x for x, _ in shown[name]] == [x for x, _ in marks]
        assert [y for _, y in shown[name]] == pytest.approx([y for _, y in marks], rel=2e-3)
    # Rule names above the points that broke them.
    rules = root.findall(".//svg:text[@class='rules']", NS)
    assert [(t.text, round(read_x(float(t.get("x"))))) for t in rules] == [("1-2s 1-3s", 3), ("1-2s", 5)]
    assert sorted(texts(root, "legend")) == sorted(expected)
    title = root.find("svg:title", NS).text
    assert title.startswith("Reference EV · sec-plasma@1.0 · Particles per µg protein")
    assert title.endswith("(provisional limits)") == log


def test_levey_jennings_legend_names_only_the_levels_shown_and_a_chart_without_limits():
    root = svg_root(charts.levey_jennings_chart(control(POINTS[:2])))
    assert texts(root, "legend") == ["baseline (not judged)"]
    assert root.findall(".//svg:line[@class='limit']", NS) == []
    assert "without limits yet" in root.find("svg:desc", NS).text


@pytest.mark.parametrize(
    "draw",
    [
        lambda: charts.yield_purity_scatter(scatter_frame([["one", [5e9], [2e10]]])),
        lambda: charts.yield_purity_scatter(scatter_frame([["same", [5e9] * 3, [2e10] * 3]])),
        lambda: charts.trend_chart(trend_frame([["2026-05", 3e10, None, 1]]), PURITY),
        lambda: charts.levey_jennings_chart(control([(1, 1e10, None, [])])),
        lambda: charts.levey_jennings_chart(control([(1, 0.0, "accept", []), (2, -1.0, "reject", ["1-3s"])])),
        lambda: charts.levey_jennings_chart(control([(1, -2.0, None, []), (2, 3.0, None, [])], log=False)),
    ],
    ids=["one point", "one place", "one month", "one control point", "nothing above zero", "negative, linear"],
)
def test_small_and_odd_series_are_drawn(draw):
    root = svg_root(draw())
    assert root.find("svg:title", NS).text and groups(root)
    assert len(ticks(root, "y")) >= 1
