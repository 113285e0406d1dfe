"""Plate layout pages: the editor as a plain form (a table of wells with selects) saves a layout, refusals are put
on the well; a saved layout chosen at upload reads the plate as the same JSON plate map does; the preview and the
protein result's page draw the standard curve with the stored figures."""

import base64
import re

import pytest
from django.urls import reverse

from evlims.characterization.models import Measurement
from evlims.core.models import AuditEvent, Role
from evlims.instruments import services
from evlims.instruments.models import PlateLayout
from evlims.instruments.parsers import parse_bytes
from tests.factories import member
from tests.fixtures.instruments import SOFTMAX_BCA, instrument_bytes, instrument_path
from tests.plate_layout_world import PLATE_MAP, fixture_plate_map, fixture_wells, small_wells
from tests.web.test_results import make_preparation, upload

pytestmark = pytest.mark.django_db


def _well_fields(wells: dict) -> dict:
    fields = {}
    for well, spec in wells.items():
        fields[f"role_{well}"] = spec["role"]
        if spec["role"] == "standard":
            fields[f"value_{well}"] = str(spec["ug_per_ml"])
        elif spec["role"] == "sample":
            fields[f"value_{well}"] = spec["name"]
    return fields


def _new_layout(client, wells, **fields):
    page = client.get(reverse("evlims:plate-layout-new"))
    assert page.status_code == 200
    payload = {
        "lab": page.context["form"]["lab"].initial,
        "name": "BCA duplicates",
        "fit": "linear",
        "plate_format": 96,
    }
    return client.post(reverse("evlims:plate-layout-new"), payload | _well_fields(wells) | fields)


def test_the_plain_form_saves_a_layout(member_client, staff):
    page = member_client.get(reverse("evlims:plate-layout-new"))
    html = page.content.decode()
    assert html.count('name="role_') == 96 and 'name="value_H12"' in html
    assert '<label class="visually-hidden" for="id_role_A1">Well A1</label>' in html
    assert "plate-editor.js" in html and "<script>" not in html
    response = _new_layout(member_client, small_wells())
    layout = PlateLayout.objects.get()
    assert response.status_code == 302 and response.url == reverse("evlims:plate-layout-detail", args=[layout.pk])
    assert layout.wells == {
        "A1": {"role": "standard", "ug_per_ml": 1000.0},
        "A3": {"role": "sample", "name": "EV 1"},
        "A4": {"role": "sample", "name": "EV 1"},
        "B1": {"role": "standard", "ug_per_ml": 500.0},
        "C1": {"role": "standard", "ug_per_ml": 250.0},
        "G1": {"role": "blank"},
        "H1": {"role": "blank"},
    }
    assert layout.created_by == staff
    assert AuditEvent.objects.filter(action="plate_layout.create", object_id=str(layout.pk)).exists()
    detail = member_client.get(response.url)
    assert detail.context["form"]["value_A3"].value() == "EV 1"
    assert detail.context["form"]["role_G1"].value() == "blank"


def test_a_384_well_layout_has_384_wells(member_client):
    html = member_client.get(reverse("evlims:plate-layout-new") + "?plate=384").content.decode()
    assert html.count('name="role_') == 384 and 'name="value_P24"' in html


def test_refusals_are_put_on_the_well_in_the_labs_words(member_client):
    wells = small_wells() | {"A3": {"role": "sample", "name": ""}}
    wells.pop("G1"), wells.pop("H1")
    response = _new_layout(member_client, wells)
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["value_A3"] == ["Well A3: a sample needs a label (its preparation barcode or a name)."]
    assert "Mark the blank wells (reagent without protein), or give a 0 µg/mL standard." in str(form.non_field_errors())
    html = response.content.decode()
    assert 'id="well-errors"' in html and "well-invalid" in html
    assert form["role_A3"].value() == "sample" and form["value_A1"].value() == "1000"
    assert not PlateLayout.objects.exists()


def test_editing_needs_a_reason_and_refuses_a_stale_version(member_client, staff, lab):
    layout = services.plate_layout_create(actor=staff, lab=lab, name="BCA", wells=small_wells())
    url = reverse("evlims:plate-layout-detail", args=[layout.pk])
    base = {"lab": lab.pk, "name": "BCA", "fit": "quadratic", "plate_format": 96, "version": 1}
    refused = member_client.post(url, base | _well_fields(small_wells()))
    assert refused.status_code == 400 and "reason" in refused.context["form"].errors
    saved = member_client.post(url, base | _well_fields(small_wells()) | {"reason": "Curved above 1000"})
    assert saved.status_code == 302
    layout.refresh_from_db()
    assert (layout.version, layout.fit) == (2, "quadratic")
    stale = member_client.post(url, base | _well_fields(small_wells()) | {"reason": "again", "fit": "linear"})
    assert stale.status_code == 400
    assert "changed by someone else" in str(stale.context["form"].non_field_errors())
    layout.refresh_from_db()
    assert layout.fit == "quadratic"


def test_a_sample_keeps_the_dilution_saved_through_the_api_when_its_label_stays(member_client, staff, lab):
    wells = small_wells() | {f"A{n}": {"role": "sample", "name": "EV 1", "dilution_factor": 2} for n in (3, 4)}
    layout = services.plate_layout_create(actor=staff, lab=lab, name="BCA", wells=wells)
    url = reverse("evlims:plate-layout-detail", args=[layout.pk])
    fields = _well_fields(small_wells()) | {"role_B3": "sample", "value_B3": "EV 2"}
    base = {"lab": lab.pk, "name": "BCA", "fit": "linear", "plate_format": 96, "version": 1, "reason": "EV 2 added"}
    assert member_client.post(url, base | fields).status_code == 302
    layout.refresh_from_db()
    assert layout.wells["A3"] == {"role": "sample", "name": "EV 1", "dilution_factor": 2.0}
    assert layout.wells["B3"] == {"role": "sample", "name": "EV 2"}


def test_list_retire_and_other_labs(member_client, staff, lab, outsider, other_lab, client):
    ours = services.plate_layout_create(actor=staff, lab=lab, name="Ours", wells=small_wells())
    theirs = services.plate_layout_create(actor=outsider, lab=other_lab, name="Theirs", wells=small_wells())
    listing = member_client.get(reverse("evlims:plate-layout-list")).content.decode()
    assert "Ours" in listing and "Theirs" not in listing and "1000, 500, 250" in listing
    assert member_client.get(reverse("evlims:plate-layout-detail", args=[theirs.pk])).status_code == 404
    assert member_client.get(reverse("evlims:plate-layout-retire", args=[theirs.pk])).status_code == 404
    retire = reverse("evlims:plate-layout-retire", args=[ours.pk])
    assert member_client.post(retire, {"reason": ""}).status_code == 400
    assert member_client.post(retire, {"reason": "New kit lot"}).status_code == 302
    row = f'id="layout-{ours.pk}"'
    assert row not in member_client.get(reverse("evlims:plate-layout-list")).content.decode()
    with_retired = member_client.get(reverse("evlims:plate-layout-list") + "?retired=1").content.decode()
    assert row in with_retired and "Retired" in with_retired
    reviewer = member(lab, Role.QA_MANAGER, username="qa")
    client.force_login(reviewer)
    assert client.get(reverse("evlims:plate-layout-new")).status_code == 403


def test_a_layout_chosen_at_upload_reads_the_plate_as_the_json_map(member_client, staff, lab, outsider, other_lab):
    layout = services.plate_layout_create(actor=staff, lab=lab, name="BCA fixture", wells=fixture_wells())
    page = member_client.get(reverse("evlims:result-upload"))
    assert "BCA fixture (96 wells (8 × 12), version 1, Vesicle Lab)" in page.content.decode()
    by_layout = upload(member_client, instrument_path(SOFTMAX_BCA), plate_layout=layout.pk).context["ingestion"]
    by_json = upload(member_client, instrument_path(SOFTMAX_BCA), plate_map=PLATE_MAP.read_text()).context["ingestion"]
    assert by_layout.pk != by_json.pk
    assert by_layout.parsed == by_json.parsed
    assert by_layout.parsed == parse_bytes(instrument_bytes(SOFTMAX_BCA), plate_map=fixture_plate_map()).to_dict()
    theirs = services.plate_layout_create(actor=outsider, lab=other_lab, name="Theirs", wells=fixture_wells())
    refused = upload(member_client, instrument_path(SOFTMAX_BCA), plate_layout=theirs.pk)
    assert "plate_layout" in refused.context["form"].errors
    both = upload(member_client, instrument_path(SOFTMAX_BCA), plate_layout=layout.pk, plate_map='{"wells": {}}')
    assert both.context["form"].errors["plate_layout"] == ["Choose a saved plate layout or type a plate map, not both."]


def test_the_preview_draws_the_stored_standard_curve(member_client, staff, lab):
    layout = services.plate_layout_create(actor=staff, lab=lab, name="BCA fixture", wells=fixture_wells())
    response = upload(member_client, instrument_path(SOFTMAX_BCA), plate_layout=layout.pk)
    curve, parsed = response.context["curve"], response.context["ingestion"].parsed
    stored = parsed["standard_curve"]
    assert curve["model"] == "linear fit" and curve["r_squared"] == stored["r_squared"]
    assert curve["points"] == stored["points"]
    html = response.content.decode()
    assert 'id="standard-curve-figure"' in html and 'src="data:image/svg+xml;base64,' in html
    assert f"R² {stored['r_squared']:.4f}" in html
    drawn = base64.b64decode(curve["uri"].split(",", 1)[1]).decode()
    assert "Protein in the well (µg/mL)" in drawn and "Absorbance at 562 nm, blank-corrected" in drawn
    assert f"R² = {stored['r_squared']:.4f}" in drawn and "buffer only (out of range)" in drawn
    buffer = next(s for s in curve["samples"] if s["name"] == "buffer only")
    assert buffer["out_of_range"] and buffer["position"] == "below"
    assert "buffer only: blank-corrected absorbance -0.0503, out of range (below the standards)" in curve["summary"]
    assert re.search(r"<strong>out of range</strong> \(below the standards\)", html)


def test_the_protein_result_page_draws_the_curve_it_stored(member_client, staff, lab, project):
    preparation = make_preparation(staff, project, "EVP-BCA1", final_volume_ul=100)
    layout = services.plate_layout_create(actor=staff, lab=lab, name="BCA fixture", wells=fixture_wells())
    ingestion = upload(member_client, instrument_path(SOFTMAX_BCA), plate_layout=layout.pk).context["ingestion"]
    form = member_client.get(reverse("evlims:ingestion-detail", args=[ingestion.pk])).context["form"]
    field = form.field_of("EV isolate 2")
    committed = member_client.post(
        reverse("evlims:ingestion-detail", args=[ingestion.pk]), {field: preparation.barcode}
    )
    assert committed.status_code == 302
    measurement = Measurement.objects.get(kind="protein")
    page = member_client.get(reverse("evlims:result-detail", args=[measurement.pk]))
    curve = page.context["curve"]
    assert curve["points"] == measurement.protein.standard_curve["points"]
    assert curve["r_squared"] == measurement.protein.standard_curve["r_squared"]
    placed = next(s for s in curve["samples"] if s["name"] == "EV isolate 2")
    assert placed["protein_ug_per_ml"] == measurement.protein.concentration_ug_per_ml
    assert placed["in_well"] == pytest.approx(measurement.protein.concentration_ug_per_ml / 2)
    assert 'id="result-standard-curve"' in page.content.decode()
