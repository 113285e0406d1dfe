"""Pre-analytical quality flags of a sample, computed from its record and the thresholds in data/."""

from dataclasses import dataclass
from decimal import Decimal

from .vocabulary import is_blood, preanalytical_rules


@dataclass(frozen=True)
class QualityFlag:
    code: str
    severity: str  # "warning" or "problem"
    message: str
    citation: str


def _above(value: Decimal, limit) -> bool:
    """``value`` (a stored decimal) above a threshold read from YAML, compared as the decimal written there: the
    float 0.3 is 0.29999…, so A414 0.300 would otherwise count as above 0.3."""
    return value > Decimal(str(limit))


def quality_flags(sample) -> list[QualityFlag]:
    rules = preanalytical_rules()
    flags: list[QualityFlag] = []
    if is_blood(sample.biofluid):
        flags += _blood_flags(sample, rules)
    if sample.biofluid == "urine":
        flags += _urine_flags(sample, rules)
    return flags


def _blood_flags(sample, rules) -> list[QualityFlag]:
    flags = []
    delay_rule = rules["max_processing_delay_h"]
    if sample.processing_delay_min is not None:
        limit_h = delay_rule["by_anticoagulant"].get(sample.anticoagulant, delay_rule["default"])
        if sample.processing_delay_min > limit_h * 60:
            tube = sample.get_anticoagulant_display() or "this tube"
            flags.append(
                QualityFlag(
                    "processing_delay",
                    "problem",
                    f"Processed {sample.processing_delay_min / 60:.1f} h after collection; "
                    f"{tube} allows at most {limit_h} h.",
                    delay_rule["citation"],
                )
            )
    hemolysis = rules["hemolysis_a414"]
    if sample.hemolysis_a414 is not None:
        if _above(sample.hemolysis_a414, hemolysis["likely_hemolysed_above"]):
            flags.append(
                QualityFlag(
                    "hemolysis",
                    "problem",
                    f"A414 {sample.hemolysis_a414} suggests strong hemolysis "
                    f"(> {hemolysis['likely_hemolysed_above']}).",
                    hemolysis["citation"],
                )
            )
        elif _above(sample.hemolysis_a414, hemolysis["confirm_above"]):
            flags.append(
                QualityFlag(
                    "hemolysis_borderline",
                    "warning",
                    f"A414 {sample.hemolysis_a414} is borderline; confirm hemolysis.",
                    hemolysis["citation"],
                )
            )
    platelets = rules["residual_platelets_per_ul"]
    if (
        sample.biofluid == "blood_plasma"
        and sample.residual_platelets_per_ul is not None
        and sample.residual_platelets_per_ul > platelets["max"]
    ):
        flags.append(
            QualityFlag(
                "residual_platelets",
                "warning",
                f"{sample.residual_platelets_per_ul:,} platelets/µL left; platelet-poor plasma "
                f"has fewer than {platelets['max']:,}.",
                platelets["citation"],
            )
        )
    spins = rules["plasma_preparation"]
    if (
        sample.biofluid == "blood_plasma"
        and sample.prep_spin_count is not None
        and sample.prep_spin_count < spins["min_spins"]
    ):
        flags.append(
            QualityFlag(
                "single_spin",
                "warning",
                f"Plasma spun {sample.prep_spin_count}×; platelet-poor plasma needs {spins['min_spins']} spins.",
                spins["citation"],
            )
        )
    return flags


def _urine_flags(sample, rules) -> list[QualityFlag]:
    rule = rules["urine_storage_temperature_c"]
    if sample.storage_temperature_c is not None and _above(sample.storage_temperature_c, rule["max"]):
        return [
            QualityFlag(
                "urine_storage",
                "problem",
                f"Stored at {sample.storage_temperature_c} °C; urine EVs need ≤ {rule['max']} °C.",
                rule["citation"],
            )
        ]
    return []


def aliquot_flags(aliquot) -> list[QualityFlag]:
    rule = preanalytical_rules()["freeze_thaw"]
    if aliquot.freeze_thaw_count > rule["warn_above"]:
        return [QualityFlag("freeze_thaw", "warning", f"Thawed {aliquot.freeze_thaw_count} times.", rule["citation"])]
    return []
