"""Box plots are written as SVG directly (evlims/metrics/svg.py): the same boxes matplotlib computes, the axis
labelled with its unit, every group named with its n, in a fraction of matplotlib's time (bench/run.py pages)."""

import base64

import numpy as np
import pandas as pd
import pytest
from matplotlib import cbook

from evlims.metrics import charts, svg
from evlims.metrics.figures import PURITY

GROUPS = [
    ["sec · blood plasma", [1e10 * (1 + i % 7) for i in range(60)] + [9e11]],
    ["uc · urine", [3e9 * (1 + i % 5) for i in range(1200)]],
    ["one", [4e9]],
]


@pytest.mark.parametrize("points", [group[1] for group in GROUPS] + [[1.0, 2.0, 3.0, 4.0, 100.0]])
def test_boxes_are_matplotlibs(points):
    stats = cbook.boxplot_stats(np.asarray(points))[0]
    assert svg._box(points) == pytest.approx((stats["whislo"], stats["q1"], stats["med"], stats["q3"], stats["whishi"]))


def test_box_plot_names_groups_counts_and_the_unit(settings):
    frame = pd.DataFrame(
        {PURITY: [v for _, values in GROUPS for v in values], "group": [n for n, values in GROUPS for _ in values]}
    )
    uri = charts.box_plot(frame, PURITY, "group", by_label="method and biofluid")
    text = base64.b64decode(uri.split(",", 1)[1]).decode()
    assert text.startswith("<svg") and text.rstrip().endswith("</svg>")
    for name, values in GROUPS:
        assert f">{name}<" in text and f">n={len(values)}<" in text
    assert "by method and biofluid" in text and "(log)" in text and "µg" in text
    assert "10¹⁰" in text  # decade ticks of the log axis


def test_linear_axis_and_one_point():
    text = svg.box_plot_svg("Recovery by protocol", "Recovery (%)", [["a", [50.0]]], log=False, colours=["#000"])
    assert ">Recovery (%)<" in text and ">n=1<" in text
