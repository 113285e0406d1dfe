"""Boxes (list with occupancy, grid view, free-cell picker) and creating storage units."""

from django.contrib import messages
from django.shortcuts import redirect, render

from ...core.ids import parse_id
from ...samples import selectors, services
from ..forms.aliquots import position_label
from ..forms.storage import StorageUnitForm
from . import list_specs
from .common import ensure_writer, member_view, run_service, scoped
from .lists import list_response


def grid_rows(box) -> list[dict]:
    """[{label, cells: [{position, aliquot}]}] of the box, for the grid templates."""
    return [
        {
            "label": position_label(row_number, 1)[0],
            "cells": [
                {"position": position_label(row_number, column_number), "aliquot": aliquot}
                for column_number, aliquot in enumerate(row, start=1)
            ],
        }
        for row_number, row in enumerate(selectors.box_grid(box), start=1)
    ]


@member_view
def box_list(request):
    boxes = selectors.boxes_for(request.user).order_by("path")
    units = selectors.storage_units_for(request.user).exclude(kind="box").order_by("path")
    return list_response(request, list_specs.BOXES, boxes, "evlims/storage/box_list.html", {"units": units})


@member_view
def box_detail(request, pk):
    box = scoped(selectors.box_get, request.user, pk)
    rows = grid_rows(box)
    return render(
        request,
        "evlims/storage/box_detail.html",
        {"box": box, "rows": rows, "columns": range(1, box.columns + 1), "capacity": box.rows * box.columns},
    )


@member_view
def box_picker(request):
    """The grid of a box with its free cells selectable; loaded into the move form when a box is chosen."""
    box_id = parse_id(request.GET.get("box", ""))
    box = scoped(selectors.box_get, request.user, box_id) if box_id is not None else None
    context = {"box": box}
    if box is not None:
        context |= {"rows": grid_rows(box), "columns": range(1, box.columns + 1)}
    return render(request, "evlims/storage/_box_picker.html", context)


@member_view
def storage_create(request):
    ensure_writer(request.user)
    initial = {"kind": request.GET.get("kind", "box"), "parent": request.GET.get("parent")}
    form = StorageUnitForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        unit = run_service(
            form,
            lambda: services.storage_unit_create(
                actor=request.user,
                lab=data["lab"],
                kind=data["kind"],
                name=data["name"],
                parent=data["parent"],
                rows=data["rows"],
                columns=data["columns"],
                temperature_c=data["temperature_c"],
            ),
        )
        if unit is not None:
            messages.success(request, f"{unit.get_kind_display()} {unit.path} created.")
            if unit.kind == "box":
                return redirect("evlims:box-detail", pk=unit.pk)
            return redirect("evlims:box-list")
    return render(request, "evlims/storage/unit_form.html", {"form": form})
