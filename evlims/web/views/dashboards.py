"""Lab dashboard, method comparison and Levey–Jennings pages.

Each page builds its tables once as ``DataTable`` objects: the template shows them and ``?export=<name>``
returns the same rows as CSV, so what is downloaded is exactly what is shown (with full precision).
"""

import codecs
import csv
import io
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from urllib.parse import urlencode

import numpy as np
import pandas as pd
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from ...characterization.plots import Series, size_distribution_svg
from ...compliance.models import Review
from ...core.spreadsheets import neutralise
from ...core.tenancy import labs_where
from ...metrics import charts, compute, control_charts, controls, selectors, services, summaries
from ...metrics.models import PreparationMetrics
from ...metrics.selectors import FIGURE_LABELS, PURITY, TRACKED_FIGURES, YIELD, MetricFilters
from ..forms.dashboards import (
    DEFAULT_MONTHS,
    ComparisonFilterForm,
    ControlMaterialForm,
    DashboardWindowForm,
    LinkSamplesForm,
    RecomputeForm,
    window_start,
)
from .common import member_view, run_service, scoped

# The table is for reading single preparations and ticking a few to overlay; the CSV holds every row, and the
# filters reach the others. Rendering 500 rows took longer than everything else on the page together.
SHOWN_POINTS = 100
GROUPINGS = {
    "method_biofluid": ("Method and biofluid", ["method", "biofluid"]),
    "protocol": ("Protocol", ["protocol"]),
    "operator": ("Operator", ["operator"]),
    "instrument": ("Particle instrument", ["instrument"]),
    "month": ("Month", ["month"]),
}
DEFAULT_GROUPING = "method_biofluid"
DASHBOARD_FIGURES = "evlims/dashboards/_dashboard_figures.html"
COMPARISON_FIGURES = "evlims/dashboards/_comparison_figures.html"


@dataclass
class DataTable:
    """Rows of raw values under (key, label, kind) columns; kind picks the display format."""

    name: str
    title: str
    columns: list[tuple[str, str, str]]
    rows: list[dict] = field(default_factory=list)
    note: str = ""
    # When the page lists only some rows, the CSV takes every row from here.
    all_rows: Callable[[], list[dict]] | None = None

    # Column whose value identifies a row (e.g. for the overlay checkboxes); not shown itself.
    key: str = ""

    def display_rows(self):
        return [
            {"key": row.get(self.key), "cells": [_display(row.get(key), kind) for key, _, kind in self.columns]}
            for row in self.rows
        ]

    def csv_response(self) -> HttpResponse:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([label for _, label, _ in self.columns])
        for row in self.all_rows() if self.all_rows else self.rows:
            writer.writerow([_csv_cell(row.get(key)) for key, _, _ in self.columns])
        # BOM so spreadsheet programs read µ as UTF-8.
        response = HttpResponse(codecs.BOM_UTF8 + buffer.getvalue().encode(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="evlims-{self.name}.csv"'
        return response


def _missing(value) -> bool:
    return value is None or (not isinstance(value, str | tuple | list) and bool(pd.isna(value)))


def _display(value, kind):
    """(text, css class, link) of one cell; a missing figure shows as a dash, never as 0."""
    align = "" if kind in ("text", "link") else "text-end"
    if kind == "link":
        return (value[0], align, value[1]) if value else ("—", align, None)
    if _missing(value):
        return ("—", align, None)
    if kind == "sci":
        return (f"{value:.3g}" if abs(value) < 1e4 else f"{value:.2e}", align, None)
    if kind == "num":
        return (f"{value:.1f}", align, None)
    if kind == "num2":
        return (f"{value:.2f}", align, None)
    return (str(value), align, None)


def _csv_cell(value):
    if isinstance(value, tuple):
        value = value[0]
    if isinstance(value, np.generic):
        value = value.item()
    if _missing(value):
        return ""
    if isinstance(value, bool | int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return neutralise(value)


def _export_query(request) -> str:
    params = request.GET.copy()
    params.pop("export", None)
    return params.urlencode()


def _respond(request, template, context, tables, figures=None):
    """The page, or ``?export=<name>`` as CSV. ``figures()`` gives the tables of the page's cached part; they
    are built only when one of them is exported."""
    wanted = request.GET.get("export")
    if wanted:
        table = next((table for table in [*tables, *(figures() if figures else [])] if table.name == wanted), None)
        if table is None:
            raise Http404("No such table on this page.")
        return table.csv_response()
    tables_by_name = {table.name: table for table in tables}
    return render(request, template, {**context, "tables": tables_by_name, "export_query": _export_query(request)})


def _cached_html(request, kind, params, template, build_context, keys) -> str:
    """The page's data-heavy part rendered once per version of the labs' data (``summaries.cached``): a
    repeated view reads two aggregates instead of every preparation, and a new result shows at once. Only the
    page's own ``keys`` of the query string are kept in its CSV links, so made-up parameters add no entries."""
    query = request.GET.copy()
    for name in [name for name in query if name not in keys]:
        query.pop(name)
    export_query = query.urlencode()
    build = _fragment(template, build_context, export_query)
    html = summaries.cached(request.user, kind, [params, export_query], build)
    return mark_safe(html)  # rendered (and escaped) by the template engine above


def _fragment(template, build_context, export_query):
    """The cached part of a page. It must not depend on who asks beyond their labs (no CSRF token, name or
    role-dependent link): members of the same labs share it, and a worker renders it for them."""
    return lambda: render_to_string(template, {**build_context(), "export_query": export_query})


def warm_default_views(lab_id: int) -> list[str]:
    """Render the dashboard and the comparison as a member of this lab alone first sees them (default window
    and grouping, no parameter in the address) into the cache under the lab's current data version; returns
    the pages stored. Run by a worker when a metric job completes; a lab without stored figures is skipped."""
    if not PreparationMetrics.objects.filter(lab_id=lab_id).exists():
        return []
    reader = summaries.LabReader(lab_id)
    since = window_start(DEFAULT_MONTHS)
    filters = MetricFilters(started_from=since)
    pages = {
        "dashboard": (
            [since.isoformat()],
            DASHBOARD_FIGURES,
            partial(_dashboard_figures, reader, since, DEFAULT_MONTHS),
        ),
        "comparison": (
            [asdict(filters), DEFAULT_GROUPING, []],
            COMPARISON_FIGURES,
            partial(_comparison_content, reader, filters, DEFAULT_GROUPING, []),
        ),
    }
    return [
        kind
        for kind, (params, template, build_context) in pages.items()
        if summaries.store_settled(lab_id, kind, [params, ""], _fragment(template, build_context, ""))
    ]


def _summary_table(name, title, summary, by_columns) -> DataTable:
    columns = [(key, label, "text") for key, label in by_columns]
    columns += [("figure", "Figure", "text"), ("n", "n", "int"), ("mean", "Mean", "sci")]
    columns += [("sd", "SD", "sci"), ("cv_pct", "CV %", "num")]
    rows = [
        record | {"figure": FIGURE_LABELS.get(record["metric"], record["metric"])}
        for record in summary.to_dict("records")
    ]
    return DataTable(name, title, columns, rows, note="CV is given from n = 2; missing figures are not counted.")


def _local(moment) -> str | None:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else None


def _run_link(code, pk):
    return (code, reverse("evlims:run-detail", args=[pk]))


# -- lab dashboard -----------------------------------------------------------------------------------------


@member_view
def dashboard(request):
    user = request.user
    window = DashboardWindowForm(request.GET)
    if not window.is_valid():
        context = {"window": window, "default_months": DEFAULT_MONTHS}
        return render(request, "evlims/dashboards/dashboard.html", context, status=400)
    months = window.months_shown()
    since = window_start(months)
    review_counts, reviews = selectors.open_reviews(user)
    tables = [_runs_table(selectors.recent_runs(user)), _reviews_table(reviews)]
    figures = partial(_dashboard_figures, user, since, months)
    context = {
        "window": window,
        "months": months,
        "since": since,
        "review_counts": [(Review.State(state).label, count) for state, count in review_counts.items()],
        "jobs": selectors.metric_jobs(user),
        "recompute_form": RecomputeForm(user=user) if labs_where(user, controls.ADMIN_ROLES) else None,
    }
    if not request.GET.get("export"):
        params = [since.isoformat()]
        context["figures_html"] = _cached_html(request, "dashboard", params, DASHBOARD_FIGURES, figures, ["months"])
    return _respond(request, "evlims/dashboards/dashboard.html", context, tables, lambda: figures()["figures"].values())


def _dashboard_figures(user, since, months) -> dict:
    trend = summaries.month_summary(user, MetricFilters(started_from=since))
    trend_table = _summary_table("trend", f"Figures by month (last {months} months)", trend, [("month", "Month")])
    return {
        "figures": {"trend": trend_table, "alerts": _alerts_table(control_charts.drift_alerts(user))},
        "trend_charts": [(FIGURE_LABELS[f], charts.trend_chart(trend, f)) for f in TRACKED_FIGURES],
    }


def _runs_table(runs) -> DataTable:
    return DataTable(
        "runs",
        "Recent runs",
        [
            ("run", "Run", "link"),
            ("status", "Status", "text"),
            ("protocol", "Protocol", "text"),
            ("started_at", "Started", "text"),
            ("preparations", "Preparations", "int"),
        ],
        [
            {
                "run": _run_link(run.code, run.pk),
                "status": run.get_status_display(),
                "protocol": str(run.protocol_version) if run.protocol_version else run.protocol_name or None,
                "started_at": _local(run.started_at),
                "preparations": run.preparation_count,
            }
            for run in runs
        ],
    )


def _reviews_table(reviews) -> DataTable:
    return DataTable(
        "reviews",
        "Open QA reviews",
        [
            ("subject", "Subject", "text"),
            ("state", "State", "text"),
            ("submitted_by", "Submitted by", "text"),
            ("submitted_at", "Submitted", "text"),
        ],
        [
            {
                "subject": str(review.preparation or review.run),
                "state": review.get_state_display(),
                "submitted_by": review.submitted_by.get_username(),
                "submitted_at": _local(review.submitted_at),
            }
            for review in reviews
        ],
    )


def _alerts_table(alerts) -> DataTable:
    return DataTable(
        "alerts",
        "Control-chart alerts (latest point broke a rule)",
        [
            ("material", "Control material", "link"),
            ("protocol", "Protocol", "text"),
            ("figure", "Figure", "text"),
            ("run", "Run", "text"),
            ("value", "Value", "sci"),
            ("level", "Level", "text"),
            ("rules", "Rules", "text"),
        ],
        [_alert_row(chart) for chart in alerts],
    )


def _alert_row(chart) -> dict:
    latest = chart.latest
    return {
        "material": (chart.material.name, _series_url(chart)),
        "protocol": chart.protocol,
        "figure": chart.figure_label,
        "run": latest["run_code"],
        "value": latest["value"],
        "level": control_charts.level_label(latest["level"]),
        "rules": ", ".join(latest["violated_rules"]),
    }


@member_view
@require_POST
def recompute_all(request):
    form = RecomputeForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, "Only a lab admin can recompute the figures of a lab.")
        return redirect("evlims:dashboard")
    job = services.job_create(lab=form.cleaned_data["lab"], full=True)
    messages.success(request, f"Recomputing every figure of {form.cleaned_data['lab'].name} (job {job.pk}).")
    return redirect("evlims:dashboard")


@member_view
def job_status(request, pk):
    job = selectors.metric_job_get(request.user, pk)
    if job is None:
        raise Http404("No such job in your labs.")
    return render(request, "evlims/dashboards/_job_status.html", {"job": job})


# -- method comparison -------------------------------------------------------------------------------------

POINT_COLUMNS = [
    ("barcode", "Preparation", "link"),
    ("run_code", "Run", "text"),
    ("month", "Month", "text"),
    ("protocol", "Protocol", "text"),
    ("method", "Method", "text"),
    ("biofluid", "Biofluid", "text"),
    ("operator", "Operator", "text"),
    ("instrument", "Particle instrument", "text"),
    (YIELD, FIGURE_LABELS[YIELD], "sci"),
    (PURITY, FIGURE_LABELS[PURITY], "sci"),
    ("purity_class", "Purity class", "text"),
]


def _point_rows(frame) -> list[dict]:
    rows = []
    for record in frame.to_dict("records"):
        url = reverse("evlims:preparation-detail", args=[record["preparation"]])
        rows.append(record | {"barcode": (record["barcode"], url)})
    return rows


def _size_overlay(user, preparation_ids):
    """(chart, per-series summary table, every-bin table for CSV) of the ticked preparations."""
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
    summary = DataTable(
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
        ],
        note="Every bin of these distributions is in the bins CSV.",
    )
    every_bin = DataTable(
        "size-bins",
        "Size distribution bins",
        [
            ("barcode", "Preparation", "text"),
            ("measurement", "Measurement", "int"),
            ("bin_center_nm", "Bin centre (nm)", "num"),
            ("concentration_per_ml", "Particles/mL in bin", "sci"),
        ],
        bins.to_dict("records"),
    )
    chart = size_distribution_svg(series, title="Size distributions") if series else None
    return chart, summary, every_bin


# Columns the comparison's charts and summaries read for every preparation; the listed rows are read with
# every column (the particle instrument is a subquery per row).
COMPARED_COLUMNS = ("preparation", "started_at", "protocol", "method", "biofluid", *selectors.SUMMARY_FIGURES)


@member_view
def comparison(request):
    user = request.user
    form = ComparisonFilterForm(request.GET, user=user)
    groupings = [(key, label) for key, (label, _) in GROUPINGS.items()]
    if not form.is_valid():
        context = {"form": form, "invalid": True, "groupings": groupings, "default_months": DEFAULT_MONTHS}
        return render(request, "evlims/dashboards/comparison.html", context, status=400)
    filters = form.filters()
    grouping = request.GET.get("group", DEFAULT_GROUPING)
    grouping = grouping if grouping in GROUPINGS else DEFAULT_GROUPING
    overlay_ids = form.cleaned_data["overlay"]
    content = partial(_comparison_content, user, filters, grouping, overlay_ids)
    context = {"form": form, "groupings": groupings, "grouping": grouping, "overlay_ids": set(overlay_ids)}
    context["default_months"] = DEFAULT_MONTHS
    if not request.GET.get("export"):
        params = [asdict(filters), grouping, overlay_ids]
        keys = [*ComparisonFilterForm.base_fields, "group"]
        context["figures_html"] = _cached_html(request, "comparison", params, COMPARISON_FIGURES, content, keys)
    return _respond(request, "evlims/dashboards/comparison.html", context, [], lambda: content()["tables"].values())


def _comparison_content(user, filters, grouping, overlay_ids) -> dict:
    group_label, group_columns = GROUPINGS[grouping]
    columns = [*COMPARED_COLUMNS, *(column for column in group_columns if column not in COMPARED_COLUMNS)]
    frame = selectors.metrics_frame(user, filters, columns=[c for c in columns if c != "month"])
    summary = selectors.group_summary(frame, group_columns, selectors.recorded_figures(frame))
    overlay_chart, sizes_table, bins_table = _size_overlay(user, overlay_ids)
    labelled = frame.assign(method_biofluid=frame["method"].fillna("(no method)") + " · " + frame["biofluid"])
    listed = selectors.metrics_frame(user, filters, limit=SHOWN_POINTS)
    points = DataTable(
        "points",
        "Preparations",
        POINT_COLUMNS,
        _point_rows(listed),
        all_rows=lambda: _point_rows(selectors.metrics_frame(user, filters)),
        key="preparation",
    )
    if len(frame) > SHOWN_POINTS:
        points.note = f"The first {SHOWN_POINTS} of {len(frame)} preparations are listed; the CSV holds them all."
    summary_table = _summary_table(
        "summary",
        f"Summary by {group_label.lower()}",
        summary,
        [(column, column.replace("_", " ").capitalize()) for column in group_columns],
    )
    return {
        "tables": {table.name: table for table in (summary_table, points, sizes_table, bins_table)},
        "count": len(frame),
        "overlay_ids": set(overlay_ids),
        "charts": {
            "scatter": charts.yield_purity_scatter(frame),
            "box_purity": charts.box_plot(labelled, PURITY, "method_biofluid", by_label="method and biofluid"),
            "box_yield": charts.box_plot(labelled, YIELD, "method_biofluid", by_label="method and biofluid"),
            "overlay": overlay_chart,
        },
        "not_on_log_axes": int((~(frame[YIELD].gt(0) & frame[PURITY].gt(0))).sum()),
    }


# -- control materials and Levey–Jennings charts --------------------------------------------------------------

WESTGARD_COLUMNS = [
    ("sequence", "#", "int"),
    ("barcode", "Preparation", "text"),
    ("run_code", "Run", "text"),
    ("started_at", "Run started", "text"),
    ("value", "Value", "sci"),
    ("z_score", "z", "num2"),
    ("level", "Verdict", "text"),
    ("rules", "Rules broken", "text"),
]


def _series_url(chart) -> str:
    url = reverse("evlims:control-detail", args=[chart.material.pk])
    return f"{url}?{urlencode({'protocol': chart.protocol, 'figure': chart.figure})}"


def _westgard_rows(chart) -> list[dict]:
    return [
        record
        | {
            "started_at": record["started_at"].strftime("%Y-%m-%d") if not _missing(record["started_at"]) else None,
            "level": control_charts.level_label(record["level"]),
            "rules": ", ".join(record["violated_rules"] or ()) or None,
        }
        for record in chart.points.to_dict("records")
    ]


@member_view
def control_list(request):
    materials = list(control_charts.materials_for(request.user))
    series = DataTable(
        "series",
        "Control series",
        [
            ("material", "Control material", "link"),
            ("lab", "Lab", "text"),
            ("protocol", "Protocol", "text"),
            ("figure", "Figure", "text"),
            ("points", "Points", "int"),
            ("target", "Limits from", "text"),
            ("latest", "Latest verdict", "text"),
        ],
        [_series_row(chart) for chart in control_charts.charts_for(materials)],
    )
    context = {"materials": materials, "can_define": bool(labs_where(request.user, controls.ADMIN_ROLES))}
    return _respond(request, "evlims/dashboards/control_list.html", context, [series])


def _series_row(chart) -> dict:
    latest = chart.latest
    return {
        "material": (chart.material.name, _series_url(chart)),
        "lab": chart.material.lab.name,
        "protocol": chart.protocol,
        "figure": chart.figure_label,
        "points": len(chart.points),
        "target": chart.target_source or chart.problem,
        "latest": control_charts.level_label(latest["level"]) if latest else None,
    }


@member_view
def control_create(request):
    form = ControlMaterialForm(request.POST or None, user=request.user)
    if not form.fields["lab"].queryset.exists():
        raise PermissionDenied("Only a lab admin can define control materials.")
    if request.method == "POST" and form.is_valid():
        material = run_service(form, lambda: controls.control_material_create(actor=request.user, **form.cleaned_data))
        if material is not None:
            messages.success(request, f"Control material {material.name} defined.")
            return redirect("evlims:control-detail", pk=material.pk)
    return render(request, "evlims/dashboards/control_form.html", {"form": form})


@member_view
def control_detail(request, pk):
    material = scoped(control_charts.material_get, request.user, pk)
    all_charts = control_charts.charts_for([material])
    wanted_protocol = request.GET.get("protocol")
    wanted_figure = request.GET.get("figure", PURITY)
    chart = next(
        (c for c in all_charts if c.protocol == wanted_protocol and c.figure == wanted_figure),
        next((c for c in all_charts if c.figure == wanted_figure), all_charts[0] if all_charts else None),
    )
    westgard = DataTable(
        "westgard", "Westgard judgement per point", WESTGARD_COLUMNS, _westgard_rows(chart) if chart else []
    )
    context = {
        "material": material,
        "chart": chart,
        "series": [(c, _series_url(c)) for c in all_charts],
        "chart_image": charts.levey_jennings_chart(chart) if chart is not None else None,
        "link_form": LinkSamplesForm() if material.lab_id in labs_where(request.user, controls.ADMIN_ROLES) else None,
        "samples": sorted(material.samples.all(), key=lambda sample: sample.barcode),
    }
    return _respond(request, "evlims/dashboards/control_detail.html", context, [westgard])


@member_view
@require_POST
def control_link_samples(request, pk):
    material = scoped(control_charts.material_get, request.user, pk)
    form = LinkSamplesForm(request.POST)
    if form.is_valid():
        linked = run_service(
            form,
            lambda: controls.control_material_link_samples(
                actor=request.user, material=material, sample_barcodes=form.cleaned_data["sample_barcodes"]
            ),
        )
        if linked is not None:
            messages.success(request, f"{len(linked)} sample(s) newly linked to {material.name}.")
            return redirect("evlims:control-detail", pk=material.pk)
    for error in form.errors.get("sample_barcodes", []) + form.non_field_errors():
        messages.error(request, error)
    return redirect("evlims:control-detail", pk=material.pk)
