"""The serializers of the preparation and review endpoints (``preparations``): list and detail with headline
figures and compliance, the edit payload, and reviews with their signatures."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..compliance.models import ComplianceEvaluation, Review, Signature
from ..compliance.selectors import evaluation_of
from ..isolation.models import EVPreparation, FunctionalControl, IsolationRun, PreparationState
from ..isolation.selectors import preparations_for, runs_for
from ..isolation.services.preparations import PREPARATION_OUTPUT_FIELDS, PREPARATION_STORAGE_AND_CLAIMS
from ..metrics import figures
from ..metrics.models import PreparationMetrics
from .base import EditSerializer, ScopedPrimaryKeyRelatedField


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
    state = serializers.ChoiceField(
        choices=PreparationState.choices,
        read_only=True,
        help_text="produced (its run is completed), not_produced (the run is planned or in progress: the barcode "
        "is issued for labels, results are refused) or aborted (the run produced nothing).",
    )
    state_label = serializers.CharField(
        read_only=True, help_text="The state in the lab's words, with the abort reason (e.g. 'Not produced yet')."
    )

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
            "state",
            "state_label",
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
        data = {"preparation": preparation.pk, **data, "report": evaluation.full_report if evaluation else None}
    return data


# Storage of the preparation and what is claimed about it: read on the detail, written by PATCH.
STORAGE_AND_CLAIMS = list(PREPARATION_STORAGE_AND_CLAIMS)


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


class PreparationUpdateInputSerializer(EditSerializer, serializers.ModelSerializer):
    functional_studies = FunctionalStudySerializer(
        many=True, required=False, help_text="The whole list of functional studies (replaces the stored one)."
    )

    class Meta:
        model = EVPreparation
        fields = [*PREPARATION_OUTPUT_FIELDS, *STORAGE_AND_CLAIMS, "reason", "version"]
        extra_kwargs = {
            name: {"required": False}
            for name in [*PREPARATION_OUTPUT_FIELDS, *STORAGE_AND_CLAIMS]
            if name != "functional_studies"
        }


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
