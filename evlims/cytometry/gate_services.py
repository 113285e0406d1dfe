"""Flow cytometry writes beyond the upload and the gating form: gates imported from a FlowJo workspace or a
Gating-ML 2.0 file applied as a result (audited as every result, by ``services.result_record``), and where a
file is shared (``flow_acquisition.share``)."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from ..core.audit import record_event
from ..core.hooks import preparations_changed
from ..core.tenancy import INGEST_ROLES, ensure_role
from .fcs import FcsHeader
from .gate_import import MAX_BYTES, GateImportError, read_gates
from .services import result_record

__all__ = ["MAX_BYTES", "acquisition_share", "result_import"]


def _in_axis_units(gates: list[dict], header: FcsHeader) -> list[dict]:
    """Imported bounds are in the file's values; a channel the file calibrates ($PnCALIBRATION f) is gated in its
    calibrated units, so its bounds are multiplied by f."""
    factors = {p.name: p.calibration_factor for p in header.parameters if p.calibration_factor}
    for gate in gates:
        for axis in ("x", "y"):
            factor = factors.get(gate.get(axis) or "")
            for bound in (f"{axis}_min", f"{axis}_max"):
                if factor and gate.get(bound) is not None:
                    gate[bound] = gate[bound] * factor
    return gates


def result_import(
    *,
    actor,
    acquisition,
    data: bytes,
    name: str,
    particle_gate: str = "",
    calibrations=(),
    volume_ul: float | None = None,
    dilution_factor: float | None = None,
    reason: str = "",
):
    """Apply the gates of a FlowJo workspace or Gating-ML 2.0 file (``data``, called ``name``) to an acquisition:
    a result whose every count names its gate and the file it came from. The particle gate is the one named, or
    the file's first top-level gate. Calibrations of evlims are refused on the channels the imported gates use:
    the file's bounds are in the file's own values."""
    header = FcsHeader.from_dict(acquisition.header)
    try:
        gates, kind = read_gates(
            data, parameters=header.parameters, fcs_name=acquisition.file_name, source=f"{name[:100]}"
        )
    except GateImportError as exc:
        raise ValidationError({"gates_file": str(exc)}) from exc
    gated = {gate[axis] for gate in gates for axis in ("x", "y") if gate.get(axis)}
    calibrations = list(calibrations)
    clash = sorted(c.channel for c in calibrations if c.channel in gated)
    if clash:
        raise ValidationError(
            {
                "calibrations": f"The imported gates are drawn on {clash[0]} in the file's own values; leave out "
                "the calibration of that channel."
            }
        )
    particle_gate = particle_gate or next(gate["name"] for gate in gates if not gate["parent"])
    return result_record(
        actor=actor,
        acquisition=acquisition,
        gates=_in_axis_units(gates, header),
        particle_gate=particle_gate,
        calibrations=calibrations,
        volume_ul=volume_ul,
        dilution_factor=dilution_factor,
        source=f"Imported from {kind} {name}"[:120],
        reason=reason,
    )


FLOWREPOSITORY = "FlowRepository"
# FlowRepository's experiment ids look like FR-FCM-Z2ZY [M: read from its public pages, not from a specification].
FLOWREPOSITORY_ID = re.compile(r"^FR-FCM-[A-Z0-9]{4}$")


def _sharing_errors(repository: str, accession: str, url: str) -> dict:
    errors = {}
    if accession and not repository:
        errors["data_repository"] = "Name the repository the accession belongs to (e.g. FlowRepository)."
    if repository and not accession:
        errors["data_accession"] = f"Give the accession of the data in {repository}."
    if repository.casefold() == FLOWREPOSITORY.casefold() and accession and not FLOWREPOSITORY_ID.match(accession):
        errors["data_accession"] = f"“{accession}” is not a FlowRepository id (FR-FCM- and four letters or digits)."
    if url:
        try:
            URLValidator(schemes=["https", "http"])(url)
        except ValidationError:
            errors["data_url"] = "Give the web address of the shared data (https://…)."
    return errors


def acquisition_share(*, actor, acquisition, repository: str, accession: str, url: str = "", reason: str = ""):
    """Record where an FCS file is shared (MIFlowCyt-EV's data sharing): a repository, the accession and its web
    address (a FlowRepository id gets its address when none is given). Empty repository and accession clear it."""
    ensure_role(actor, acquisition.lab_id, INGEST_ROLES, "record where flow cytometry data are shared")
    repository, accession, url = (repository or "").strip(), (accession or "").strip(), (url or "").strip()
    if repository.casefold() == FLOWREPOSITORY.casefold():
        repository, accession = FLOWREPOSITORY, accession.upper()
        url = url or (f"https://flowrepository.org/id/{accession}" if accession else "")
    errors = _sharing_errors(repository, accession, url)
    if errors:
        raise ValidationError(errors)
    before = {"repository": acquisition.data_repository, "accession": acquisition.data_accession}
    acquisition.data_repository, acquisition.data_accession, acquisition.data_url = repository, accession, url
    with transaction.atomic():
        acquisition.save(update_fields=["data_repository", "data_accession", "data_url", "updated_at"])
        preparations_changed(
            [acquisition.preparation_id or (acquisition.controls.preparation_id if acquisition.controls_id else None)]
        )
        record_event(
            actor=actor,
            action="flow_acquisition.share",
            obj=acquisition,
            reason=reason,
            changes={"before": before, "repository": repository, "accession": accession, "url": url},
        )
    return acquisition
