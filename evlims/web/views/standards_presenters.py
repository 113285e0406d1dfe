"""Spike recoveries, dilution linearity and league rows as the pages show them: numbers written out, units
named, codes in words."""

from django.urls import reverse

from ...core.numbers import power_of_ten, significant
from ...standards.linearity import SeriesError, assess
from ...standards.recovery import GROUPS, preparation_recoveries, summarise, user_recoveries
from ..display import label

EMPTY = "—"


def recovery_words(percent, uncertainty) -> str:
    """ "40.0 ± 4.5 %" (the ± is the standard uncertainty, k=1)."""
    if percent is None:
        return EMPTY
    if not uncertainty:
        return f"{percent:.1f} %"
    return f"{percent:.1f} ± {significant(uncertainty, 2)} %"


def amount_words(value, unit: str) -> str:
    return EMPTY if value is None else power_of_ten(value, f" {unit}" if unit else "")


def recovery_rows(rows) -> list[dict]:
    shown = []
    for row in rows:
        readout, result = row.readout, row.recovery
        spike = readout.spike
        shown.append(
            {
                "id": readout.pk,
                "url": reverse("evlims:standards-readout", args=[readout.pk]),
                "spike_url": reverse("evlims:standards-spike", args=[spike.pk]),
                "preparation": readout.preparation.barcode,
                "preparation_url": reverse("evlims:preparation-detail", args=[readout.preparation_id]),
                "run": row.run.code,
                "method": label(row.run.method, "method") if row.run.method else EMPTY,
                "operator": row.run.operator.get_username(),
                "lot": str(spike.lot),
                "lot_url": reverse("evlims:standards-lot", args=[spike.lot_id]),
                "spiked_into": spike.aliquot.barcode if spike.aliquot_id else f"run {spike.run.code}",
                "readout": power_of_ten(readout.value, f" {readout.unit}"),
                "spiked": amount_words(result.spiked, result.unit),
                "recovered": amount_words(result.recovered, result.unit),
                "recovery": recovery_words(result.percent, result.percent_uncertainty),
                "problem": result.problem,
                "measured_at": readout.measured_at,
            }
        )
    return shown


def budget_rows(result) -> list[dict]:
    """A recovery's uncertainty budget: each input, what it gives in % points, and its share of the variance."""
    return [
        {
            "source": line.source,
            "label": line.label,
            "contribution": f"{significant(100 * line.contribution, 2)} % points",
            "share": f"{100 * line.share:.0f} %",
        }
        for line in result.budget
    ]


def summary_rows(rows, by: str) -> list[dict]:
    lines = summarise(rows, by)
    for line in lines:
        group = line["group"]
        line["label"] = (label(group, "method") if group else "(no method recorded)") if by == "method" else group
        line["recovery"] = recovery_words(line["recovery_pct"], line["uncertainty_pct"])
        line["sd"] = EMPTY if line["sd_pct"] is None else f"{line['sd_pct']:.1f} %"
        line["cv"] = EMPTY if line["cv_pct"] is None else f"{line['cv_pct']:.1f} %"
    return lines


def comparison_recovery(user, filters) -> list[dict]:
    """Spike recovery per separation method of the runs the method comparison's filters keep."""
    rows = [
        row
        for row in user_recoveries(user, biofluid=filters.biofluid)
        if (not filters.method or row.run.method == filters.method)
        and (not filters.operator or row.run.operator_id == filters.operator)
        and (not filters.protocol_version or row.run.protocol_version_id == filters.protocol_version)
        and (not filters.started_from or (row.run.started_at and row.run.started_at.date() >= filters.started_from))
        and (not filters.started_to or (row.run.started_at and row.run.started_at.date() <= filters.started_to))
    ]
    return summary_rows(rows, "method")


def summaries(rows) -> list[dict]:
    return [{"by": by, "title": title, "lines": summary_rows(rows, by)} for by, title in GROUPS.items() if by != "run"]


def _per_ml(value) -> str:
    return EMPTY if value is None else power_of_ten(value, "/mL")


def linearity_view(series) -> dict:
    try:
        result = assess(series.points, series.technique)
    except SeriesError as error:
        return {"problem": str(error), "dilutions": []}
    return {
        "pi": significant(result.proportionality_index, 3),
        "pi_limits": None
        if result.pi_limits is None
        else f"{significant(result.pi_limits[0], 3)} to {significant(result.pi_limits[1], 3)}",
        "evidence": result.evidence,
        "source": result.source,
        "concentration": EMPTY
        if result.concentration_per_ml is None
        else power_of_ten(result.concentration_per_ml, "/mL"),
        "used": ", ".join(f"1:{factor:g}" for factor in result.used) or EMPTY,
        "problem": result.problem,
        "dilutions": [
            {
                "dilution": f"1:{d.factor:g}",
                "readings": len(d.readings),
                "mean": power_of_ten(d.mean, "/mL"),
                "undiluted": power_of_ten(d.undiluted, "/mL"),
                "cv": EMPTY if d.cv is None else f"{100 * d.cv:.1f} %",
                "deviation": f"{100 * d.relative_residual:+.1f} %",
                "in_range": d.in_linear_range,
                "why": d.why_outside,
            }
            for d in result.dilutions
        ],
    }


def preparation_standards(preparation) -> dict:
    """What the preparation page shows: its spike recoveries and its dilution series."""
    series = list(preparation.dilution_series.select_related("instrument").order_by("-measured_at", "-id"))
    return {
        "recoveries": recovery_rows(preparation_recoveries(preparation)),
        "series": [{"record": item, "linearity": linearity_view(item)} for item in series],
    }


def league_rows(table) -> list[dict]:
    return [
        {
            "rank": row.rank,
            "biofluid": label(row.biofluid, "biofluid"),
            "method": label(row.method, "method") if row.method else "(no method recorded)",
            "recovery": recovery_words(row.recovery_pct, row.recovery_uncertainty_pct),
            "recovery_runs": row.recovery_runs,
            "purity": EMPTY if row.purity_particles_per_ug is None else power_of_ten(row.purity_particles_per_ug),
            "purity_runs": row.purity_runs,
            "confounded": f"{row.lipoprotein_confounded} of {row.preparations}",
            "cv": EMPTY if row.yield_cv_pct is None else f"{row.yield_cv_pct:.1f} %",
            "cv_runs": row.yield_runs,
        }
        for row in table
    ]
