"""What the preparation page shows: its results grouped by kind, the figures with why one is missing, the size
plot, storage and functional studies, and the compliance summary (presenters; the views are in preparations)."""

import math

from django.core.exceptions import ObjectDoesNotExist

from ...characterization.models import Measurement
from ...compliance import selectors as compliance_selectors
from ...compliance.evidence import preparation_storage_days, sample_freeze_thaw, sample_storage_days
from ...compliance.markers import marker_vocabulary
from ...core.numbers import superscript_exponent
from ...instruments.particles import SIZE_FIGURES
from ...instruments.services import MEASURED_AT_GIVEN, MEASURED_AT_UPLOAD
from ...isolation.models import FunctionalControl
from ...metrics import figures
from ...metrics.compute import (
    CONDITIONED_MEDIUM,
    INDETERMINATE,
    NOT_INTERPRETABLE,
    purity_bands,
)
from ..reports.plots import Series, coarse_table, size_distribution_svg
from .results import DISPLAYABLE_IMAGE_TYPES


def _band_text(band) -> str:
    """A purity band's interval as read in thresholds.yaml, e.g. '2e+09 ≤ particles/µg ≤ 2e+10'."""
    low = f"{band.lower:.3g} {'≤' if band.lower_inclusive else '<'} " if math.isfinite(band.lower) else ""
    high = f" {'≤' if band.upper_inclusive else '<'} {band.upper:.3g}" if math.isfinite(band.upper) else ""
    return f"{low}particles/µg{high}"


PURITY_LABELS = {
    **{
        band.purity_class: f"{band.purity_class.replace('_', ' ').capitalize()} ({_band_text(band)})"
        for band in purity_bands()
    },
    INDETERMINATE: "Indeterminate: between the published bands",
    NOT_INTERPRETABLE: "Not interpretable: lipoprotein-rich biofluid without an APOB/APOA1 readout",
}
PURITY_SOURCE = "Webber & Clayton, J Extracell Vesicles 2013"


def _one_to_one(instance, name):
    """A reverse one-to-one fetched with select_related, or None when there is none."""
    try:
        return getattr(instance, name)
    except ObjectDoesNotExist:
        return None


def _numeric(values: dict, key: str) -> bool:
    return isinstance(values.get(key), int | float) and not isinstance(values.get(key), bool)


def _evidence(preparation, measurements, bins, input_counts) -> dict:
    """What the figures are computed from, to say why one is absent."""
    sample = preparation.input_aliquot.sample
    particle = [m for m in measurements if m.kind == Measurement.Kind.PARTICLE]
    protein = [m for m in measurements if m.kind == Measurement.Kind.PROTEIN]
    return {
        "particles": any(_numeric(m.values, "particles_per_ml") for m in particle),
        "protein": any(_numeric(m.values, "protein_ug_per_ml") for m in protein),
        "protein_zero": any(m.values.get("protein_ug_per_ml") == 0 for m in protein),
        "final_volume": preparation.final_volume_ul is not None,
        "conditioned": sample.biofluid == CONDITIONED_MEDIUM,
        "cells": sample.cell_count_at_harvest is not None,
        "input_counts": bool(input_counts),
        "mode": any(_numeric(m.values, "size_mode_nm") for m in particle),
        "d50": any(_numeric(m.values, "d50_nm") for m in particle),
        "bins": bool(bins),
        "sample": sample,
    }


def _missing(figure: str, evidence: dict) -> list[str]:
    """The inputs of a figure that the record lacks."""
    needs = []
    particles = "no particle concentration is recorded"
    volume = "the preparation's final volume is not recorded"
    protein = "no protein concentration is recorded"
    if figure == "particle_yield_per_ml_input":
        needs = [(evidence["particles"], particles), (evidence["final_volume"], volume)]
    elif figure == "particle_yield_per_million_cells":
        if not evidence["conditioned"]:
            return ["applies to conditioned cell-culture medium only"]
        needs = [
            (evidence["cells"], f"sample {evidence['sample'].barcode} has no cell count at harvest"),
            (evidence["particles"], particles),
            (evidence["final_volume"], volume),
        ]
    elif figure == "protein_yield_ug_per_ml_input":
        needs = [(evidence["protein"], protein), (evidence["final_volume"], volume)]
    elif figure in ("particles_per_ug", "purity_class"):
        needs = [(evidence["particles"], particles), (evidence["protein"], protein)]
        if evidence["protein"] and evidence["protein_zero"]:
            needs.append((False, "the protein concentration is 0, so there is no ratio"))
    elif figure == "recovery_pct":
        needs = [
            (evidence["particles"], particles),
            (evidence["final_volume"], volume),
            (evidence["input_counts"], f"the input sample {evidence['sample'].barcode} has no particle count"),
        ]
    elif figure == "size_mode_nm":
        needs = [(evidence["mode"], "no particle result gives a size mode")]
    elif figure == "size_median_nm":
        needs = [(evidence["d50"], "no particle result gives a D50")]
    elif figure == "small_ev_fraction":
        needs = [(evidence["bins"], "no size distribution is recorded")]
    return [reason for present, reason in needs if not present]


def metric_rows(preparation, metrics, measurements, bins, input_counts) -> list[dict]:
    """One row per figure: its value with the results it came from, or "—" with the reason it is absent."""
    evidence = _evidence(preparation, measurements, bins, input_counts)
    on_page = {m.pk for m in measurements}
    rows = []
    for shown in figures.NUMBERS:
        figure = shown.key
        value = getattr(metrics, figure) if metrics else None
        row = {"figure": figure, "label": shown.label, "unit": shown.unit, "value": None, "sources": [], "why": ""}
        if value is not None:
            row["value"] = shown.shown(value)
            if shown.from_size_distribution:
                ids = sorted(bins)  # computed from the stored size distributions, not from headline values
            else:
                ids = (metrics.provenance or {}).get(figure, [])
            row["sources"] = [{"id": pk, "on_page": pk in on_page} for pk in ids]
        elif metrics is None:
            row["why"] = "not computed yet: figures are computed after results are recorded"
        else:
            reasons = _missing(figure, evidence)
            row["why"] = "; ".join(reasons) or (
                "the recorded inputs give no figure, or it has not been recomputed since the latest result"
            )
        if figure == figures.PURITY:
            purity = metrics.purity_class if metrics else None
            row["purity"] = PURITY_LABELS.get(purity, purity) if purity else None
        rows.append(row)
    return rows


def compliance_summary(evaluation) -> dict | None:
    if evaluation is None:
        return None
    failing = compliance_selectors.mandatory_failures(evaluation.full_report, compliance_selectors.MISEV_REPORT_KEYS)
    ev_metric = (evaluation.full_report or {}).get("ev_metric") or {}
    return {
        "evaluation": evaluation,
        "score": evaluation.ev_metric_pct,
        "points": ev_metric.get("points"),
        "applicable": ev_metric.get("applicable"),
        "failing": failing,
    }


# (field of the particle result, label, number format): the concentrations, then every size figure.
PARTICLE_FIGURES = (
    ("concentration_per_ml", "Concentration (particles/mL)", ".4g"),
    ("instrument_average_concentration_per_ml", "Instrument's average (particles/mL)", ".4g"),
    *((figure.key, figure.heading, ".1f") for figure in SIZE_FIGURES),
)


def _dilution_note(analysis) -> str:
    if analysis.dilution_factor is None:
        return "not recorded: the concentration is as measured in the cell"
    if analysis.dilution_applied_in_file:
        return f"×{analysis.dilution_factor:g}, already applied by the instrument"
    if analysis.dilution_applied_in_file is False:
        return f"×{analysis.dilution_factor:g}, applied here to the cell concentration"
    return f"×{analysis.dilution_factor:g}"


def _particle_view(measurement, bins) -> dict:
    analysis = measurement.particle
    captures = list(analysis.captures.all())
    centres, values = bins.get(measurement.pk, ([], []))
    rows = []
    for name, label, style in PARTICLE_FIGURES:
        value = getattr(analysis, name)
        rows.append(
            {
                "label": label,
                "value": None if value is None else superscript_exponent(format(value, style)),
                "computed": name in (analysis.computed or []),
            }
        )
    return {
        "measurement": measurement,
        "analysis": analysis,
        "figures": rows,
        "dilution": _dilution_note(analysis),
        "captures": captures,
        "invalid_count": sum(1 for capture in captures if not capture.valid),
        "in_mean": sum(1 for capture in captures if capture.included_in_mean),
        "left_out": [(number, capture) for number, capture in enumerate(captures, 1) if not capture.included_in_mean],
        "measured_from": _measured_from(analysis.computed or []),
        "table": coarse_table(centres, values),
    }


def _measured_from(computed: list[str]) -> str:
    """Where a particle result's measurement time comes from, in the lab's words."""
    if MEASURED_AT_GIVEN in computed:
        return "as given when recorded; the file states none"
    if MEASURED_AT_UPLOAD in computed:
        return "the upload time; the file states none"
    return "from the file"


def _marker_view(measurement) -> dict:
    marker = measurement.marker
    titles = marker_vocabulary().subcategory_titles
    categories = [code for code in marker.misev_category.split(",") if code]
    return {
        "measurement": measurement,
        "marker": marker,
        "categories": [{"code": code, "title": titles.get(code, "")} for code in categories],
    }


def grouped_results(measurements, bins) -> list[dict]:
    """Results by kind, in the order of Measurement.Kind, each kind with what its table shows."""
    groups = {kind: [] for kind in Measurement.Kind.values}
    for measurement in measurements:
        kind = measurement.kind
        if kind == Measurement.Kind.PARTICLE:
            groups[kind].append(_particle_view(measurement, bins))
        elif kind == Measurement.Kind.MARKER:
            groups[kind].append(_marker_view(measurement))
        elif kind == Measurement.Kind.IMAGING:
            images = [
                {"raw": raw, "displayable": raw.content_type in DISPLAYABLE_IMAGE_TYPES}
                for raw in measurement.imaging.images.all()
            ]
            groups[kind].append({"measurement": measurement, "imaging": measurement.imaging, "images": images})
        else:
            groups[kind].append({"measurement": measurement})
    return [
        {"kind": kind, "label": label, "items": groups[kind]}
        for kind, label in Measurement.Kind.choices
        if groups[kind]
    ]


def size_plot(measurements, bins) -> str | None:
    series = [
        Series(f"{m.method} {m.measured_at:%Y-%m-%d} (#{m.pk})", *bins[m.pk]) for m in measurements if m.pk in bins
    ]
    return size_distribution_svg(series)


def preparation_results(preparation) -> list[Measurement]:
    """Every result of the preparation with its typed detail, captures and images, in a fixed number of queries.

    The typed details (particle, protein, marker, imaging, analyte) are read by id, one query each, rather than
    joined to the results: one ten-table join took longer to plan than these queries take to run, and with
    stale table statistics PostgreSQL scanned every particle, protein and imaging row of the database for it.
    """
    return list(
        Measurement.objects.filter(preparation=preparation)
        .select_related("raw_file", "ingestion", "recorded_by", "instrument")
        .prefetch_related("particle__captures", "protein", "marker", "imaging__images", "analyte")
        .order_by("measured_at", "id")
    )


def storage_view(preparation, measurements) -> dict:
    """Storage figures of the sample and the preparation, each saying whether it was typed or derived (and
    from what), as the experiment document carries them."""
    sample = preparation.input_aliquot.sample
    return {
        "sample_days": sample_storage_days(sample, preparation.run),
        "sample_freeze_thaw": sample_freeze_thaw(preparation.input_aliquot),
        "preparation_days": preparation_storage_days(preparation, measurements),
    }


def functional_studies_view(preparation) -> list[dict]:
    labels = dict(FunctionalControl.choices)
    return [
        {**study, "control_labels": [labels.get(code, code) for code in study.get("controls") or ()]}
        for study in preparation.functional_studies or ()
    ]
