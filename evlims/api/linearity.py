"""Dilution series (the ISO 20391-2 proportionality index, per-dilution CV and linear range), spike recovery
summaries per run, method or operator, and the method league table; docs/standardization.md."""

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from ..core.tenancy import visible_lab_ids
from ..instruments.models import Instrument
from ..isolation.models import EVPreparation
from ..isolation.selectors import preparations_for
from ..metrics.league import league_table
from ..standards import services
from ..standards.linearity import SeriesError, assess
from ..standards.models import DilutionSeries
from ..standards.recovery import GROUPS, summarise, user_recoveries
from ..standards.selectors import series_for
from .base import IdFilter, ScopedApi, ScopedDetailApi, ScopedListApi, ScopedPrimaryKeyRelatedField


def instruments_for(user):
    return Instrument.objects.filter(lab_id__in=visible_lab_ids(user))


class PointSerializer(serializers.Serializer):
    dilution_factor = serializers.FloatField(min_value=1, help_text="100 for 1:100.")
    readings = serializers.ListField(
        child=serializers.FloatField(), min_length=1, max_length=100, help_text="Particles/mL of the diluted sample."
    )


class LinearitySerializer(serializers.Serializer):
    proportionality_index = serializers.FloatField(allow_null=True)
    proportionality_index_limits = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        help_text="[lower, upper]: NIST COMET's bootstrap confidence limits of the index (95 %, 50 seeded resamples).",
    )
    concentration_per_ml = serializers.FloatField(allow_null=True, help_text="From the linear range, undiluted.")
    dilutions_used = serializers.ListField(child=serializers.FloatField())
    dilutions = serializers.ListField(child=serializers.DictField())
    problem = serializers.CharField()
    source = serializers.CharField()
    evidence = serializers.CharField()


class SeriesOutputSerializer(serializers.ModelSerializer):
    preparation_barcode = serializers.CharField(source="preparation.barcode", read_only=True)
    technique_label = serializers.CharField(source="get_technique_display", read_only=True)
    linearity = serializers.SerializerMethodField()

    class Meta:
        model = DilutionSeries
        fields = [
            "id",
            "lab",
            "preparation",
            "preparation_barcode",
            "technique",
            "technique_label",
            "instrument",
            "measured_at",
            "points",
            "notes",
            "linearity",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(LinearitySerializer)
    def get_linearity(self, series) -> dict:
        return linearity_data(series)


def linearity_data(series) -> dict:
    try:
        result = assess(series.points, series.technique)
    except SeriesError as error:
        return {"problem": str(error), "dilutions": [], "dilutions_used": []}
    return {
        "proportionality_index": result.proportionality_index,
        "proportionality_index_limits": list(result.pi_limits) if result.pi_limits else None,
        "concentration_per_ml": result.concentration_per_ml,
        "dilutions_used": result.used,
        "dilutions": [
            {
                "dilution_factor": d.factor,
                "mean_per_ml": d.mean,
                "cv_pct": None if d.cv is None else 100.0 * d.cv,
                "relative_residual": d.relative_residual,
                "in_linear_range": d.in_linear_range,
                "why_outside": d.why_outside,
            }
            for d in result.dilutions
        ],
        "problem": result.problem,
        "source": result.source,
        "evidence": result.evidence,
    }


class SeriesInputSerializer(serializers.ModelSerializer):
    preparation = ScopedPrimaryKeyRelatedField(scope=preparations_for, model=EVPreparation)
    instrument = ScopedPrimaryKeyRelatedField(scope=instruments_for, model=Instrument, required=False, allow_null=True)
    points = PointSerializer(many=True)
    measured_at = serializers.DateTimeField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, help_text="Kept in the audit trail.")

    class Meta:
        model = DilutionSeries
        fields = ["preparation", "technique", "instrument", "measured_at", "points", "notes", "reason"]


class SeriesFilter(django_filters.FilterSet):
    lab = IdFilter(field_name="lab_id")
    preparation = IdFilter(field_name="preparation_id")

    class Meta:
        model = DilutionSeries
        fields = ["lab", "preparation", "technique"]


@extend_schema(tags=["reference materials"])
class SeriesListCreateApi(ScopedListApi):
    """Dilution series of preparations on counting instruments, each judged for linearity."""

    serializer_class = SeriesOutputSerializer
    filterset_class = SeriesFilter
    ordering_fields = ["measured_at"]
    ordering = ["-measured_at", "-id"]

    def get_queryset(self):
        return series_for(self.request.user)

    @extend_schema(summary="List dilution series")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Record a dilution series",
        request=SeriesInputSerializer,
        responses={201: SeriesOutputSerializer},
        examples=[
            OpenApiExample(
                "NTA at three dilutions",
                value={
                    "preparation": 41,
                    "technique": "nta",
                    "points": [
                        {"dilution_factor": 200, "readings": [4.9e8, 5.1e8]},
                        {"dilution_factor": 400, "readings": [2.4e8, 2.6e8]},
                        {"dilution_factor": 800, "readings": [1.25e8, 1.25e8]},
                    ],
                },
                request_only=True,
            )
        ],
    )
    def post(self, request, *args, **kwargs):
        data = self.validated_input(SeriesInputSerializer)
        data["points"] = [dict(point) for point in data["points"]]
        series = services.dilution_series_record(actor=request.user, **data)
        return self.respond(series, status=status.HTTP_201_CREATED)


@extend_schema(tags=["reference materials"])
class SeriesDetailApi(ScopedDetailApi):
    """One dilution series with its proportionality index, CVs and linear range."""

    serializer_class = SeriesOutputSerializer

    def get_queryset(self):
        return series_for(self.request.user)

    @extend_schema(summary="Read a dilution series")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class RecoveryLineSerializer(serializers.Serializer):
    group = serializers.CharField()
    runs = serializers.IntegerField()
    readouts = serializers.IntegerField()
    recovery_pct = serializers.FloatField()
    uncertainty_pct = serializers.FloatField()
    sd_pct = serializers.FloatField(allow_null=True)
    cv_pct = serializers.FloatField(allow_null=True)


class RecoveryQuery(serializers.Serializer):
    by = serializers.ChoiceField(choices=list(GROUPS), default="method")
    biofluid = serializers.CharField(required=False, max_length=40)


class LeagueQuery(serializers.Serializer):
    biofluid = serializers.CharField(required=False, max_length=40)


class LeagueRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    biofluid = serializers.CharField()
    method = serializers.CharField()
    recovery_pct = serializers.FloatField(allow_null=True)
    recovery_uncertainty_pct = serializers.FloatField(allow_null=True)
    recovery_runs = serializers.IntegerField()
    purity_particles_per_ug = serializers.FloatField(allow_null=True)
    purity_runs = serializers.IntegerField()
    lipoprotein_confounded = serializers.IntegerField()
    preparations = serializers.IntegerField()
    yield_cv_pct = serializers.FloatField(allow_null=True)
    yield_runs = serializers.IntegerField()
    ranks = serializers.DictField(child=serializers.IntegerField())


def _query(view, serializer_class) -> dict:
    serializer = serializer_class(data=view.request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema(tags=["reference materials"])
class RecoverySummaryApi(ScopedApi):
    """Spike recovery of your labs' completed runs per run, separation method or operator: runs and readouts
    behind each line, mean recovery with its propagated standard uncertainty, SD and CV between runs."""

    pagination_class = None
    filter_backends = []

    @extend_schema(
        summary="Spike recovery per run, method or operator",
        parameters=[RecoveryQuery],
        responses={200: RecoveryLineSerializer(many=True)},
    )
    def get(self, request, *args, **kwargs):
        query = _query(self, RecoveryQuery)
        rows = user_recoveries(request.user, biofluid=query.get("biofluid"))
        return Response(RecoveryLineSerializer(summarise(rows, query["by"]), many=True).data)


@extend_schema(tags=["reference materials"])
class MethodLeagueApi(ScopedApi):
    """Per biofluid, the separation methods of your labs ranked by spike recovery, purity (particles/µg,
    lipoprotein-confounded preparations) and reproducibility (CV of particle yield between runs), with the
    runs behind each figure."""

    pagination_class = None
    filter_backends = []

    @extend_schema(
        summary="Method league table",
        parameters=[LeagueQuery],
        responses={200: LeagueRowSerializer(many=True)},
    )
    def get(self, request, *args, **kwargs):
        query = _query(self, LeagueQuery)
        return Response(LeagueRowSerializer(league_table(request.user, **query), many=True).data)
