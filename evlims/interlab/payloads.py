"""A round's statistics as plain data, cut to what the reader may see: the coordinator sees every participant
with its lab; a participant sees its own results and, once the round is closed, its scores and every result by
participant code only (no lab, no item code, no record id). The API, the pages and the reports read these."""

from __future__ import annotations

import csv
import io

from ..core.spreadsheets import neutralise
from . import statistics as iso
from .models import ComparisonRound
from .scoring import Assessment, ScoredResult, pseudonymised

SCORE_KEYS = ("z", "z_prime", "zeta", "en")
SCORE_LABELS = {"z": "z", "z_prime": "z′", "zeta": "ζ", "en": "En"}


def _check(check: iso.CheckResult | None) -> dict | None:
    if check is None:
        return None
    return {"passed": check.passed, "statistic": check.statistic, "limit": check.limit, "detail": check.detail}


def _result(result: ScoredResult, *, with_lab: bool, with_scores: bool) -> dict:
    row = {"participant": result.participant, "item": result.item, "value": result.value}
    row["standard_uncertainty"] = result.standard_uncertainty
    if with_lab:
        row["lab"] = result.lab_name
    scores = result.scores if with_scores else None
    bands = result.bands() if with_scores else {}
    for key in SCORE_KEYS:
        row[key] = getattr(scores, key) if scores else None
        row[f"{key}_band"] = bands.get(key)
    return row


def round_statistics(assessment: Assessment, *, coordinator: bool, own_lab_ids=()) -> dict:
    round_ = assessment.round
    closed = round_.status == ComparisonRound.Status.CLOSED
    data = {
        "round": round_.pk,
        "status": round_.status,
        "status_label": round_.get_status_display(),
        "sigma_pt": round_.sigma_pt,
        "assigned_from": round_.assigned_from,
        "assigned_from_label": round_.get_assigned_from_display(),
        "final": closed,
    }
    show_figures = coordinator or closed
    assigned = assessment.assigned if show_figures else None
    data |= {
        "assigned_value": assigned.value if assigned else None,
        "assigned_uncertainty": assigned.standard_uncertainty if assigned else None,
        "robust_mean": assessment.robust.mean if show_figures and assessment.robust else None,
        "robust_sd": assessment.robust.sd if show_figures and assessment.robust else None,
        "participants_reported": len(assessment.results) if show_figures else None,
        "z_usable": assessment.z_usable if assigned else None,
        "notes": list(assessment.notes) if show_figures else [],
        "problem": assessment.problem if coordinator else "",
        "homogeneity": _check(assessment.homogeneity) if show_figures else None,
        "stability": _check(assessment.stability) if show_figures else None,
    }
    if coordinator:
        data["results"] = [_result(r, with_lab=True, with_scores=True) for r in assessment.results]
        data["summary"] = pseudonymised(assessment)
    else:
        labs = set(own_lab_ids)
        own = [r for r in assessment.results if r.lab_id in labs]
        data["results"] = [_result(r, with_lab=False, with_scores=closed) for r in own]
        data["summary"] = pseudonymised(assessment) if closed else []
    return data


def _cell(value) -> str:
    """Numbers as written (a negative score is a number, not a formula); text made safe for spreadsheets."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        return repr(float(value))
    return neutralise(value)


RESULT_COLUMNS = (
    "participant",
    "item",
    "value",
    "standard_uncertainty",
    "z",
    "z_band",
    "z_prime",
    "z_prime_band",
    "zeta",
    "zeta_band",
    "en",
    "en_band",
)


def statistics_csv(round_: ComparisonRound, data: dict) -> str:
    """The round (or one participant's part of it) as CSV: the assigned value, then one row per result."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["scheme", round_.scheme.code, round_.scheme.name])
    writer.writerow(["round", round_.code, round_.get_status_display()])
    writer.writerow(["quantity", round_.scheme.get_quantity_display()])
    for key in ("assigned_value", "assigned_uncertainty", "robust_mean", "robust_sd", "sigma_pt"):
        writer.writerow([key, _cell(data.get(key))])
    writer.writerow([])
    columns = ("lab", *RESULT_COLUMNS) if any("lab" in row for row in data["results"]) else RESULT_COLUMNS
    writer.writerow(columns)
    for row in data["results"]:
        writer.writerow([_cell(row.get(column)) for column in columns])
    if data["summary"] and not any("lab" in row for row in data["results"]):
        writer.writerow([])
        writer.writerow(["summary: participant", "value", "z", "z_band"])
        for row in data["summary"]:
            writer.writerow([_cell(row[key]) for key in ("participant", "value", "z", "z_band")])
    return buffer.getvalue()


MANIFEST_COLUMNS = ("item", "participant", "participant_lab", "aliquot", "material", "shipping", "shipped_at")


def manifest_csv(round_: ComparisonRound) -> str:
    """The kit manifest the coordinator packs with the items: one line per item."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(MANIFEST_COLUMNS)
    for item in round_.items.select_related("participant__lab", "aliquot").order_by("code"):
        writer.writerow(
            [
                neutralise(value)
                for value in (
                    item.code,
                    item.participant.code,
                    item.participant.lab.name,
                    item.aliquot.barcode if item.aliquot else "",
                    round_.material,
                    item.get_shipping_display() if item.shipping else "",
                    item.shipped_at.isoformat() if item.shipped_at else "",
                )
            ]
        )
    return buffer.getvalue()
