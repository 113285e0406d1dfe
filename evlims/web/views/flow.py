"""Flow cytometry pages: the lab's FCS files with the upload form, one file's page (header, warnings, density plot
with gates, the gate form and the counts), and bead calibrations. Writes go through ``cytometry.services``."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from ...core.tenancy import INGEST_ROLES, WRITER_ROLES, labs_where, role_in
from ...cytometry import gate_services, services
from ...cytometry.analysis import density_for
from ...cytometry.controls import control_summary
from ...cytometry.fcs import FcsError, FcsHeader
from ...cytometry.models import FlowAcquisition
from ...cytometry.selectors import acquisition_page, acquisitions_for, calibrations_for
from ..flow_plot import calibration_svg, density_svg
from ..forms.flow import GATE_FIELDS, CalibrationForm, DataSharingForm, FlowUploadForm, GateForm, GateImportForm
from .common import add_service_errors, ensure_writer, member_view, scoped

LIST_LIMIT = 200


@member_view
def flow_list(request):
    can_upload = bool(labs_where(request.user, INGEST_ROLES))
    initial = {"preparation": request.GET.get("preparation") or None}
    form = FlowUploadForm(request.POST or None, request.FILES or None, user=request.user, initial=initial)
    if request.method == "POST":
        ensure_writer(request.user)
        if form.is_valid():
            acquisition = _upload(request, form)
            if acquisition is not None:
                messages.success(request, f"{acquisition.file_name} kept and its header read.")
                return redirect("evlims:flow-detail", pk=acquisition.pk)
    acquisitions = acquisitions_for(request.user).order_by("-created_at", "-id")[:LIST_LIMIT]
    context = {"form": form, "acquisitions": acquisitions, "can_upload": can_upload}
    return render(request, "evlims/flow/list.html", context, status=400 if form.errors else 200)


def _upload(request, form):
    data = form.cleaned_data
    preparation = data.get("preparation")
    labs = labs_where(request.user, INGEST_ROLES)
    lab = preparation.lab if preparation else (data["controls"].lab if data.get("controls") else None)
    if lab is None:
        from ...core.models import Lab

        lab = Lab.objects.filter(pk__in=labs).order_by("name").first()
    upload = data["file"]
    try:
        return services.acquisition_upload(
            actor=request.user,
            lab=lab,
            data=upload.read(),
            name=upload.name,
            preparation=preparation,
            role=data["role"],
            controls=data.get("controls"),
            dilution_factor=data.get("dilution_factor"),
            volume_ul=data.get("volume_ul"),
        )
    except services.AcquisitionRefused as refused:
        form.add_error("file", refused.message_dict["file"][0] + " The file is kept with the failed upload.")
    except ValidationError as error:
        add_service_errors(form, error)
    return None


def _plot(request, acquisition, gates):
    """The density plot: the one computed when the file was read, or the axes and calibrations chosen."""
    x, y = request.GET.get("x"), request.GET.get("y")
    chosen = [int(c) for c in request.GET.getlist("calibration") if c.isdigit()]
    grid = acquisition.density
    names = [p["name"] for p in acquisition.header.get("parameters", [])]
    if acquisition.status == FlowAcquisition.Status.READ and (x in names or y in names or chosen):
        x = x if x in names else grid.get("x", names[0])
        y = y if y in names else grid.get("y", names[-1])
        calibrations = {
            c.channel: {"kind": c.kind, "units": c.units, "fit": c.fit}
            for c in calibrations_for(request.user).filter(pk__in=chosen, lab_id=acquisition.lab_id)
        }
        with acquisition.raw_file.file.open("rb") as handle:
            data = handle.read()
        try:
            grid = density_for(data, FcsHeader.from_dict(acquisition.header), x, y, calibrations)
        except (FcsError, ValueError):
            grid = acquisition.density
    title = f"Density plot of {acquisition.file_name}: {grid.get('x', '')} against {grid.get('y', '')}"
    return density_svg(grid, gates, title=title), grid


@member_view
def flow_detail(request, pk):
    acquisition = scoped(acquisition_page, request.user, pk)
    can_gate = role_in(request.user, acquisition.lab_id) in INGEST_ROLES
    results = list(acquisition.results.all())
    importing = request.method == "POST" and request.POST.get("form") == "import"
    import_form = GateImportForm(request.POST if importing else None, request.FILES if importing else None)
    if importing and can_gate and import_form.is_valid():
        if _import(request, acquisition, import_form):
            messages.success(request, "Imported gates applied; the counts are below.")
            return redirect("evlims:flow-detail", pk=acquisition.pk)
    sharing = request.method == "POST" and request.POST.get("form") == "share"
    share_form = DataSharingForm(request.POST if sharing else None, initial=_shared(acquisition))
    if sharing and can_gate and share_form.is_valid() and _share(request, acquisition, share_form):
        messages.success(request, "Where the file is shared is recorded.")
        return redirect("evlims:flow-detail", pk=acquisition.pk)
    gating = request.method == "POST" and not importing and not sharing
    form = GateForm(request.POST if gating else None, acquisition=acquisition, initial=_initial(results))
    if gating and can_gate and form.is_valid():
        data = form.cleaned_data
        try:
            services.result_record(
                actor=request.user,
                acquisition=acquisition,
                gates=form.gates(),
                particle_gate=data["particle_gate"],
                calibrations=data["calibrations"],
                volume_ul=data.get("volume_ul"),
                dilution_factor=data.get("dilution_factor"),
                reason=data.get("reason") or "",
            )
            messages.success(request, "Gates applied; the counts are below.")
            return redirect("evlims:flow-detail", pk=acquisition.pk)
        except ValidationError as error:
            add_service_errors(form, error)
    shown_gates = results[0].gates if results else []
    svg, grid = _plot(request, acquisition, shown_gates)
    context = {
        "acquisition": acquisition,
        "header": acquisition.header,
        "form": form,
        "import_form": import_form,
        "share_form": share_form,
        "can_gate": can_gate,
        "results": results,
        "latest": results[0] if results else None,
        "svg": svg,
        "grid": grid,
        "calibrations": calibrations_for(request.user).filter(lab_id=acquisition.lab_id),
        "controls": control_summary(acquisition),
    }
    status = 400 if form.errors or import_form.errors or share_form.errors else 200
    return render(request, "evlims/flow/detail.html", context, status=status)


def _shared(acquisition) -> dict:
    fields = ("data_repository", "data_accession", "data_url")
    return {name: getattr(acquisition, name) for name in fields}


def _share(request, acquisition, form) -> bool:
    data = form.cleaned_data
    try:
        gate_services.acquisition_share(
            actor=request.user,
            acquisition=acquisition,
            repository=data.get("data_repository") or "",
            accession=data.get("data_accession") or "",
            url=data.get("data_url") or "",
            reason=data.get("reason") or "",
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return False
    return True


def _import(request, acquisition, form) -> bool:
    data = form.cleaned_data
    upload = data["gates_file"]
    try:
        gate_services.result_import(
            actor=request.user,
            acquisition=acquisition,
            data=upload.read(gate_services.MAX_BYTES + 1),
            name=upload.name,
            particle_gate=data.get("particle_gate") or "",
            volume_ul=data.get("volume_ul"),
            dilution_factor=data.get("dilution_factor"),
            reason=data.get("reason") or "",
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return False
    return True


def _initial(results) -> dict:
    """The gate form starts from the latest result's gates (or empty rows)."""
    if not results:
        return {}
    latest = results[0]
    initial = {"particle_gate": latest.particle_gate}
    for row, gate in enumerate(latest.gates[:6]):
        for name in GATE_FIELDS:
            initial[f"g{row}_{name}"] = gate.get(name)
    return initial


@member_view
def calibration_list(request):
    can_write = bool(labs_where(request.user, WRITER_ROLES))
    form = CalibrationForm(request.POST or None, user=request.user)
    if request.method == "POST":
        ensure_writer(request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                calibration = services.calibration_create(
                    actor=request.user,
                    lab=data["lab"],
                    name=data["name"],
                    kind=data["kind"],
                    channel=data["channel"],
                    units=data["units"],
                    beads=data["beads"],
                    lot=data.get("lot") or "",
                    calibrated_on=data["calibrated_on"],
                    measured=data["measured"],
                    assigned=data["assigned"],
                    optics=form.optics() if data["kind"] == "scatter" else {},
                )
                messages.success(request, f"Calibration {calibration.name} saved.")
                return redirect("evlims:flow-calibrations")
            except ValidationError as error:
                add_service_errors(form, error)
    rows = [(calibration, calibration_svg(calibration)) for calibration in calibrations_for(request.user)]
    context = {"form": form, "calibrations": rows, "can_write": can_write}
    return render(request, "evlims/flow/calibrations.html", context, status=400 if form.errors else 200)
