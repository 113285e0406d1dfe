"""What the isolation-run endpoints read and answer: the run as listed and in detail (steps side by side with
the protocol, deviations, preparations), and the inputs of planning, step records, completion and abort."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..core.ids import parse_id
from ..core.models import Project
from ..isolation.models import EVPreparation, IsolationRun, ProtocolVersion
from ..isolation.selectors import protocol_versions_for, step_rows
from ..samples.selectors import aliquots_for, projects_for
from .base import EditSerializer, ScopedPrimaryKeyRelatedField, volume_ul_field


class RunListOutputSerializer(serializers.ModelSerializer):
    project_code = serializers.CharField(source="project.code", read_only=True)
    operator = serializers.CharField(source="operator.username", read_only=True)
    preparation_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = IsolationRun
        fields = [
            "id",
            "code",
            "lab",
            "project",
            "project_code",
            "protocol_version",
            "protocol_name",
            "method",
            "status",
            "operator",
            "equipment",
            "started_at",
            "completed_at",
            "abort_reason",
            "preparation_count",
            "version",
            "created_at",
        ]
        read_only_fields = fields


class DeviationSerializer(serializers.Serializer):
    field = serializers.CharField()
    expected = serializers.JSONField(allow_null=True)
    observed = serializers.JSONField(allow_null=True)
    tolerance = serializers.JSONField(allow_null=True)
    kind = serializers.CharField()
    message = serializers.CharField()


class StepRecordSerializer(serializers.Serializer):
    method = serializers.CharField()
    observed = serializers.JSONField(help_text="Canonical values (SI units of the method schema).")
    observed_original = serializers.JSONField(help_text="As sent, before unit conversion.")
    deviations = DeviationSerializer(many=True)
    notes = serializers.CharField()
    recorded_by = serializers.CharField(source="recorded_by.username")
    updated_at = serializers.DateTimeField()


class RunStepSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    definition = serializers.JSONField(help_text="The protocol's step: method, params, tolerances.")
    record = StepRecordSerializer(allow_null=True, help_text="What was recorded, or null.")


class RunPreparationSerializer(serializers.ModelSerializer):
    input_aliquot_barcode = serializers.CharField(source="input_aliquot.barcode", read_only=True)
    sample_barcode = serializers.CharField(source="input_aliquot.sample.barcode", read_only=True)
    measurement_count = serializers.SerializerMethodField()

    class Meta:
        model = EVPreparation
        fields = [
            "id",
            "barcode",
            "input_aliquot",
            "input_aliquot_barcode",
            "sample_barcode",
            "input_volume_ul",
            "final_volume_ul",
            "buffer",
            "storage",
            "storage_container",
            "storage_temperature_c",
            "measurement_count",
        ]
        read_only_fields = fields

    def get_measurement_count(self, preparation) -> int:
        return len(preparation.measurements.all())


class RunDetailOutputSerializer(RunListOutputSerializer):
    steps = serializers.SerializerMethodField()
    deviations = serializers.SerializerMethodField()
    preparations = RunPreparationSerializer(many=True, read_only=True)

    class Meta(RunListOutputSerializer.Meta):
        fields = [field for field in RunListOutputSerializer.Meta.fields if field != "preparation_count"] + [
            "steps",
            "deviations",
            "preparations",
        ]
        read_only_fields = fields

    @extend_schema_field(RunStepSerializer(many=True))
    def get_steps(self, run):
        return RunStepSerializer(step_rows(run), many=True).data

    @extend_schema_field(DeviationSerializer(many=True))
    def get_deviations(self, run):
        """Every deviation of the run, with its step number, in step order."""
        return [
            {"step": step.number, **deviation}
            for step in sorted(run.steps.all(), key=lambda s: s.number)
            for deviation in step.deviations
        ]


class AliquotsSharingABarcode(list):
    """The aliquots of several of the requester's labs that one barcode names (barcodes are unique within a
    lab only); the serializer that knows the lab meant picks one."""

    def __init__(self, barcode: str, aliquots):
        super().__init__(aliquots)
        self.barcode = barcode


class AliquotReferenceField(serializers.Field):
    """An aliquot of the requester's labs, by id (number) or barcode (text). A barcode that names aliquots
    in several of the requester's labs comes back as AliquotsSharingABarcode."""

    default_error_messages = {"unknown": "No aliquot {value} in your labs."}

    def to_internal_value(self, data):
        aliquots = aliquots_for(self.context["request"].user)
        if isinstance(data, bool):
            self.fail("unknown", value=data)
        if isinstance(data, int) or (isinstance(data, str) and data.strip().isdigit()):
            pk = parse_id(data.strip() if isinstance(data, str) else data)
            aliquot = aliquots.filter(pk=pk).first() if pk is not None else None
        elif isinstance(data, str):
            found = list(aliquots.filter(barcode=data.strip()).select_related("lab").order_by("lab_id", "id"))
            aliquot = AliquotsSharingABarcode(data.strip(), found) if len(found) > 1 else next(iter(found), None)
        else:
            aliquot = None
        if aliquot is None:
            self.fail("unknown", value=data)
        return aliquot

    def to_representation(self, value):
        return value.pk


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "Aliquot id or barcode."})
class DocumentedAliquotReferenceField(AliquotReferenceField):
    pass


class RunInputSerializer(serializers.Serializer):
    aliquot = DocumentedAliquotReferenceField()
    volume_ul = volume_ul_field(help_text="Volume taken from the aliquot when the run starts (µL).")


class RunPlanInputSerializer(serializers.Serializer):
    project = ScopedPrimaryKeyRelatedField(scope=projects_for, model=Project)
    protocol_version = ScopedPrimaryKeyRelatedField(
        scope=protocol_versions_for, model=ProtocolVersion, help_text="An approved version (library or your lab's)."
    )
    inputs = RunInputSerializer(many=True, min_length=1, max_length=96, help_text="One preparation per aliquot.")
    equipment = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    reason = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs):
        """An input barcode that several of the requester's labs use means the project's lab's aliquot."""
        lab = attrs["project"].lab
        errors = {}
        for index, row in enumerate(attrs["inputs"]):
            if not isinstance(row["aliquot"], AliquotsSharingABarcode):
                continue
            in_lab = [aliquot for aliquot in row["aliquot"] if aliquot.lab_id == lab.pk]
            if len(in_lab) == 1:
                row["aliquot"] = in_lab[0]
            else:
                labs = ", ".join(sorted({aliquot.lab.name for aliquot in row["aliquot"]}))
                errors[index] = {
                    "aliquot": [
                        f"Aliquots of several of your labs have the barcode {row['aliquot'].barcode} ({labs}), "
                        f"none of them in {lab.name}, the project's lab; give the aliquot's id."
                    ]
                }
        if errors:
            raise serializers.ValidationError({"inputs": errors})
        return attrs


class StepInputSerializer(serializers.Serializer):
    number = serializers.IntegerField(min_value=1, help_text="1-based position in the protocol's step chain.")
    observed = serializers.DictField(help_text="Parameters as done; units may be written out ('3000 x g', '16 min').")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Why: required to correct a step of a completed run, or of a run whose preparation is approved "
        "(the approval is voided).",
    )


class RunUpdateInputSerializer(EditSerializer, serializers.ModelSerializer):
    """Corrections of a run's record; an approval of its preparations is voided, with the reason."""

    class Meta:
        model = IsolationRun
        fields = ["equipment", "started_at", "completed_at", "reason", "version"]
        extra_kwargs = {name: {"required": False} for name in ["equipment", "started_at", "completed_at"]}


class RunOutputInputSerializer(serializers.Serializer):
    preparation = serializers.IntegerField(help_text="Id of a preparation of this run.")
    final_volume_ul = volume_ul_field(required=False, allow_null=True)
    buffer = serializers.CharField(max_length=80, required=False, allow_blank=True, help_text="Storage buffer.")
    storage = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Where it is kept: freezer, box and position."
    )
    storage_container = serializers.CharField(
        max_length=120, required=False, allow_blank=True, help_text="e.g. 0.5 mL low-binding polypropylene tube"
    )
    storage_temperature_c = serializers.DecimalField(
        max_digits=5, decimal_places=1, required=False, allow_null=True, help_text="Storage temperature (°C)."
    )


class RunCompleteInputSerializer(serializers.Serializer):
    outputs = RunOutputInputSerializer(many=True, required=False, default=list)

    def validate_outputs(self, outputs):
        seen = set()
        for output in outputs:
            if output["preparation"] in seen:
                raise serializers.ValidationError(f"Preparation {output['preparation']} is listed twice.")
            seen.add(output["preparation"])
        return outputs


class RunAbortInputSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why the run was aborted.")


class EmptyInputSerializer(serializers.Serializer):
    pass
