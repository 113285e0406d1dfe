"""Control materials and their Levey–Jennings charts: what a person reads on the control pages, for an
instrument or a script (list, detail, chart), and the edit of a material's targets, baseline and samples.

The serializers and the chart's answer are in ``control_serializers``.
"""

import django_filters
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from ..metrics import control_charts
from ..metrics.figures import BY_KEY, PURITY
from ..metrics.models import ControlMaterial
from ..metrics.services import controls
from ..samples.models import Sample
from .authentication import READ
from .base import IdFilter, ScopedDetailApi, ScopedListApi, ScopedObjectApi
from .control_serializers import (
    ControlChartOutputSerializer,
    ControlMaterialOutputSerializer,
    ControlMaterialUpdateInputSerializer,
    chart_data,
)

CONTROL_READ = {"read": READ}
SAMPLES = Prefetch("samples", queryset=Sample.objects.order_by("barcode"))
FIGURES = {key: figure.label for key, figure in control_charts.CHART_FIGURES.items()}

CHART_EXAMPLE = {
    "material": 4,
    "material_name": "Reference EV (HEK293 medium)",
    "figure": "particles_per_ug",
    "figure_label": BY_KEY[PURITY].label,
    "unit": BY_KEY[PURITY].unit,
    "scale": "log10",
    "limits_explained": "Geometric limits: the mean and SD are those of log10 of the values, so the limits are "
    "10^(mean ± k·SD), never below 0, on a logarithmic axis.",
    "series": [
        {
            "protocol": "sec-qev-70nm@1.0.0",
            "problem": None,
            "limits": {
                "source": "estimated from the first 7 points",
                "mean": 1.02e10,
                "sd": 0.071,
                "log10_mean": 10.0086,
                "minus_3sd": 6.1e9,
                "minus_2sd": 7.2e9,
                "minus_1sd": 8.7e9,
                "plus_1sd": 1.2e10,
                "plus_2sd": 1.42e10,
                "plus_3sd": 1.7e10,
            },
            "baseline": {
                "provisional": True,
                "points": 7,
                "needed": 20,
                "assigned": False,
                "note": "Provisional limits: estimated from 7 runs; 20 are needed.",
            },
            "points": [
                {
                    "sequence": 8,
                    "preparation": "EVP-0000123",
                    "preparation_id": 123,
                    "run": "RUN-0000045",
                    "run_started_at": "2025-03-04T09:00:00Z",
                    "value": 1.9e10,
                    "unit": BY_KEY[PURITY].unit,
                    "z_score": 3.8,
                    "judged": True,
                    "verdict": "reject",
                    "verdict_label": "Reject",
                    "violations": [
                        {
                            "rule": "R-4s",
                            "scope": "within_run",
                            "scope_label": "across levels within one run",
                            "severity": "reject",
                            "run": "RUN-0000045",
                            "points": ["EVP-0000123", "EVP-0000124"],
                        }
                    ],
                }
            ],
            "violations": [],
            "missing_figure": 0,
        }
    ],
}


class ControlMaterialFilter(django_filters.FilterSet):
    lab = IdFilter(field_name="lab_id")

    class Meta:
        model = ControlMaterial
        fields = ["lab"]


@extend_schema(tags=["controls"], summary="List the control materials of your labs")
class ControlMaterialListApi(ScopedListApi):
    """Control materials of your labs, with their targets, baseline and linked samples."""

    serializer_class = ControlMaterialOutputSerializer
    filterset_class = ControlMaterialFilter
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]
    ordering = ["name", "id"]
    api_key_scopes = CONTROL_READ

    def get_queryset(self):
        return control_charts.materials_for(self.request.user).prefetch_related(SAMPLES)


class ControlMaterialObjectApi(ScopedObjectApi):
    api_key_scopes = CONTROL_READ

    def get_queryset(self):
        return control_charts.materials_for(self.request.user).prefetch_related(SAMPLES)


@extend_schema(tags=["controls"])
class ControlMaterialDetailApi(ControlMaterialObjectApi, ScopedDetailApi):
    """One control material. Its lab admins change its targets, baseline points and samples with a reason
    (audited); its charts are judged again on what is saved. Without targets the limits are estimated from the
    first baseline runs and are provisional until 20 runs are in (Westgard; CLSI C24)."""

    serializer_class = ControlMaterialOutputSerializer

    @extend_schema(summary="Read a control material")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Change a control material's targets, baseline points or samples",
        request=ControlMaterialUpdateInputSerializer,
        responses={200: ControlMaterialOutputSerializer},
        examples=[
            OpenApiExample(
                "Baseline of 20 runs and a third sample",
                value={
                    "baseline_points": 20,
                    "sample_barcodes": ["CTRL-HEK-1", "CTRL-HEK-2", "CTRL-HEK-3"],
                    "reason": "New lot of the reference medium added; baseline to the full 20 runs",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Assigned targets",
                value={
                    "target_mean_particles_per_ug": 1.0e10,
                    "target_sd_particles_per_ug": 1.0e9,
                    "reason": "Targets assigned from the interlaboratory study",
                },
                request_only=True,
            ),
        ],
    )
    def patch(self, request, *args, **kwargs):
        material = self.get_object()
        changes = dict(self.validated_input(ControlMaterialUpdateInputSerializer))
        reason = changes.pop("reason")
        controls.control_material_update(actor=request.user, material=material, reason=reason, changes=changes)
        return self.respond(self.get_object())


@extend_schema(tags=["controls"])
class ControlChartApi(ControlMaterialObjectApi):
    """The Levey–Jennings chart of a material for one figure, as the control page shows it: every point with its
    z-score, verdict and the Westgard rules it broke (with their scope and every point involved), the limits
    (geometric on a log10 scale) and whether the baseline they rest on is provisional."""

    serializer_class = ControlChartOutputSerializer

    @extend_schema(
        summary="Read a control material's Levey–Jennings chart",
        parameters=[
            OpenApiParameter(
                "figure",
                OpenApiTypes.STR,
                enum=list(FIGURES),
                description="The figure charted: "
                + ", ".join(f"{key} ({label})" for key, label in FIGURES.items())
                + f". Default {PURITY}.",
            )
        ],
        responses={
            200: ControlChartOutputSerializer,
            400: OpenApiResponse(description="The figure is not one that is charted (named under figure)."),
        },
        examples=[OpenApiExample("Provisional baseline, log10 scale", value=CHART_EXAMPLE, response_only=True)],
    )
    def get(self, request, *args, **kwargs):
        figure = request.query_params.get("figure") or PURITY
        if figure not in FIGURES:
            raise serializers.ValidationError(
                {"figure": [f"{figure!r} is not a charted figure: choose one of {', '.join(FIGURES)}."]}
            )
        material = self.get_object()
        charts = [chart for chart in control_charts.charts_for([material], figures=(figure,))]
        return self.respond(chart_data(material, figure, charts))
