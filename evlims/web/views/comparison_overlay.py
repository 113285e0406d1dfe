"""The method comparison's overlay of size distributions: the chart of the preparations a member ticked, a table
per series and every bin for the CSV."""

from ...metrics import compute, selectors
from ..reports.plots import Series, size_distribution_svg
from .data_tables import DataTable


def size_overlay(user, preparation_ids):
    """(chart, per-series summary table, every-bin table for CSV) of the ticked preparations. With none ticked
    (every first view) there is nothing to read: the empty tables come without a query or a frame."""
    if not preparation_ids:
        return None, _sizes_table([]), _bins_table([])
    bins = selectors.size_distributions(user, preparation_ids)
    grouped = list(bins.groupby(["barcode", "measurement"], sort=False))
    series = [
        Series(
            label=f"{barcode} (measurement {measurement})",
            bin_center_nm=rows["bin_center_nm"].tolist(),
            concentration_per_ml=rows["concentration_per_ml"].tolist(),
        )
        for (barcode, measurement), rows in grouped
    ]
    fractions = compute.small_ev_fraction(bins.assign(preparation=bins["measurement"]))
    fraction_of = dict(zip(fractions["preparation"], fractions["small_ev_fraction"], strict=True))
    summary = _sizes_table(
        [
            {
                "barcode": barcode,
                "measurement": measurement,
                "bins": len(rows),
                "total": float(rows["concentration_per_ml"].sum()),
                "mode": float(rows["bin_center_nm"].iloc[rows["concentration_per_ml"].argmax()]),
                "small": fraction_of.get(measurement),
            }
            for (barcode, measurement), rows in grouped
        ]
    )
    chart = size_distribution_svg(series, title="Size distributions") if series else None
    return chart, summary, _bins_table(bins.to_dict("records"))


def _sizes_table(rows) -> DataTable:
    return DataTable(
        "sizes",
        "Size distributions shown",
        [
            ("barcode", "Preparation", "text"),
            ("measurement", "Measurement", "int"),
            ("bins", "Bins", "int"),
            ("total", "Particles/mL (all bins)", "sci"),
            ("mode", "Mode bin (nm)", "num"),
            ("small", "Small-EV fraction", "num2"),
        ],
        rows,
        note="Every bin of these distributions is in the bins CSV.",
    )


def _bins_table(rows) -> DataTable:
    return DataTable(
        "size-bins",
        "Size distribution bins",
        [
            ("barcode", "Preparation", "text"),
            ("measurement", "Measurement", "int"),
            ("bin_center_nm", "Bin centre (nm)", "num"),
            ("concentration_per_ml", "Particles/mL in bin", "sci"),
        ],
        rows,
    )
