"""Plate layouts through their services: created, changed and retired with an audit event each, a stale version
refused, and every refusal naming the well (in the lab's words); the selectors read in a fixed number of queries."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evlims.core.audit import verify_chain
from evlims.core.errors import ConflictError, NotFound
from evlims.core.models import AuditEvent, Role
from evlims.instruments import services
from evlims.instruments.layouts import LayoutInvalid, check_layout, plate_map
from evlims.instruments.models import PlateLayout
from evlims.instruments.parsers import parse_bytes
from evlims.instruments.selectors import plate_layout_get, plate_layouts_for
from tests.factories import member
from tests.fixtures.instruments import SOFTMAX_BCA, instrument_bytes
from tests.plate_layout_world import fixture_plate_map, fixture_wells, small_wells

pytestmark = pytest.mark.django_db


def _create(staff, lab, name="BCA duplicates", wells=None, **extra):
    return services.plate_layout_create(actor=staff, lab=lab, name=name, wells=wells or small_wells(), **extra)


def test_create_stores_the_wells_row_by_row_and_audits(staff, lab):
    layout = _create(staff, lab, wells={"C1": {"role": "standard", "ug_per_ml": "250"}} | small_wells())
    assert (layout.version, layout.plate_format, layout.fit, layout.created_by) == (1, 96, "linear", staff)
    assert list(layout.wells)[:3] == ["A1", "A3", "A4"]
    assert layout.wells["C1"] == {"role": "standard", "ug_per_ml": 250.0}
    event = AuditEvent.objects.get(action="plate_layout.create")
    assert event.object_id == str(layout.pk) and event.lab_id == lab.pk
    assert event.changes["summary"] == {
        "standards_ug_per_ml": [1000.0, 500.0, 250.0],
        "standard_wells": 3,
        "blank_wells": 2,
        "samples": ["EV 1"],
    }
    assert verify_chain(AuditEvent.objects.order_by("id")) == []


def test_update_needs_a_reason_and_the_current_version(staff, lab):
    layout = _create(staff, lab)
    wells = small_wells() | {"D1": {"role": "standard", "ug_per_ml": 125}}
    with pytest.raises(ValidationError) as refused:
        services.plate_layout_update(
            actor=staff, layout=layout, expected_version=1, changes={"wells": wells}, reason=""
        )
    assert "reason" in refused.value.message_dict
    changed = services.plate_layout_update(
        actor=staff, layout=layout, expected_version=1, changes={"wells": wells, "fit": "quadratic"}, reason="4 levels"
    )
    assert (changed.version, changed.fit, changed.wells["D1"]) == (
        2,
        "quadratic",
        {"role": "standard", "ug_per_ml": 125.0},
    )
    event = AuditEvent.objects.get(action="plate_layout.update")
    assert event.reason == "4 levels"
    assert event.changes["fit"] == {"from": "linear", "to": "quadratic"}
    assert event.changes["version"] == {"from": 1, "to": 2}
    with pytest.raises(ConflictError) as conflict:
        services.plate_layout_update(actor=staff, layout=layout, expected_version=1, changes={"name": "x"}, reason="r")
    assert conflict.value.current_version == 2
    assert PlateLayout.objects.get().name == "BCA duplicates"
    assert AuditEvent.objects.filter(action="plate_layout.update").count() == 1


def test_retire_is_audited_and_frees_the_name(staff, lab):
    layout = _create(staff, lab)
    with pytest.raises(ValidationError):
        services.plate_layout_retire(actor=staff, layout=layout, reason=" ")
    retired = services.plate_layout_retire(actor=staff, layout=layout, reason="New kit lot")
    assert retired.retired_at is not None and retired.retired_by == staff and retired.retired_reason == "New kit lot"
    assert AuditEvent.objects.get(action="plate_layout.retire").reason == "New kit lot"
    services.plate_layout_retire(actor=staff, layout=layout, reason="again")
    assert AuditEvent.objects.filter(action="plate_layout.retire").count() == 1
    with pytest.raises(ValidationError, match="retired"):
        services.plate_layout_update(actor=staff, layout=layout, expected_version=1, changes={"name": "y"}, reason="r")
    assert _create(staff, lab).name == "BCA duplicates"  # the name is free again


def test_names_are_unique_among_a_labs_layouts_in_use(staff, lab, outsider, other_lab):
    _create(staff, lab)
    with pytest.raises(ValidationError) as refused:
        _create(staff, lab)
    assert refused.value.message_dict["name"] == ["Vesicle Lab already has a plate layout named “BCA duplicates”."]
    assert _create(outsider, other_lab).lab == other_lab


def test_only_writers_of_the_lab_may_save_layouts(staff, lab, outsider):
    with pytest.raises(PermissionDenied):
        _create(outsider, lab)
    reviewer = member(lab, Role.QA_MANAGER, username="qa")
    with pytest.raises(PermissionDenied):
        _create(reviewer, lab)
    layout = _create(staff, lab)
    with pytest.raises(PermissionDenied):
        services.plate_layout_retire(actor=reviewer, layout=layout, reason="no")
    assert not AuditEvent.objects.filter(action="plate_layout.retire").exists()


@pytest.mark.parametrize(
    "wells, key, message",
    [
        (small_wells() | {"A3": {"role": "sample", "name": " "}}, "wells.A3", "Well A3: a sample needs a label"),
        (
            small_wells() | {"B1": {"role": "standard"}},
            "wells.B1",
            "Well B1: a standard needs its concentration in µg/mL.",
        ),
        (small_wells() | {"B1": {"role": "standard", "ug_per_ml": "lots"}}, "wells.B1", "must be a number of µg/mL"),
        (small_wells() | {"B1": {"role": "standard", "ug_per_ml": -5}}, "wells.B1", "cannot be below 0 µg/mL"),
        (small_wells() | {"I1": {"role": "blank"}}, "wells.I1", "Well I1 is not on a 96-well plate (rows A–H"),
        (small_wells() | {"A2": {"role": "control"}}, "wells.A2", "the role must be standard, blank, sample or empty"),
        (small_wells() | {"A4": {"role": "sample", "name": "EV 1", "dilution_factor": 0.5}}, "wells.A4", "1 or more"),
        ({k: v for k, v in small_wells().items() if k != "C1"}, "wells", "3 concentrations above 0 µg/mL"),
        ({k: v for k, v in small_wells().items() if k not in ("G1", "H1")}, "wells", "Mark the blank wells"),
        ({k: v for k, v in small_wells().items() if k not in ("A3", "A4")}, "wells", "at least one sample"),
        (
            small_wells() | {"A4": {"role": "sample", "name": "EV 1", "dilution_factor": 2}},
            "wells",
            "replicate wells of sample “EV 1” have different dilution factors",
        ),
    ],
)
def test_a_refused_layout_names_the_well_and_writes_nothing(staff, lab, wells, key, message):
    with pytest.raises(ValidationError) as refused:
        _create(staff, lab, wells=wells)
    assert message in " ".join(refused.value.message_dict[key])
    assert not PlateLayout.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="plate_layout").exists()


def test_a_384_well_plate_reaches_p24_and_a_zero_standard_serves_as_blank():
    wells = {
        "A1": {"role": "standard", "ug_per_ml": 0},
        "B1": {"role": "standard", "ug_per_ml": 100},
        "C1": {"role": "standard", "ug_per_ml": 200},
        "D1": {"role": "standard", "ug_per_ml": 400},
        "P24": {"role": "sample", "name": "EV 9", "dilution_factor": 1},
    }
    assert check_layout(384, wells)["P24"] == {"role": "sample", "name": "EV 9"}
    with pytest.raises(LayoutInvalid) as refused:
        check_layout(96, wells)
    assert refused.value.errors == {"P24": "Well P24 is not on a 96-well plate (rows A–H, columns 1–12)."}
    with pytest.raises(LayoutInvalid):
        check_layout(48, wells)


def test_the_saved_layout_reads_the_plate_as_the_equivalent_json_plate_map(staff, lab):
    layout = _create(staff, lab, wells=fixture_wells())
    data = instrument_bytes(SOFTMAX_BCA)
    from_layout = parse_bytes(data, "auto", plate_map=plate_map(layout.wells, layout.fit)).to_dict()
    from_json = parse_bytes(data, "auto", plate_map=fixture_plate_map()).to_dict()
    assert from_layout == from_json


def test_selectors_scope_to_the_users_labs_in_one_query(staff, lab, outsider, other_lab, django_assert_num_queries):
    for number in range(4):
        _create(staff, lab, name=f"Layout {number}")
    _create(outsider, other_lab, name="Theirs")
    retired = _create(staff, lab, name="Old")
    services.plate_layout_retire(actor=staff, layout=retired, reason="old kit")
    staff.refresh_from_db()
    list(plate_layouts_for(staff))  # memberships are cached on the user for the request
    with django_assert_num_queries(1):
        shown = [(layout.name, layout.lab.name, layout.created_by.username) for layout in plate_layouts_for(staff)]
    assert [name for name, _, _ in shown] == ["Layout 0", "Layout 1", "Layout 2", "Layout 3"]
    with CaptureQueriesContext(connection) as queries:
        names = [layout.name for layout in plate_layouts_for(staff, include_retired=True)]
    assert len(queries) == 1 and "Old" in names
    with django_assert_num_queries(1):
        assert plate_layout_get(staff, retired.pk).retired_by.username == "staff"
    with pytest.raises(NotFound):
        plate_layout_get(staff, PlateLayout.objects.get(name="Theirs").pk)
