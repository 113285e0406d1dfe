"""Flow cytometry writes: an FCS file uploaded (kept byte for byte, its header read at once, its events in a
Celery task), a bead calibration fitted and stored, and gates applied to an acquisition as a result.

Each audited write records one event of its own in its transaction: ``flow_acquisition.upload`` (or
``flow_acquisition.failed`` when the header cannot be read: the file stays kept), ``flow_calibration.create`` and
``flow_result.record``; an EV sample's result also stores the preparation's particle result
(``measurements.record``), refused like any result while its run is not completed.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..characterization.services import measurements_record, validate_results
from ..conf import evlims_settings
from ..core.actors import is_person
from ..core.audit import record_event
from ..core.hooks import preparations_changed
from ..core.registry import Provider
from ..core.tenancy import INGEST_ROLES, WRITER_ROLES, ensure_role
from ..instruments.particles import SIZE_FIELDS
from ..instruments.services.results import raw_file_store
from .analysis import analyse, default_axes, density_for, file_calibrations
from .calibration import CalibrationError, fit_fluorescence, fit_scatter
from .fcs import FcsError, FcsHeader, read_header
from .gating import Gate, GateError
from .models import FlowAcquisition, FlowCalibration, FlowResult

# Who reads an upload's events once it is saved: the Celery task (cytometry.tasks.send_read_events, registered in
# EvlimsConfig.ready()), so this module never imports the task module that imports it.
events_reader = Provider("the sender of FCS event reading to the workers (cytometry.tasks.send_read_events)")


class AcquisitionRefused(ValidationError):
    """The file is not readable FCS; it is kept, and ``acquisition`` is the failed record saying why."""

    def __init__(self, message, *, acquisition):
        super().__init__(message)
        self.acquisition = acquisition


def _max_bytes() -> int:
    return evlims_settings.FCS_MAX_BYTES


def _check_links(lab, preparation, role, controls, dilution_factor, volume_ul) -> None:
    errors = {}
    if preparation is not None and preparation.lab_id != lab.pk:
        errors["preparation"] = f"{preparation.barcode} is not a preparation of {lab.name}."
    if controls is not None:
        if controls.lab_id != lab.pk:
            errors["controls"] = "The controlled acquisition belongs to another lab."
        elif controls.role != FlowAcquisition.Role.SAMPLE:
            errors["controls"] = "A control is measured for an EV sample, not for another control."
        elif role == FlowAcquisition.Role.SAMPLE:
            errors["controls"] = "An EV sample controls nothing; choose the kind of control this file is."
    if dilution_factor is not None and not dilution_factor >= 1:
        errors["dilution_factor"] = "The dilution factor is 1 (undiluted) or more."
    if volume_ul is not None and not 0 < volume_ul <= 1e6:
        errors["volume_ul"] = "The analysed volume is above 0 µL and at most 1 L."
    if role not in FlowAcquisition.Role.values:
        errors["role"] = f"“{role}” is not a kind of acquisition."
    if errors:
        raise ValidationError(errors)


def acquisition_upload(
    *,
    actor,
    lab,
    data: bytes,
    name: str,
    preparation=None,
    role: str = FlowAcquisition.Role.SAMPLE,
    controls=None,
    dilution_factor: float | None = None,
    volume_ul: float | None = None,
    instrument=None,
    reason: str = "",
) -> FlowAcquisition:
    """Keep an FCS file and read its header; its events are read by a task once the upload is saved. Raises
    AcquisitionRefused (after saving the failed acquisition) when the file is not readable FCS. An instrument's
    key uploads with ``actor`` None and its ``instrument``."""
    if is_person(actor) or instrument is None:
        ensure_role(actor, lab.pk, INGEST_ROLES, "upload flow cytometry files")
    if len(data) > _max_bytes():
        raise ValidationError({"file": f"The file is {len(data):,} bytes; the limit is {_max_bytes():,}."})
    _check_links(lab, preparation, role, controls, dilution_factor, volume_ul)
    raw = raw_file_store(
        lab=lab, data=data, name=name, content_type="application/vnd.isac.fcs", actor=actor, instrument=instrument
    )
    acquisition = FlowAcquisition(
        lab=lab,
        preparation=preparation,
        role=role,
        controls=controls,
        raw_file=raw,
        file_name=name[:255],
        dilution_factor=dilution_factor,
        uploaded_by=actor if is_person(actor) else None,
    )
    try:
        header = read_header(data)
    except FcsError as exc:
        acquisition.status, acquisition.error = FlowAcquisition.Status.FAILED, str(exc)
        _save(acquisition, actor or instrument, "flow_acquisition.failed", reason)
        raise AcquisitionRefused({"file": str(exc)}, acquisition=acquisition) from exc
    acquisition.header = header.to_dict()
    acquisition.warnings = header.warnings
    acquisition.instrument_name = header.instrument[:200]
    acquisition.event_count = header.event_count
    acquisition.volume_ul = volume_ul if volume_ul is not None else header.volume_ul
    acquired = parse_datetime(header.acquired_at or "") if header.acquired_at and "T" in header.acquired_at else None
    acquisition.acquired_at = timezone.make_aware(acquired) if acquired and timezone.is_naive(acquired) else acquired
    _save(acquisition, actor or instrument, "flow_acquisition.upload", reason)
    transaction.on_commit(lambda: events_reader.get()(acquisition.pk))
    return acquisition


def _preparation_of(acquisition) -> int | None:
    """The preparation whose MIFlowCyt-EV evidence an acquisition is: its own, or that of the sample it controls."""
    if acquisition.preparation_id:
        return acquisition.preparation_id
    return acquisition.controls.preparation_id if acquisition.controls_id else None


def _save(acquisition, actor, action, reason):
    with transaction.atomic():
        acquisition.save()
        preparations_changed([_preparation_of(acquisition)])
        record_event(
            actor=actor,
            action=action,
            obj=acquisition,
            reason=reason,
            changes={
                "file": acquisition.file_name,
                "sha256": acquisition.raw_file.sha256,
                "role": acquisition.role,
                "preparation": acquisition.preparation.barcode if acquisition.preparation else None,
                "controls": acquisition.controls_id,
                "events": acquisition.event_count,
                "warnings": len(acquisition.warnings),
                "error": acquisition.error[:500],
            },
        )


def acquisition_read_events(*, acquisition_id: int) -> FlowAcquisition | None:
    """Read the stored file's events (bounded: one float32 array) and keep the density plot's grid. Derived from
    the audited file, so not audited itself; safe to run twice."""
    acquisition = FlowAcquisition.objects.select_related("raw_file").filter(pk=acquisition_id).first()
    if acquisition is None or acquisition.status == FlowAcquisition.Status.FAILED:
        return acquisition
    header = FcsHeader.from_dict(acquisition.header)
    with acquisition.raw_file.file.open("rb") as handle:
        data = handle.read()
    try:
        x, y = default_axes(header)
        acquisition.density = density_for(data, header, x, y, {})
        acquisition.status = FlowAcquisition.Status.READ
    except (FcsError, ValueError) as exc:
        acquisition.status, acquisition.error = FlowAcquisition.Status.FAILED, f"The events cannot be read: {exc}"
    acquisition.save(update_fields=["density", "status", "error", "updated_at"])
    return acquisition


def _calibration_fit(kind, measured, assigned, optics) -> dict:
    try:
        if kind == FlowCalibration.Kind.FLUORESCENCE:
            return fit_fluorescence(measured, assigned)
        return fit_scatter(
            measured,
            assigned,
            bead_index=float(optics.get("bead_index", 1.591)),
            medium_index=float(optics.get("medium_index", 1.333)),
            wavelength_nm=float(optics.get("wavelength_nm", 488)),
            particle_index=float(optics.get("particle_index", 1.40)),
        )
    except (CalibrationError, TypeError, ValueError) as exc:
        raise ValidationError({"measured": str(exc)}) from exc


def calibration_create(
    *,
    actor,
    lab,
    name: str,
    kind: str,
    channel: str,
    units: str,
    beads: str,
    calibrated_on,
    measured: list[float],
    assigned: list[float],
    lot: str = "",
    optics: dict | None = None,
    instrument=None,
    reason: str = "",
) -> FlowCalibration:
    """Fit bead medians against their assigned values (MESF/ERF) or sizes (nm, Mie) and keep the calibration."""
    ensure_role(actor, lab.pk, WRITER_ROLES, "record flow cytometry calibrations")
    if kind not in FlowCalibration.Kind.values:
        raise ValidationError({"kind": f"“{kind}” is not a kind of calibration."})
    scatter = kind == FlowCalibration.Kind.SCATTER
    if units not in FlowCalibration.Units.values or scatter != (units == FlowCalibration.Units.NM):
        raise ValidationError({"units": "Scatter is calibrated to nm; fluorescence to MESF, ERF, MEFL or MEPE."})
    if instrument is not None and instrument.lab_id != lab.pk:
        raise ValidationError({"instrument": "The instrument belongs to another lab."})
    fit = _calibration_fit(kind, measured, assigned, optics or {})
    with transaction.atomic():
        calibration = FlowCalibration.objects.create(
            lab=lab,
            instrument=instrument,
            name=name,
            kind=kind,
            channel=channel,
            units=units,
            beads=beads,
            lot=lot,
            calibrated_on=calibrated_on,
            measured=list(measured),
            assigned=list(assigned),
            optics=optics or {},
            fit=fit,
            created_by=actor,
        )
        record_event(
            actor=actor,
            action="flow_calibration.create",
            obj=calibration,
            reason=reason,
            changes={"name": name, "channel": channel, "units": units, "beads": beads, "lot": lot, "fit": fit},
        )
    return calibration


def _particle_document(acquisition, result: dict, calibrations) -> dict:
    sizes = result["sizes"]
    particle = {
        "technique": "nanoflow",
        "name": acquisition.file_name[:200],
        "dilution_factor": acquisition.dilution_factor,
        "concentration_per_ml": result["concentration_per_ml"],
        "calibration": "; ".join(str(c) for c in calibrations)[:200],
        "settings": {"events": acquisition.event_count, "analysed_volume_ul": acquisition.volume_ul},
        "computed": ["concentration_per_ml"] + (["size"] if sizes else []),
    }
    for key in SIZE_FIELDS:
        if sizes.get(key) is not None:
            particle[key] = sizes[key]
    if sizes.get("concentration_per_ml"):
        particle["histogram"] = {
            "bin_center_nm": sizes["bin_center_nm"],
            "concentration_per_ml": sizes["concentration_per_ml"],
        }
    document = {"kind": "particle", "method": "nanoflow", "preparation": acquisition.preparation.barcode}
    if acquisition.acquired_at:
        document["measured_at"] = acquisition.acquired_at.isoformat()
    return document | {"particle": particle}


def result_record(
    *,
    actor,
    acquisition: FlowAcquisition,
    gates: list[dict],
    particle_gate: str,
    calibrations=(),
    volume_ul: float | None = None,
    dilution_factor: float | None = None,
    source: str = "",
    reason: str = "",
) -> FlowResult:
    """Apply gates (on calibrated axes where a calibration of the channel is given) and keep what they count. An
    EV sample of a preparation also gets the preparation's particle result (concentration, sizes)."""
    ensure_role(actor, acquisition.lab_id, INGEST_ROLES, "gate flow cytometry files")
    if acquisition.status == FlowAcquisition.Status.FAILED:
        raise ValidationError({"acquisition": "This file could not be read; there are no events to gate."})
    calibrations = list(calibrations)
    if any(c.lab_id != acquisition.lab_id for c in calibrations):
        raise ValidationError({"calibrations": "A calibration belongs to another lab."})
    by_channel = {c.channel: {"kind": c.kind, "units": c.units, "fit": c.fit} for c in calibrations}
    if len(by_channel) < len(calibrations):
        raise ValidationError({"calibrations": "Give one calibration per channel."})
    header = FcsHeader.from_dict(acquisition.header)
    in_file = sorted(set(by_channel) & set(file_calibrations(header)))
    if in_file:
        raise ValidationError(
            {
                "calibrations": f"{in_file[0]} is calibrated in the file ($PnCALIBRATION); no second calibration is "
                "applied on top of it. Leave out the calibration of that channel."
            }
        )
    _check_links(acquisition.lab, None, acquisition.role, None, dilution_factor, volume_ul)
    if volume_ul is not None:
        acquisition.volume_ul = volume_ul
    if dilution_factor is not None:
        acquisition.dilution_factor = dilution_factor
    with acquisition.raw_file.file.open("rb") as handle:
        data = handle.read()
    try:
        parsed = [Gate.from_dict(g) for g in gates]
        result = analyse(
            data,
            header,
            gates=parsed,
            particle_gate=particle_gate,
            calibrations=by_channel,
            volume_ul=acquisition.volume_ul,
            dilution=acquisition.dilution_factor,
        )
    except (GateError, TypeError) as exc:
        raise ValidationError({"gates": str(exc)}) from exc
    with transaction.atomic():
        acquisition.save(update_fields=["volume_ul", "dilution_factor", "updated_at"])
        measurement = None
        if acquisition.role == FlowAcquisition.Role.SAMPLE and acquisition.preparation_id:
            documents = validate_results([_particle_document(acquisition, result, calibrations)])
            measurement = measurements_record(
                actor=actor, lab=acquisition.lab, results=documents, raw_file=acquisition.raw_file, reason=reason
            )[0]
        flow_result = FlowResult.objects.create(
            lab=acquisition.lab,
            acquisition=acquisition,
            measurement=measurement,
            gates=[g.to_dict() for g in parsed],
            counts=result["counts"],
            particle_gate=particle_gate,
            axes=result["axes"],
            source=(source or "Drawn in evlims")[:120],
            volume_ul=acquisition.volume_ul,
            dilution_factor=acquisition.dilution_factor,
            concentration_per_ml=result["concentration_per_ml"],
            concentration_note=result["concentration_note"][:300],
            sizes=result["sizes"],
            recorded_by=actor,
        )
        flow_result.calibrations.set(calibrations)
        preparations_changed([_preparation_of(acquisition)])
        record_event(
            actor=actor,
            action="flow_result.record",
            obj=flow_result,
            reason=reason,
            changes={
                "acquisition": acquisition.pk,
                "file": acquisition.file_name,
                "gates": [g.name for g in parsed],
                "source": flow_result.source,
                "counts": {c["gate"]: c["events"] for c in result["counts"]},
                "concentration_per_ml": result["concentration_per_ml"],
                "calibrations": [c.pk for c in calibrations],
                "measurement": measurement.pk if measurement else None,
            },
        )
    return flow_result
