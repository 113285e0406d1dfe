"""Lab dashboard and method comparison pages; their tables are ``data_tables.DataTable`` (shown and exported
from the same rows) and their data-heavy parts are rendered once per version of the labs' data."""

from dataclasses import asdict
from functools import partial

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from ...compliance.models import Review
from ...core.tenancy import labs_where
from ...metrics import charts, control_charts, selectors, services, summaries
from ...metrics.figures import PURITY, YIELD, short_label
from ...metrics.models import PreparationMetrics
from ...metrics.selectors import TRACKED_FIGURES, MetricFilters
from ...metrics.services import controls
from ..forms.dashboards import (
    DEFAULT_MONTHS,
    ComparisonFilterForm,
    DashboardWindowForm,
    RecomputeForm,
    window_start,
)
from .common import member_view
from .comparison_overlay import size_overlay
from .controls import series_url
from .data_tables import DataTable, respond
from .standards_presenters import comparison_recovery

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
    rows = [record | {"figure": short_label(record["metric"])} for record in summary.to_dict("records")]
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
    return respond(request, "evlims/dashboards/dashboard.html", context, tables, lambda: figures()["figures"].values())


def _dashboard_figures(user, since, months) -> dict:
    trend = summaries.month_summary(user, MetricFilters(started_from=since))
    trend_table = _summary_table("trend", f"Figures by month (last {months} months)", trend, [("month", "Month")])
    return {
        "figures": {"trend": trend_table, "alerts": _alerts_table(control_charts.drift_alerts(user))},
        "trend_charts": [(short_label(f), charts.trend_chart(trend, f)) for f in TRACKED_FIGURES],
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
            ("preparations", "Preparations produced", "int"),
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
        "material": (chart.material.name, series_url(chart)),
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
    (YIELD, short_label(YIELD), "sci"),
    (PURITY, short_label(PURITY), "sci"),
    ("purity_class", "Purity class", "text"),
]


def _point_rows(frame) -> list[dict]:
    rows = []
    for record in frame.to_dict("records"):
        url = reverse("evlims:preparation-detail", args=[record["preparation"]])
        rows.append(record | {"barcode": (record["barcode"], url)})
    return rows


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
    context["recovery_lines"] = comparison_recovery(user, filters)
    if not request.GET.get("export"):
        params = [asdict(filters), grouping, overlay_ids]
        keys = [*ComparisonFilterForm.base_fields, "group"]
        context["figures_html"] = _cached_html(request, "comparison", params, COMPARISON_FIGURES, content, keys)
    return respond(request, "evlims/dashboards/comparison.html", context, [], lambda: content()["tables"].values())


def _comparison_content(user, filters, grouping, overlay_ids) -> dict:
    group_label, group_columns = GROUPINGS[grouping]
    columns = [*COMPARED_COLUMNS, *(column for column in group_columns if column not in COMPARED_COLUMNS)]
    frame = selectors.metrics_frame(user, filters, columns=[c for c in columns if c != "month"])
    summary = selectors.group_summary(frame, group_columns, selectors.recorded_figures(frame))
    overlay_chart, sizes_table, bins_table = size_overlay(user, overlay_ids)
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
