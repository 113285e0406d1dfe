"""EV preparations with their metrics and compliance, and the QA review submission (read-only otherwise).

Compliance and metrics are computed by the background refresh whenever a preparation's evidence changes;
these endpoints read what is stored. A preparation not evaluated (or computed) yet answers with null
figures and ``evaluated_at`` / ``computed_at`` null.

Reviews are submitted here; verifying, approving and rejecting are electronic signatures that need the
signer's password typed again, so they stay on the web pages.

The serializers are in ``preparation_serializers``.
"""

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.response import Response

from ..characterization.selectors import preparation_get, preparation_list, with_headline_figures
from ..compliance.evidence import experiment_documents, preparations_with_evidence
from ..compliance.models import Review, Signature
from ..core.tenancy import visible_lab_ids
from ..isolation import services as isolation_services
from ..isolation.models import EVPreparation, PreparationState
from ..isolation.selectors import ALL_STATES, preparations_in_state
from ..review import services as review_services
from ..review.selectors import review_get
from .authentication import READ
from .base import IdFilter, ScopedDetailApi, ScopedListApi, split_edit
from .preparation_serializers import (
    ComplianceOutputSerializer,
    MetricsOutputSerializer,
    PreparationDetailOutputSerializer,
    PreparationListOutputSerializer,
    PreparationUpdateInputSerializer,
    ReviewOutputSerializer,
    ReviewSubmitInputSerializer,
    compliance_data,
    metrics_data,
)


class PreparationFilter(django_filters.FilterSet):
    run = IdFilter(field_name="run_id")
    project = IdFilter(field_name="run__project_id")
    lab = IdFilter(field_name="lab_id")
    biofluid = django_filters.CharFilter(field_name="input_aliquot__sample__biofluid")
    method = django_filters.CharFilter(field_name="run__method")
    state = django_filters.ChoiceFilter(
        choices=[*PreparationState.choices, (ALL_STATES, "All")],
        method="filter_state",
        empty_label=None,
        help_text="produced (the default: preparations of completed runs), not_produced (of planned and "
        "in-progress runs), aborted, or all.",
    )

    class Meta:
        model = EVPreparation
        fields = ["lab", "run", "project", "biofluid", "method", "state"]

    def filter_state(self, queryset, name, value):
        return preparations_in_state(queryset, value)


PREPARATION_READ = {"read": READ}


@extend_schema(tags=["preparations"], summary="List EV preparations with headline figures")
class PreparationListApi(ScopedListApi):
    """Preparations of your labs with purity class, particles per µg, EV-METRIC and result counts.

    Only produced preparations (their run completed) are listed unless ``state`` asks for others: a planned or
    in-progress run's preparations are not produced yet, an aborted run's never will be."""

    serializer_class = PreparationListOutputSerializer
    filterset_class = PreparationFilter
    search_fields = ["barcode", "run__code", "input_aliquot__barcode"]
    ordering_fields = ["created_at", "barcode"]
    ordering = ["-created_at", "-id"]
    api_key_scopes = PREPARATION_READ

    decorate_page = staticmethod(with_headline_figures)

    def get_queryset(self):
        preparations = preparation_list(self.request.user)
        if not self.request.query_params.get("state"):
            # Produced preparations only, unless ?state= asks for others: a planned run's barcodes are labels.
            preparations = preparations_in_state(preparations)
        return preparations


class PreparationObjectApi(ScopedDetailApi):
    api_key_scopes = PREPARATION_READ

    def get_object(self):
        preparation = preparation_get(self.request.user, self.kwargs["pk"])
        self.check_object_permissions(self.request, preparation)
        return preparation


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
        review = review_services.review_submit(actor=request.user, reason=data.pop("note", ""), **data)
        return Response(
            ReviewOutputSerializer(review_get(request.user, review.pk)).data, status=status.HTTP_201_CREATED
        )


@extend_schema(tags=["reviews"], summary="Read a review with its signatures")
class ReviewDetailApi(ScopedDetailApi):
    serializer_class = ReviewOutputSerializer

    def get_queryset(self):
        return reviews_for(self.request.user)
