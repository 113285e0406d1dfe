"""The ``flow`` part of experiment documents: a preparation's single-EV flow cytometry as MIFlowCyt-EV reads it
(the latest gated EV sample file, the units of its axes, its concentration of the original sample and the
controls measured for it), read for many preparations in a fixed number of queries."""

from django.db.models import Prefetch

from ..cytometry.analysis import IN_FILE
from ..cytometry.controls import control_summary
from ..cytometry.models import FlowAcquisition, FlowResult

FLUORESCENCE_UNITS = {"MESF", "ERF", "MEFL", "MEPE"}


def _acquisitions(preparation_ids):
    results = FlowResult.objects.order_by("-created_at", "-id").prefetch_related("calibrations")
    controls = FlowAcquisition.objects.only("id", "role", "dilution_factor", "controls_id").prefetch_related(
        Prefetch("results", queryset=FlowResult.objects.order_by("-created_at", "-id"))
    )
    return (
        FlowAcquisition.objects.filter(preparation_id__in=list(preparation_ids), role=FlowAcquisition.Role.SAMPLE)
        .exclude(status=FlowAcquisition.Status.FAILED)
        .only(
            "id",
            "preparation_id",
            "role",
            "header",
            "event_count",
            "dilution_factor",
            "created_at",
            "data_repository",
            "data_accession",
            "data_url",
        )
        .order_by("-created_at", "-id")
        .prefetch_related(
            Prefetch("results", queryset=results),
            Prefetch("control_acquisitions", queryset=controls),
        )
    )


def _part(acquisition) -> dict:
    header = acquisition.header or {}
    part = {
        "instrument": header.get("instrument") or None,
        "events": acquisition.event_count,
        "trigger_channel": header.get("trigger_channel") or None,
        "trigger_threshold": header.get("trigger_threshold"),
    }
    results = list(acquisition.results.all())
    if results:
        latest = results[0]
        kinds = {c.kind: c.units for c in latest.calibrations.all()}
        # Axes the FCS file calibrates itself ($PnCALIBRATION, e.g. FCMPASS): "MESF (calibrated in the file)".
        in_file = {units.split(" ")[0] for units in (latest.axes or {}).values() if units.endswith(f"({IN_FILE})")}
        fluorescence = kinds.get("fluorescence") or next((u for u in sorted(in_file) if u in FLUORESCENCE_UNITS), None)
        part |= {
            "fluorescence_units": fluorescence if fluorescence in FLUORESCENCE_UNITS else "a.u.",
            "scatter_units": "nm" if "scatter" in kinds or "nm" in in_file else "a.u.",
            "gates": [gate["name"] for gate in latest.gates],
            "analysed_volume_ul": latest.volume_ul,
            "dilution_factor": latest.dilution_factor,
            "concentration_per_ml": latest.concentration_per_ml,
        }
    if acquisition.data_accession:
        part["data_sharing"] = {
            "repository": acquisition.data_repository,
            "accession": acquisition.data_accession,
            "url": acquisition.data_url or None,
        }
    summary = control_summary(acquisition)
    measured = {row["acquisition"].role for row in summary.get("rows", [])}
    if measured:
        part["controls"] = {role: True for role in sorted(measured) if role not in {"sample", "beads"}}
    if summary.get("lysis_drop") is not None:
        part["lysis_drop_percent"] = summary["lysis_drop"]
    if summary.get("linearity"):
        part["dilution_slope"] = summary["linearity"]["slope"]
    return {key: value for key, value in part.items() if value not in (None, [], {})}


def flow_parts(preparation_ids) -> dict[int, dict]:
    """{preparation id: flow part} for the preparations with an EV sample FCS file; the gated file first."""
    parts: dict[int, dict] = {}
    by_preparation: dict[int, list] = {}
    for acquisition in _acquisitions(preparation_ids):
        by_preparation.setdefault(acquisition.preparation_id, []).append(acquisition)
    for preparation_id, acquisitions in by_preparation.items():
        gated = [a for a in acquisitions if list(a.results.all())]
        parts[preparation_id] = _part((gated or acquisitions)[0])
    return parts
