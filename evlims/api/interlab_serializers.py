"""Serializers of the comparison endpoints (``api.interlab``): what is read and written, and an example of a
round's statistics."""

from rest_framework import serializers

from ..characterization.models import Measurement
from ..core.models import Lab
from ..core.tenancy import visible_lab_ids
from ..interlab import selectors
from ..interlab.models import ComparisonRound, ComparisonScheme, Quantity, RoundItem
from ..standards.models import ReferenceMaterialLot
from ..standards.selectors import lots_for
from .base import ScopedPrimaryKeyRelatedField, labs_for


def _reason():
    return serializers.CharField(
        required=False, allow_blank=True, max_length=2000, help_text="Kept in the audit trail."
    )


class ComparisonSchemeOutputSerializer(serializers.ModelSerializer):
    quantity_label = serializers.CharField(source="get_quantity_display", read_only=True)

    class Meta:
        model = ComparisonScheme
        fields = ["id", "lab", "code", "name", "quantity", "quantity_label", "description", "created_at"]
        read_only_fields = fields


class ComparisonSchemeCreateInputSerializer(serializers.Serializer):
    lab = ScopedPrimaryKeyRelatedField(scope=labs_for, model=Lab)
    code = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200)
    quantity = serializers.ChoiceField(choices=Quantity.choices)
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    reason = _reason()


class ComparisonRoundOutputSerializer(serializers.ModelSerializer):
    scheme_code = serializers.CharField(source="scheme.code", read_only=True)
    scheme_name = serializers.CharField(source="scheme.name", read_only=True)
    quantity = serializers.CharField(source="scheme.quantity", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    your_role = serializers.SerializerMethodField()
    your_codes = serializers.SerializerMethodField()

    class Meta:
        model = ComparisonRound
        fields = [
            "id",
            "scheme",
            "scheme_code",
            "scheme_name",
            "quantity",
            "code",
            "material",
            "status",
            "status_label",
            "assigned_from",
            "reference_lot",
            "reference_value",
            "reference_uncertainty",
            "sigma_pt",
            "sigma_pt_basis",
            "coverage_factor",
            "results_due",
            "shipped_at",
            "closed_at",
            "your_role",
            "your_codes",
        ]
        read_only_fields = fields

    # What a participant must not know before it reports: the value it will be judged against.
    HIDDEN_UNTIL_CLOSED = ("reference_lot", "reference_value", "reference_uncertainty")

    def to_representation(self, round_):
        data = super().to_representation(round_)
        closed = round_.status == ComparisonRound.Status.CLOSED
        if not closed and not selectors.is_coordinator(self.context["request"].user, round_):
            data.update(dict.fromkeys(self.HIDDEN_UNTIL_CLOSED))
        return data

    def get_your_role(self, round_) -> str:
        user = self.context["request"].user
        return "coordinator" if selectors.is_coordinator(user, round_) else "participant"

    def get_your_codes(self, round_) -> list[str]:
        # From the participants the list prefetched: one query per page, not one per round.
        labs = set(visible_lab_ids(self.context["request"].user))
        return sorted(p.code for p in round_.participants.all() if p.lab_id in labs)


class ComparisonRoundCreateInputSerializer(serializers.Serializer):
    scheme = ScopedPrimaryKeyRelatedField(scope=selectors.schemes_for, model=ComparisonScheme)
    code = serializers.CharField(max_length=40)
    material = serializers.CharField(max_length=200)
    sigma_pt = serializers.FloatField(
        help_text="Standard deviation for proficiency assessment, in the unit of the quantity."
    )
    sigma_pt_basis = serializers.CharField(required=False, allow_blank=True, max_length=300)
    assigned_from = serializers.ChoiceField(choices=ComparisonRound.AssignedFrom.choices, required=False)
    reference_lot = ScopedPrimaryKeyRelatedField(
        scope=lots_for,
        model=ReferenceMaterialLot,
        required=False,
        allow_null=True,
        help_text="A reference-material lot of the coordinating lab: its assigned value and standard uncertainty "
        "become the reference value, unless given.",
    )
    reference_value = serializers.FloatField(required=False, allow_null=True)
    reference_uncertainty = serializers.FloatField(required=False, allow_null=True, help_text="Standard uncertainty.")
    coverage_factor = serializers.FloatField(required=False)
    results_due = serializers.DateField(required=False, allow_null=True)
    reason = _reason()


class ComparisonItemOutputSerializer(serializers.ModelSerializer):
    round_code = serializers.CharField(source="round.code", read_only=True)
    scheme_code = serializers.CharField(source="round.scheme.code", read_only=True)
    participant = serializers.CharField(source="participant.code", read_only=True)
    shipping_label = serializers.CharField(source="get_shipping_display", read_only=True)
    result_value = serializers.SerializerMethodField()

    class Meta:
        model = RoundItem
        fields = [
            "id",
            "round",
            "round_code",
            "scheme_code",
            "code",
            "participant",
            "shipping",
            "shipping_label",
            "shipped_at",
            "result_value",
        ]
        read_only_fields = fields

    def get_result_value(self, item) -> float | None:
        result = getattr(item, "result", None)  # None when no result is reported yet
        return result.value if result else None


class ComparisonEnrolInputSerializer(serializers.Serializer):
    lab = serializers.SlugField(help_text="The participant lab's short name (slug).")
    reason = _reason()


class ComparisonItemInputSerializer(serializers.Serializer):
    participant = serializers.CharField(max_length=20, help_text='The participant\'s code, e.g. "Lab 07".')
    code = serializers.CharField(required=False, allow_blank=True, max_length=40)
    aliquot = serializers.CharField(
        required=False, allow_blank=True, max_length=40, help_text="Barcode of the coordinating lab's aliquot."
    )
    reason = _reason()


class ComparisonChecksInputSerializer(serializers.Serializer):
    homogeneity_pairs = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        required=False,
        max_length=500,
    )
    stability_before = serializers.ListField(child=serializers.FloatField(), required=False, max_length=500)
    stability_after = serializers.ListField(child=serializers.FloatField(), required=False, max_length=500)
    reason = _reason()


class ComparisonReasonInputSerializer(serializers.Serializer):
    reason = _reason()


def _measurements(user):
    return Measurement.objects.filter(lab_id__in=visible_lab_ids(user))


class ComparisonResultInputSerializer(serializers.Serializer):
    value = serializers.FloatField(required=False, allow_null=True)
    standard_uncertainty = serializers.FloatField(required=False, allow_null=True, min_value=0)
    coverage_factor = serializers.FloatField(required=False, min_value=0.1, max_value=10)
    method = serializers.CharField(required=False, allow_blank=True, max_length=200)
    measurement = ScopedPrimaryKeyRelatedField(
        scope=_measurements,
        model=Measurement,
        required=False,
        allow_null=True,
        help_text="A result recorded the normal way on your preparation of the item; its headline figure is read.",
    )
    reason = _reason()

    def validate(self, data):
        if data.get("value") is None and data.get("measurement") is None:
            raise serializers.ValidationError({"value": ["Give a value or a recorded result (measurement)."]})
        return data


class ComparisonResultOutputSerializer(serializers.Serializer):
    item = serializers.IntegerField(source="item_id")
    value = serializers.FloatField()
    standard_uncertainty = serializers.FloatField(allow_null=True)
    coverage_factor = serializers.FloatField()
    method = serializers.CharField()
    measurement = serializers.IntegerField(source="measurement_id", allow_null=True)


STATISTICS_EXAMPLE = {
    "round": 3,
    "status": "closed",
    "status_label": "Closed and scored",
    "sigma_pt": 1.0e9,
    "assigned_from": "consensus",
    "assigned_from_label": "Robust consensus of the participants (Algorithm A)",
    "final": True,
    "assigned_value": 5.06e9,
    "assigned_uncertainty": 7.6e7,
    "robust_mean": 5.06e9,
    "robust_sd": 1.49e8,
    "participants_reported": 6,
    "z_usable": True,
    "notes": ["Only 6 results: ISO 13528 §5.4 warns that a consensus of fewer than about 12 participants …"],
    "problem": "",
    "homogeneity": {"passed": True, "statistic": 2.9e7, "limit": 3.0e8, "detail": "3 items in duplicate: …"},
    "stability": None,
    "results": [
        {
            "participant": "Lab 07",
            "item": "2026-1-001",
            "value": 5.0e9,
            "standard_uncertainty": 2.0e8,
            "z": -0.06,
            "z_band": "satisfactory",
            "z_prime": -0.06,
            "z_prime_band": "satisfactory",
            "zeta": -0.28,
            "zeta_band": "satisfactory",
            "en": -0.14,
            "en_band": "satisfactory",
        }
    ],
    "summary": [{"participant": "Lab 07", "value": 5.0e9, "z": -0.06, "z_band": "satisfactory"}],
}
