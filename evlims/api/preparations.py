"""EV preparations with their metrics and compliance, and the QA review submission (read-only otherwise).

Compliance and metrics are computed by the background refresh whenever a preparation's evidence changes;
these endpoints read what is stored. A preparation not evaluated (or computed) yet answers with null
figures and ``evaluated_at`` / ``computed_at`` null.

Reviews are submitted here; verifying, approving and rejecting are electronic signatures that need the
signer's password typed again, so they stay on the web pages.
"""

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from ..characterization.selectors import preparation_get, preparation_list, with_headline_figures
from ..compliance.evidence import experiment_documents, preparations_with_evidence
from ..compliance.models import ComplianceEvaluation, Review, Signature
from ..compliance.selectors import evaluation_of
from ..core.tenancy import visible_lab_ids
from ..isolation import services as isolation_services
from ..isolation.models import EVPreparation, FunctionalControl, IsolationRun
from ..isolation.selectors import preparations_for, runs_for
from ..metrics import figures
from ..metrics.models import PreparationMetrics
from ..review import services as review_services
from ..review.selectors import review_get
from .authentication import READ
from .base import EditSerializer, IdFilter, ScopedDetailApi, ScopedListApi, ScopedPrimaryKeyRelatedField, split_edit


class PreparationListOutputSerializer(serializers.ModelSerializer):
    run_code = serializers.CharField(source="run.code", read_only=True)
    input_aliquot_barcode = serializers.CharField(source="input_aliquot.barcode", read_only=True)
    sample = serializers.IntegerField(source="input_aliquot.sample_id", read_only=True)
    sample_barcode = serializers.CharField(source="input_aliquot.sample.barcode", read_only=True)
    biofluid = serializers.CharField(source="input_aliquot.sample.biofluid", read_only=True)
    purity_class = serializers.CharField(read_only=True, allow_null=True)
    particles_per_ug = serializers.FloatField(read_only=True, allow_null=True)
    ev_metric_pct = serializers.IntegerField(read_only=True, allow_null=True)
    mandatory_failed = serializers.IntegerField(read_only=True, allow_null=True)
    particle_count = serializers.IntegerField(read_only=True)
    protein_count = serializers.IntegerField(read_only=True)
    marker_count = serializers.IntegerField(read_only=True)
    imaging_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = EVPreparation
        fields = [
            "id",
            "barcode",
            "lab",
            "run",
            "run_code",
            "input_aliquot",
            "input_aliquot_barcode",
            "sample",
            "sample_barcode",
            "biofluid",
            "input_volume_ul",
            "final_volume_ul",
            "buffer",
            "storage",
            "purity_class",
            "particles_per_ug",
            "ev_metric_pct",
            "mandatory_failed",
            "particle_count",
            "protein_count",
            "marker_count",
            "imaging_count",
            "version",
            "created_at",
        ]
        read_only_fields = fields


def _figure_field(figure):
    """The answer's field of a figure of the catalogue (metrics/figures.py), documented with its label and unit."""
    words = f"{figure.label} ({figure.unit})" if figure.unit else figure.label
    field = serializers.FloatField if figure.numeric else serializers.CharField
    return field(allow_null=True, help_text=f"{words}. Null: an input is missing.")


# Declared from the catalogue, so the answer and its schema list every figure the preparation page shows.
MetricsOutputSerializer = serializers.SerializerMetaclass(
    "MetricsOutputSerializer",
    (serializers.Serializer,),
    {
        "__module__": __name__,
        "preparation": serializers.IntegerField(),
        "computed_at": serializers.DateTimeField(allow_null=True, help_text="Null: not computed yet."),
        **{figure.key: _figure_field(figure) for figure in figures.CATALOGUE},
        "provenance": serializers.DictField(
            child=serializers.ListField(child=serializers.IntegerField()), help_text="{figure: [measurement ids]}"
        ),
    },
)


class ComplianceSummarySerializer(serializers.Serializer):
    evaluated_at = serializers.DateTimeField(allow_null=True, help_text="Null: not evaluated yet.")
    ev_metric_pct = serializers.IntegerField(allow_null=True)
    mandatory_failed = serializers.IntegerField(allow_null=True)
    failed_rules = serializers.ListField(child=serializers.CharField(), help_text="'report key:rule id' entries.")
    rulesets = serializers.DictField(child=serializers.IntegerField(), help_text="{rule set: version} applied.")
    evidence_hash = serializers.CharField(allow_null=True)


class ComplianceOutputSerializer(ComplianceSummarySerializer):
    preparation = serializers.IntegerField()
    report = serializers.JSONField(allow_null=True, help_text="Verdicts per rule set, as the evaluator wrote them.")


def metrics_data(preparation) -> dict:
    try:
        metrics = preparation.metrics
    except PreparationMetrics.DoesNotExist:
        metrics = None
    values = {figure.key: getattr(metrics, figure.key) if metrics else None for figure in figures.CATALOGUE}
    return {
        "preparation": preparation.pk,
        "computed_at": metrics.computed_at if metrics else None,
        **values,
        "provenance": metrics.provenance if metrics else {},
    }


def compliance_data(preparation, *, with_report: bool) -> dict:
    evaluation: ComplianceEvaluation | None = evaluation_of(preparation)
    data = {
        "evaluated_at": evaluation.evaluated_at if evaluation else None,
        "ev_metric_pct": evaluation.ev_metric_pct if evaluation else None,
        "mandatory_failed": evaluation.mandatory_failed if evaluation else None,
        "failed_rules": evaluation.failed_rules if evaluation else [],
        "rulesets": evaluation.rulesets if evaluation else {},
        "evidence_hash": evaluation.evidence_hash if evaluation else None,
    }
    if with_report:
        data = {"preparation": preparation.pk, **data, "report": evaluation.report if evaluation else None}
    return data


# Storage of the preparation and what is claimed about it: read on the detail, written by PATCH.
STORAGE_AND_CLAIMS = [
    "storage_container",
    "storage_temperature_c",
    "storage_duration_days",
    "storage_freeze_thaw_cycles",
    "claimed_subtype",
    "biogenesis_evidence",
    "functional_cargo",
    "functional_studies",
]


class FunctionalStudySerializer(serializers.Serializer):
    assay = serializers.CharField(max_length=200, help_text="e.g. endothelial tube formation")
    readout = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text="What was measured.")
    dose = serializers.CharField(
        max_length=120, required=False, allow_blank=True, help_text="With its unit, e.g. 1e9 particles/mL."
    )
    controls = serializers.ListField(
        child=serializers.ChoiceField(choices=FunctionalControl.choices),
        required=False,
        help_text="Controls run alongside the EV preparation.",
    )
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class PreparationDetailOutputSerializer(PreparationListOutputSerializer):
    functional_studies = FunctionalStudySerializer(many=True, read_only=True)
    run_status = serializers.CharField(source="run.status", read_only=True)
    protocol_name = serializers.CharField(source="run.protocol_name", read_only=True)
    metrics = serializers.SerializerMethodField()
    compliance = serializers.SerializerMethodField()

    class Meta(PreparationListOutputSerializer.Meta):
        fields = [
            field
            for field in PreparationListOutputSerializer.Meta.fields
            if field
            not in {
                "purity_class",
                "particles_per_ug",
                "ev_metric_pct",
                "mandatory_failed",
                "particle_count",
                "protein_count",
                "marker_count",
                "imaging_count",
            }
        ] + [*STORAGE_AND_CLAIMS, "run_status", "protocol_name", "metrics", "compliance"]
        read_only_fields = fields

    @extend_schema_field(MetricsOutputSerializer)
    def get_metrics(self, preparation):
        return MetricsOutputSerializer(metrics_data(preparation)).data

    @extend_schema_field(ComplianceSummarySerializer)
    def get_compliance(self, preparation):
        return ComplianceSummarySerializer(compliance_data(preparation, with_report=False)).data


class PreparationFilter(django_filters.FilterSet):
    run = IdFilter(field_name="run_id")
    project = IdFilter(field_name="run__project_id")
    lab = IdFilter(field_name="lab_id")
    biofluid = django_filters.CharFilter(field_name="input_aliquot__sample__biofluid")
    method = django_filters.CharFilter(field_name="run__method")

    class Meta:
        model = EVPreparation
        fields = ["lab", "run", "project", "biofluid", "method"]


PREPARATION_READ = {"read": READ}


@extend_schema(tags=["preparations"], summary="List EV preparations with headline figures")
class PreparationListApi(ScopedListApi):
    """Preparations of your labs with purity class, particles per µg, EV-METRIC and result counts."""

    serializer_class = PreparationListOutputSerializer
    filterset_class = PreparationFilter
    search_fields = ["barcode", "run__code", "input_aliquot__barcode"]
    ordering_fields = ["created_at", "barcode"]
    ordering = ["-created_at", "-id"]
    api_key_scopes = PREPARATION_READ

    decorate_page = staticmethod(with_headline_figures)

    def get_queryset(self):
        return preparation_list(self.request.user)


class PreparationObjectApi(ScopedDetailApi):
    api_key_scopes = PREPARATION_READ

    def get_object(self):
        preparation = preparation_get(self.request.user, self.kwargs["pk"])
        self.check_object_permissions(self.request, preparation)
        return preparation


class PreparationUpdateInputSerializer(EditSerializer, serializers.ModelSerializer):
    functional_studies = FunctionalStudySerializer(
        many=True, required=False, help_text="The whole list of functional studies (replaces the stored one)."
    )

    class Meta:
        model = EVPreparation
        fields = ["final_volume_ul", "buffer", "storage", *STORAGE_AND_CLAIMS, "reason", "version"]
        extra_kwargs = {
            name: {"required": False}
            for name in ["final_volume_ul", "buffer", "storage", *STORAGE_AND_CLAIMS]
            if name != "functional_studies"
        }


@extend_schema(tags=["preparations"])
class PreparationDetailApi(PreparationObjectApi):
    """One preparation with its storage, claims, metrics and compliance summary.

    Edits of its output, storage, claims and functional studies need a reason and the version you read; a
    stale version answers 409 and writes nothing. An approved preparation's approval is voided by an edit."""

    serializer_class = PreparationDetailOutputSerializer

    @extend_schema(summary="Read a preparation with its metrics and compliance summary")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Edit a preparation's storage, claims and functional studies",
        request=PreparationUpdateInputSerializer,
        responses={200: PreparationDetailOutputSerializer},
        examples=[
            OpenApiExample(
                "Storage recorded",
                value={
                    "storage_container": "0.5 mL low-binding tube",
                    "storage_temperature_c": "-80.0",
                    "storage_freeze_thaw_cycles": 1,
                    "claimed_subtype": "small_ev",
                    "reason": "Storage written up from the freezer log",
                    "version": 2,
                },
                request_only=True,
            )
        ],
    )
    def patch(self, request, *args, **kwargs):
        preparation = self.get_object()
        reason, version, changes = split_edit(self.validated_input(PreparationUpdateInputSerializer))
        isolation_services.preparation_update(
            prep=preparation, actor=request.user, reason=reason, expected_version=version, changes=changes
        )
        return self.respond(preparation_get(request.user, preparation.pk))


@extend_schema(tags=["preparations"], summary="The stored compliance evaluation of a preparation")
class PreparationComplianceApi(PreparationObjectApi):
    """The verdicts against every rule set (MISEV2018, MISEV2023, EV-METRIC…) as last evaluated."""

    serializer_class = ComplianceOutputSerializer

    def get(self, request, *args, **kwargs):
        return Response(ComplianceOutputSerializer(compliance_data(self.get_object(), with_report=True)).data)


@extend_schema(tags=["preparations"], summary="The metrics of a preparation")
class PreparationMetricsApi(PreparationObjectApi):
    """Yields, purity (particles per µg), recovery and size figures; null where an input is missing."""

    serializer_class = MetricsOutputSerializer

    def get(self, request, *args, **kwargs):
        return Response(MetricsOutputSerializer(metrics_data(self.get_object())).data)


@extend_schema(
    tags=["preparations"],
    summary="The portable experiment document of a preparation",
    responses={200: {"type": "object", "additionalProperties": True}},
    examples=[
        OpenApiExample(
            "SEC preparation from plasma",
            value={
                "id": "EVP-0000012",
                "sample": {"biofluid": "blood_plasma", "volume_ml": 0.5, "anticoagulant": "k2_edta"},
                "separation": [{"method": "sec", "params": {"resin": "Sepharose CL-2B", "bed_volume_ml": 10}}],
                "characterization": {
                    "particle_analysis": [{"method": "nta", "concentration_per_ml": 4.3e10, "mode_size_nm": 61.7}]
                },
            },
            response_only=True,
        )
    ],
)
class PreparationExperimentApi(PreparationObjectApi):
    """The experiment document built from the records as they stand now: what the compliance evaluator
    reads, and the export format (evaluate it offline, or compare it with a plan)."""

    def get(self, request, *args, **kwargs):
        preparation = self.get_object()
        documents = experiment_documents(preparations_with_evidence([preparation.pk]))
        return Response(documents[preparation.pk])


# ---------------------------------------------------------------- reviews


class SignatureOutputSerializer(serializers.ModelSerializer):
    signer = serializers.CharField(source="signer.username", read_only=True)

    class Meta:
        model = Signature
        fields = ["id", "signer", "meaning", "statement", "signed_at", "content_hash"]
        read_only_fields = fields


class ReviewOutputSerializer(serializers.ModelSerializer):
    submitted_by = serializers.CharField(source="submitted_by.username", read_only=True)
    preparation_barcode = serializers.CharField(source="preparation.barcode", allow_null=True, default=None)
    run_code = serializers.CharField(source="run.code", allow_null=True, default=None)
    signatures = SignatureOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "lab",
            "preparation",
            "preparation_barcode",
            "run",
            "run_code",
            "state",
            "submitted_by",
            "submitted_at",
            "note",
            "justification",
            "closed_at",
            "signatures",
        ]
        read_only_fields = fields


class ReviewSubmitInputSerializer(serializers.Serializer):
    preparation = ScopedPrimaryKeyRelatedField(
        scope=preparations_for, model=EVPreparation, required=False, allow_null=True
    )
    run = ScopedPrimaryKeyRelatedField(scope=runs_for, model=IsolationRun, required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    justification = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when the preparation's evaluation has mandatory failures: why it should be reviewed "
        "as it is. The reviewers see it and their signatures cover it.",
    )

    def validate(self, attrs):
        if (attrs.get("preparation") is None) == (attrs.get("run") is None):
            raise serializers.ValidationError({"non_field_errors": ["Submit either a preparation or a run."]})
        return attrs


def reviews_for(user):
    return (
        Review.objects.filter(lab_id__in=visible_lab_ids(user))
        .select_related("submitted_by", "preparation", "run")
        .prefetch_related(
            Prefetch("signatures", queryset=Signature.objects.select_related("signer").order_by("signed_at", "id"))
        )
    )


class ReviewFilter(django_filters.FilterSet):
    preparation = IdFilter(field_name="preparation_id")
    run = IdFilter(field_name="run_id")
    lab = IdFilter(field_name="lab_id")

    class Meta:
        model = Review
        fields = ["lab", "preparation", "run", "state"]


@extend_schema(tags=["reviews"])
class ReviewListCreateApi(ScopedListApi):
    """QA reviews of your labs. Lab staff submit a preparation or a run; signing is done on the web pages
    (it needs the signer's password again)."""

    serializer_class = ReviewOutputSerializer
    filterset_class = ReviewFilter
    ordering_fields = ["submitted_at"]
    ordering = ["-submitted_at", "-id"]

    def get_queryset(self):
        return reviews_for(self.request.user)

    @extend_schema(summary="List reviews")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Submit a preparation or a run for QA review (lab staff)",
        request=ReviewSubmitInputSerializer,
        responses={201: ReviewOutputSerializer},
        examples=[
            OpenApiExample("A preparation", value={"preparation": 41, "note": "Ready for release"}, request_only=True),
            OpenApiExample(
                "A preparation with mandatory failures",
                value={
                    "preparation": 42,
                    "justification": "Pilot preparation: no cell lysate was left for the category 4 protein.",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Mandatory failures without a justification",
                value={
                    "justification": [
                        "EVP-0000042 fails 1 mandatory rule (Category 4 protein tested (M18.PROT.CAT4)). "
                        "Say why it should be reviewed as it is."
                    ]
                },
                response_only=True,
                status_codes=["400"],
            ),
            OpenApiExample(
                "Already under review",
                value={"subject": ["EVP-0000012 already has an open or approved review."]},
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def post(self, request, *args, **kwargs):
        data = self.validated_input(ReviewSubmitInputSerializer)
        # The service checks the submitter's role in the subject's lab (a read-only role is a 403).
        review = review_services.review_submit(actor=request.user, **data)
        return Response(
            ReviewOutputSerializer(review_get(request.user, review.pk)).data, status=status.HTTP_201_CREATED
        )


@extend_schema(tags=["reviews"], summary="Read a review with its signatures")
class ReviewDetailApi(ScopedDetailApi):
    serializer_class = ReviewOutputSerializer

    def get_queryset(self):
        return reviews_for(self.request.user)
