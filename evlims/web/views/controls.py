"""Control materials and their Levey–Jennings pages with the Westgard judgement of every point."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ...core.tenancy import labs_where
from ...metrics import charts, control_charts
from ...metrics.selectors import PURITY
from ...metrics.services import controls
from ...metrics.westgard import full_baseline_points
from ..forms.dashboards import ControlMaterialEditForm, ControlMaterialForm, LinkSamplesForm
from .common import member_view, run_service, scoped
from .data_tables import DataTable, is_missing, respond

WESTGARD_COLUMNS = [
    ("sequence", "#", "int"),
    ("barcode", "Preparation", "text"),
    ("run_code", "Run", "text"),
    ("started_at", "Run started", "text"),
    ("value", "Value", "sci"),
    ("z_score", "z", "num2"),
    ("level", "Verdict", "text"),
    ("rules", "Rules broken", "text"),
    ("limits", "Limits", "text"),
]
VIOLATION_COLUMNS = [
    ("rule", "Rule", "text"),
    ("scope", "Seen", "text"),
    ("severity", "Verdict", "text"),
    ("run_code", "Run", "text"),
    ("preparations", "Preparations involved", "text"),
]


def series_url(chart) -> str:
    url = reverse("evlims:control-detail", args=[chart.material.pk])
    return f"{url}?{urlencode({'protocol': chart.protocol, 'figure': chart.figure})}"


def _westgard_rows(chart) -> list[dict]:
    return [
        record
        | {
            "started_at": record["started_at"].strftime("%Y-%m-%d") if not is_missing(record["started_at"]) else None,
            "level": control_charts.level_label(record["level"]),
            "rules": control_charts.violation_label(record["violations"]),
            "limits": _limits_word(chart, record),
        }
        for record in chart.points.to_dict("records")
    ]


def _limits_word(chart, record) -> str | None:
    if chart.target_mean is None:
        return None
    if chart.target_source.startswith("assigned"):
        return "Assigned"
    return "Provisional" if record["provisional"] else "Final"


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
    return respond(request, "evlims/dashboards/control_list.html", context, [series])


def _series_row(chart) -> dict:
    latest = chart.latest
    return {
        "material": (chart.material.name, series_url(chart)),
        "lab": chart.material.lab.name,
        "protocol": chart.protocol,
        "figure": chart.figure_label,
        "points": len(chart.points),
        "target": chart.provisional_note or chart.target_source or chart.problem,
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
def control_edit(request, pk):
    """Change the material's targets, baseline or samples, with a reason; its charts are judged again."""
    material = scoped(control_charts.material_get, request.user, pk)
    if material.lab_id not in labs_where(request.user, controls.ADMIN_ROLES):
        raise PermissionDenied("Only a lab admin of the material's lab can change it.")
    form = ControlMaterialEditForm(request.POST or None, material=material)
    if request.method == "POST" and form.is_valid():
        changed = run_service(
            form,
            lambda: controls.control_material_update(
                actor=request.user, material=material, reason=form.cleaned_data["reason"], changes=form.changes()
            ),
        )
        if changed is not None:
            messages.success(request, f"Control material {changed.name} changed; its charts are judged again.")
            return redirect("evlims:control-detail", pk=material.pk)
    context = {"form": form, "material": material, "full_baseline": full_baseline_points()}
    return render(request, "evlims/dashboards/control_form.html", context)


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
    violations = DataTable(
        "violations", "Rules broken, with the points involved", VIOLATION_COLUMNS, chart.violations if chart else []
    )
    can_change = material.lab_id in labs_where(request.user, controls.ADMIN_ROLES)
    context = {
        "material": material,
        "chart": chart,
        "full_baseline": full_baseline_points(),
        "limit_range": (chart.limits[-3], chart.limits[3]) if chart and chart.limits else None,
        "series": [(c, series_url(c)) for c in all_charts],
        "chart_image": charts.levey_jennings_chart(chart) if chart is not None else None,
        "link_form": LinkSamplesForm() if can_change else None,
        "can_change": can_change,
        "samples": sorted(material.samples.all(), key=lambda sample: sample.barcode),
    }
    return respond(request, "evlims/dashboards/control_detail.html", context, [westgard, violations])


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
