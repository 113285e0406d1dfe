"""Serializers of the control-material endpoints (views: controls): the material, its edit, and its
Levey–Jennings chart as a person sees it on the control page (points, limits, baseline, Westgard violations)."""

import math

from rest_framework import serializers

from ..metrics import control_charts
from ..metrics.models import ControlMaterial
from ..metrics.services.controls import BASELINE_HELP, MAX_BASELINE_POINTS, MIN_BASELINE_POINTS, TARGET_HELP
from ..metrics.westgard import ACCEPT, REJECT, SCOPE_WORDS, WARNING, full_baseline_points

SCALES = ("log10", "linear")
VERDICTS = (ACCEPT, WARNING, REJECT)
LIMIT_NAMES = {
    -3: "minus_3sd",
    -2: "minus_2sd",
    -1: "minus_1sd",
    0: "mean",
    1: "plus_1sd",
    2: "plus_2sd",
    3: "plus_3sd",
}


class ControlMaterialOutputSerializer(serializers.ModelSerializer):
    lab_name = serializers.CharField(source="lab.name", read_only=True)
    samples = serializers.SlugRelatedField(
        slug_field="barcode", many=True, read_only=True, help_text="Barcodes of the samples the material links."
    )
    baseline_note = serializers.SerializerMethodField(help_text="How the material's limits are set, in words.")

    class Meta:
        model = ControlMaterial
        fields = [
            "id",
            "lab",
            "lab_name",
            "name",
            "description",
            "target_mean_particles_per_ug",
            "target_sd_particles_per_ug",
            "baseline_points",
            "samples",
            "baseline_note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_baseline_note(self, material) -> str:
        needed = full_baseline_points()
        estimated = f"estimated from the first {material.baseline_points} runs"
        if material.baseline_points < needed:
            estimated += f": provisional, {needed} are needed (Westgard; CLSI C24)"
        else:
            estimated += f", provisional until {needed} runs are in (Westgard; CLSI C24)"
        if material.target_mean_particles_per_ug is not None:
            return f"Particles per µg is judged against the assigned targets; particle yield's limits are {estimated}."
        return f"Limits {estimated}."


class ControlMaterialUpdateInputSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why the material is changed; kept in the audit trail.")
    name = serializers.CharField(required=False, max_length=120)
    description = serializers.CharField(required=False, allow_blank=True)
    target_mean_particles_per_ug = serializers.FloatField(required=False, allow_null=True, help_text=TARGET_HELP)
    target_sd_particles_per_ug = serializers.FloatField(
        required=False, allow_null=True, help_text="The assigned SD, in particles/µg; give both targets or neither."
    )
    baseline_points = serializers.IntegerField(
        required=False, min_value=MIN_BASELINE_POINTS, max_value=MAX_BASELINE_POINTS, help_text=BASELINE_HELP
    )
    sample_barcodes = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        help_text="Every sample the material links, by barcode (of its lab); one left out is unlinked.",
    )

    def validate(self, attrs):
        if not set(attrs) - {"reason"}:
            raise serializers.ValidationError("Give at least one field to change.")
        return attrs


class ViolationSerializer(serializers.Serializer):
    rule = serializers.CharField(help_text="Westgard rule: 1-2s, 1-3s, 2-2s, R-4s, 4-1s or 10x.")
    scope = serializers.ChoiceField(
        choices=list(SCOPE_WORDS),
        help_text="within_level (one material's own points), within_run (levels of one run) or across_levels "
        "(levels over several runs).",
    )
    scope_label = serializers.CharField(help_text="The scope in words, as the control page says it.")
    severity = serializers.ChoiceField(choices=[WARNING, REJECT])
    run = serializers.CharField(help_text="Code of the run that completed the rule.")
    points = serializers.ListField(
        child=serializers.CharField(), help_text="Barcodes of every preparation involved, of every level."
    )


class PointSerializer(serializers.Serializer):
    sequence = serializers.IntegerField(help_text="1, 2, … in run order.")
    preparation = serializers.CharField(help_text="Barcode of the control preparation.")
    preparation_id = serializers.IntegerField()
    run = serializers.CharField(help_text="Run code.")
    run_started_at = serializers.DateTimeField(allow_null=True)
    value = serializers.FloatField()
    unit = serializers.CharField()
    z_score = serializers.FloatField(allow_null=True, help_text="On log10 of the value for a log10 scale.")
    judged = serializers.BooleanField(help_text="False for baseline points and series that cannot be judged.")
    verdict = serializers.ChoiceField(choices=list(VERDICTS), allow_null=True, help_text="Null for a baseline point.")
    verdict_label = serializers.CharField(help_text="In control, Warning, Reject or Baseline.")
    violations = ViolationSerializer(many=True)


class LimitsSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="'assigned to the material' or 'estimated from the first n points'.")
    mean = serializers.FloatField(help_text="The mean, geometric on a log10 scale.")
    sd = serializers.FloatField(help_text="The SD, of log10 of the values on a log10 scale.")
    log10_mean = serializers.FloatField(allow_null=True, help_text="Mean of log10 of the values (log10 scale only).")
    minus_3sd = serializers.FloatField()
    minus_2sd = serializers.FloatField()
    minus_1sd = serializers.FloatField()
    plus_1sd = serializers.FloatField()
    plus_2sd = serializers.FloatField()
    plus_3sd = serializers.FloatField()


class BaselineSerializer(serializers.Serializer):
    provisional = serializers.BooleanField(help_text="The limits rest on fewer points than needed.")
    points = serializers.IntegerField(help_text="Points the limits were estimated from (0 for assigned targets).")
    needed = serializers.IntegerField(help_text="Points Westgard and CLSI C24 ask for.")
    assigned = serializers.BooleanField(help_text="The targets are the material's assigned ones, not estimated.")
    note = serializers.CharField(allow_blank=True, help_text="The page's words for provisional limits, or ''.")


class SeriesSerializer(serializers.Serializer):
    protocol = serializers.CharField(help_text="The protocol (slug@version) the series was isolated under.")
    problem = serializers.CharField(allow_null=True, help_text="Why the series is not judged, when it is not.")
    limits = LimitsSerializer(allow_null=True)
    baseline = BaselineSerializer()
    points = PointSerializer(many=True)
    violations = ViolationSerializer(many=True, help_text="Every rule broken that involves a point of this series.")
    missing_figure = serializers.IntegerField(help_text="Preparations of the material without the figure.")


class ControlChartOutputSerializer(serializers.Serializer):
    material = serializers.IntegerField()
    material_name = serializers.CharField()
    figure = serializers.CharField()
    figure_label = serializers.CharField()
    unit = serializers.CharField()
    scale = serializers.ChoiceField(
        choices=list(SCALES), help_text="log10: judged on log10 of the values, geometric limits; else linear."
    )
    limits_explained = serializers.CharField(help_text="How the limits are drawn, as the control page says it.")
    series = SeriesSerializer(many=True, help_text="One per protocol the material was isolated under.")


def _number(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _violations(chart) -> list[dict]:
    return [
        {
            "rule": v["rule"],
            "scope": v["scope_key"],
            "scope_label": v["scope"],
            "severity": REJECT if v["severity"] == "Reject" else WARNING,
            "run": v["run_code"],
            "points": v["barcodes"],
        }
        for v in chart.violations
    ]


def _points(chart, violations) -> list[dict]:
    unit = control_charts.CHART_FIGURES[chart.figure].unit
    points = []
    for record in chart.points.to_dict("records"):
        broken = set(record["violations"] or ())
        started = record["started_at"]
        points.append(
            {
                "sequence": int(record["sequence"]),
                "preparation": record["barcode"],
                "preparation_id": int(record["preparation"]),
                "run": record["run_code"],
                "run_started_at": None if started is None or started != started else started.to_pydatetime(),
                "value": float(record["value"]),
                "unit": unit,
                "z_score": _number(record["z_score"]),
                "judged": bool(record["judged"]) if record["judged"] is not None else False,
                "verdict": record["level"],
                "verdict_label": control_charts.level_label(record["level"]),
                "violations": [
                    v for v in violations if (v["rule"], v["scope"]) in broken and record["barcode"] in v["points"]
                ],
            }
        )
    return points


def _limits(chart) -> dict | None:
    if not chart.limits:
        return None
    limits = {LIMIT_NAMES[k]: float(value) for k, value in chart.limits.items()}
    return limits | {
        "source": chart.target_source,
        "sd": float(chart.target_sd),
        "log10_mean": float(chart.target_mean) if chart.log_scale else None,
    }


def chart_data(material, figure: str, charts) -> dict:
    """The charts of one figure of ``material`` (``control_charts.charts_for``) as the chart endpoint answers."""
    log_scale = control_charts.CHART_FIGURES[figure].log_normal
    series = []
    for chart in charts:
        violations = _violations(chart)
        assigned = chart.target_source.startswith("assigned")
        series.append(
            {
                "protocol": chart.protocol,
                "problem": chart.problem,
                "limits": _limits(chart),
                "baseline": {
                    "provisional": chart.provisional,
                    "points": 0 if assigned else chart.baseline_n,
                    "needed": full_baseline_points(),
                    "assigned": assigned,
                    "note": chart.provisional_note,
                },
                "points": _points(chart, violations),
                "violations": violations,
                "missing_figure": chart.missing_figure,
            }
        )
    explained = (
        "Geometric limits: the mean and SD are those of log10 of the values, so the limits are 10^(mean ± k·SD), "
        "never below 0, on a logarithmic axis."
        if log_scale
        else "Arithmetic limits: mean ± 1, 2 and 3 SD."
    )
    return {
        "material": material.pk,
        "material_name": material.name,
        "figure": figure,
        "figure_label": control_charts.CHART_FIGURES[figure].label,
        "unit": control_charts.CHART_FIGURES[figure].unit,
        "scale": "log10" if log_scale else "linear",
        "limits_explained": explained,
        "series": series,
    }
