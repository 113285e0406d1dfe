"""Plate layouts: the list of a user's labs' layouts, the editor (new and existing), and retiring one, through the
plate layout services. The editor is a form of wells with selects; plate-editor.js turns it into a plate to click
and drag across, with quick fills, writing into the same fields."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from ...core.errors import ConflictError
from ...core.tenancy import WRITER_ROLES, labs_where, role_in
from ...instruments import services
from ...instruments.layouts import PLATE_FORMATS, summary
from ...instruments.selectors import plate_layout_get, plate_layouts_for
from ..forms.plate_layouts import PlateLayoutForm, PlateLayoutRetireForm
from .common import ensure_writer, member_view, scoped


@member_view
def layout_list(request):
    retired = request.GET.get("retired") == "1"
    layouts = []
    for layout in plate_layouts_for(request.user, include_retired=retired):
        held = summary(layout.wells)
        standards = ", ".join(f"{level:g}" for level in held["standards_ug_per_ml"])
        layouts.append({"layout": layout, "summary": held, "standards": standards})
    context = {"layouts": layouts, "retired": retired, "can_write": bool(labs_where(request.user, WRITER_ROLES))}
    return render(request, "evlims/plate_layouts/list.html", context)


def _save(request, form, layout):
    data = form.cleaned_data
    values = {
        "name": data["name"],
        "instrument": data["instrument"],
        "plate_format": form.plate_format,
        "fit": data["fit"],
        "wells": form.wells(),
    }
    try:
        if layout is None:
            return services.plate_layout_create(actor=request.user, lab=data["lab"], **values)
        return services.plate_layout_update(
            actor=request.user, layout=layout, expected_version=data["version"], changes=values, reason=data["reason"]
        )
    except ValidationError as error:
        form.put_layout_errors(error.message_dict if hasattr(error, "error_dict") else {"": error.messages})
    except ConflictError as conflict:
        form.add_error(None, conflict.message)
    return None


def _editor(request, form, layout):
    context = {
        "form": form,
        "layout": layout,
        "plate_format": form.plate_format,
        "formats": sorted(PLATE_FORMATS),
        "well_errors": [(name, errors) for name, errors in form.errors.items() if name.startswith("value_")],
    }
    return render(request, "evlims/plate_layouts/editor.html", context, status=400 if form.errors else 200)


@member_view
def layout_new(request):
    ensure_writer(request.user)
    plate_format = 384 if request.GET.get("plate") == "384" else 96
    form = PlateLayoutForm(request.POST or None, user=request.user, plate_format=plate_format)
    if request.method == "POST" and form.is_valid():
        layout = _save(request, form, None)
        if layout is not None:
            messages.success(request, f"Plate layout {layout.name} saved.")
            return redirect("evlims:plate-layout-detail", pk=layout.pk)
    return _editor(request, form, None)


@member_view
def layout_detail(request, pk):
    layout = scoped(plate_layout_get, request.user, pk)
    can_write = role_in(request.user, layout.lab_id) in WRITER_ROLES and layout.retired_at is None
    if request.method == "POST" and not can_write:
        messages.error(request, "This layout cannot be changed: it is retired, or your role does not allow it.")
        return redirect("evlims:plate-layout-detail", pk=layout.pk)
    form = PlateLayoutForm(request.POST or None, user=request.user, plate_format=layout.plate_format, layout=layout)
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, layout)
        if saved is not None:
            messages.success(request, f"Plate layout {saved.name} saved as version {saved.version}.")
            return redirect("evlims:plate-layout-detail", pk=layout.pk)
    if not can_write:
        for field in form.fields.values():
            field.disabled = True
    return _editor(request, form, layout)


@member_view
def layout_retire(request, pk):
    layout = scoped(plate_layout_get, request.user, pk)
    form = PlateLayoutRetireForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.plate_layout_retire(actor=request.user, layout=layout, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            form.add_error("reason", error.messages)
        else:
            messages.success(request, f"Plate layout {layout.name} retired: it is no longer offered at upload.")
            return redirect("evlims:plate-layout-list")
    status = 400 if form.errors else 200
    return render(request, "evlims/plate_layouts/retire.html", {"form": form, "layout": layout}, status=status)
