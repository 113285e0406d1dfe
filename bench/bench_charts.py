"""CPU time of drawing each dashboard chart once, cache cleared (time.process_time, so a loaded machine counts
only this process's work): the yield–purity scatter of 1,200 and of 4,000 points, a 24-month trend, a 40-point
Levey–Jennings chart and a 1,200-point box plot, through the public functions of evlims.metrics.charts.

    .venv/bin/python bench/bench_charts.py [--repeat 20]

Prints the median and the best of ``--repeat`` drawings per chart. The data are made up (seeded), the same on
every run and every commit, so the figures of two commits compare.
"""

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


def data():
    import numpy as np
    import pandas as pd

    from evlims.metrics.figures import PURITY, YIELD

    rng = np.random.default_rng(7)

    def scatter(points):
        protocols = ["SEC qEV 70 nm@1.0", "UC 100,000 g@2.1", "PEG precipitation@1", "TFF@3"]
        return pd.DataFrame(
            {
                "protocol": [protocols[i % 4] for i in range(points)],
                YIELD: 10 ** rng.normal(9.5, 0.6, points),
                PURITY: 10 ** rng.normal(10, 0.7, points),
                "group": [protocols[i % 4] for i in range(points)],
            }
        )

    months = 24
    trend = pd.DataFrame(
        {
            "metric": PURITY,
            "month": [f"{2025 + m // 12}-{m % 12 + 1:02d}" for m in range(months)],
            "mean": 10 ** rng.normal(10, 0.3, months),
            "sd": [None if m % 5 == 0 else 3e9 for m in range(months)],
            "n": rng.integers(1, 80, months),
        }
    )
    levels = ["accept"] * 34 + ["warning"] * 3 + ["reject"] * 3
    rng.shuffle(levels)
    points = pd.DataFrame(
        {
            "sequence": range(1, 41),
            "value": 10 ** rng.normal(10, 0.1, 40),
            "level": pd.Series([None] * 5 + levels[5:], dtype=object),
            "violated_rules": [["1-2s"] if level != "accept" else [] for level in levels],
        }
    )
    control = SimpleNamespace(
        points=points,
        material=SimpleNamespace(name="Reference EV"),
        protocol="SEC qEV 70 nm@1.0",
        figure_label="Particles per µg protein",
        log_scale=True,
        provisional=False,
        limits={k: 10 ** (10 + k * 0.1) for k in range(-3, 4)},
    )
    return scatter(1200), scatter(4000), trend, control


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    options = parser.parse_args(argv)
    import django

    django.setup()
    from django.core.cache import cache

    from evlims.metrics import charts
    from evlims.metrics.figures import PURITY

    small, large, trend, control = data()
    drawings = {
        "yield–purity scatter, 1,200 points": lambda: charts.yield_purity_scatter(small),
        "yield–purity scatter, 4,000 points": lambda: charts.yield_purity_scatter(large),
        "monthly trend, 24 months": lambda: charts.trend_chart(trend, PURITY),
        "Levey–Jennings, 40 points": lambda: charts.levey_jennings_chart(control),
        "box plot, 1,200 points": lambda: charts.box_plot(small, PURITY, "group"),
    }
    print(f"load average {os.getloadavg()[0]:.1f}; CPU ms per drawing (median, best of {options.repeat})")
    for name, draw in drawings.items():
        times, size = [], 0
        for _ in range(options.repeat):
            cache.clear()
            started = time.process_time()
            uri = draw()
            times.append((time.process_time() - started) * 1000)
            size = len(uri)
        print(f"  {name:<38} {statistics.median(times):8.1f} {min(times):8.1f}   {math.ceil(size / 1024)} kB")


if __name__ == "__main__":
    main()
