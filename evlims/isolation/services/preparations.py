"""Writes to EV preparations after their run: output, storage, claims and functional studies."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from ...core.editing import apply_edit
from ...core.tenancy import ensure_can_write
from ...samples.services._common import approvals_follow_change
from ..models import EVPreparation, FunctionalControl

# What a person may change on a preparation after the run: its output, storage, claims and functional studies.
# What a preparation's edit may change, in the order forms and the API list them: its output, then its
# storage and the claims made of it (the one list the web form, the API serializer and this service share).
PREPARATION_OUTPUT_FIELDS = ("final_volume_ul", "buffer", "storage")
PREPARATION_STORAGE_AND_CLAIMS = (
    "storage_container",
    "storage_temperature_c",
    "storage_duration_days",
    "storage_freeze_thaw_cycles",
    "claimed_subtype",
    "biogenesis_evidence",
    "functional_cargo",
    "functional_studies",
)
PREPARATION_EDITABLE = frozenset(PREPARATION_OUTPUT_FIELDS + PREPARATION_STORAGE_AND_CLAIMS)
# The text of a functional study and the most characters each field holds.
FUNCTIONAL_STUDY_TEXT = {"assay": 200, "readout": 200, "dose": 120, "notes": 2000}


def clean_functional_studies(studies) -> list[dict]:
    """Functional studies as stored: [{assay, readout, dose, controls, notes}], each with an assay."""
    if not isinstance(studies, list):
        raise ValidationError({"functional_studies": "Give a list of functional studies."})
    known = set(FunctionalControl.values)
    cleaned = []
    for index, study in enumerate(studies, start=1):
        if not isinstance(study, dict):
            raise ValidationError({"functional_studies": f"Study {index}: give assay, readout, dose, controls."})
        unknown = sorted(set(study) - set(FUNCTIONAL_STUDY_TEXT) - {"controls"})
        if unknown:
            raise ValidationError({"functional_studies": f"Study {index}: unknown field(s) {', '.join(unknown)}."})
        entry = {}
        for name, limit in FUNCTIONAL_STUDY_TEXT.items():
            value = study.get(name) or ""
            if not isinstance(value, str) or len(value) > limit:
                raise ValidationError({"functional_studies": f"Study {index}: {name} is text of at most {limit}."})
            entry[name] = value.strip()
        if not entry["assay"]:
            raise ValidationError({"functional_studies": f"Study {index}: name the assay."})
        controls = study.get("controls") or []
        if not isinstance(controls, list) or set(controls) - known:
            raise ValidationError(
                {"functional_studies": f"Study {index}: controls are a list of {', '.join(sorted(known))}."}
            )
        entry["controls"] = list(dict.fromkeys(controls))
        cleaned.append(entry)
    return cleaned


@transaction.atomic
def preparation_update(*, prep, actor, reason: str, expected_version: int, changes: dict) -> EVPreparation:
    """Edit a preparation's output, storage, claims and functional studies (who, when, why; version-checked).

    An approved preparation is locked: the edit voids its approval, and both are audited."""
    ensure_can_write(actor, prep.lab_id)
    changes = dict(changes)
    if "functional_studies" in changes:
        changes["functional_studies"] = clean_functional_studies(changes["functional_studies"])
    volume = changes.get("final_volume_ul")
    if volume is not None and Decimal(str(volume)) <= 0:
        raise ValidationError({"final_volume_ul": "The final volume must be more than 0 µL."})
    prep = apply_edit(
        prep,
        actor=actor,
        reason=reason,
        expected_version=expected_version,
        changes=changes,
        editable=PREPARATION_EDITABLE,
    )
    approvals_follow_change(actor=actor, reason=reason, preparation_ids=[prep.pk])
    return prep


def preparation_add_functional_study(*, prep, actor, reason: str, expected_version: int, study: dict):
    """Add one functional study to the preparation's list (an edit of the list, audited as one)."""
    studies = [*(prep.functional_studies or []), study]
    return preparation_update(
        prep=prep,
        actor=actor,
        reason=reason,
        expected_version=expected_version,
        changes={"functional_studies": studies},
    )
