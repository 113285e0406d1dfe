"""Nothing sent is silently dropped: every write endpoint refuses a field it does not declare, at the top of
the body and inside its nested objects, with a 400 naming it, and writes nothing."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator

from evlims.api.samples import SampleCreateInputSerializer
from evlims.cytometry.models import FlowAcquisition
from evlims.cytometry.services import acquisition_upload
from evlims.instruments.models import PlateLayout
from evlims.instruments.services import plate_layout_create
from evlims.interlab.models import ComparisonScheme
from evlims.isolation import services as isolation_services
from evlims.isolation.models import IsolationRun, ProtocolVersion
from evlims.labels.services import label_template_save
from evlims.metrics.models import ControlMaterial
from evlims.metrics.services.controls import control_material_create
from evlims.standards import services as standards
from evlims.standards.models import Spike
from tests.api.evidence import LAB_PROTOCOL, NTA_FILE, STEP_1, STEP_2, marker, particle
from tests.cytometry.ev_files import GATES, ev_file
from tests.interlab import api_setup as rounds
from tests.labels.printer import FakePrinter
from tests.plate_layout_world import small_wells
from tests.run_states import in_state

pytestmark = pytest.mark.django_db
API = "/api/v1"
UNKNOWN = "colour"


@dataclass(frozen=True)
class Write:
    """A write endpoint with a valid body for it (given the world and its evidence)."""

    method: str
    name: str  # the path as the schema spells it
    body: Callable  # (world, evidence) -> body
    ids: Callable = None  # (world, evidence) -> the ids of the path, e.g. {"id": 3}
    client: str = "staff_api"
    nested: tuple = ()  # where in the body a nested object sits, e.g. ("inputs", 0)
    setup: Callable = None  # (users, world, evidence) -> None: puts the object in the state the write needs
    multipart: bool = False

    def request(self, client, world, ev, body):
        path = self.name.format(**(self.ids(world, ev) if self.ids else {}))
        if self.multipart:
            return client.post(path, body, format="multipart")
        return getattr(client, self.method)(path, body, format="json")

    def __str__(self):
        return f"{self.method.upper()} {self.name}"


def _aliquot(action, body):
    return Write("post", f"{API}/aliquots/{{id}}/{action}/", body, lambda w, ev: {"id": w.aliquots[0].pk})


def _run(action, body, **kwargs):
    return Write("post", f"{API}/runs/{{id}}/{action}/", body, lambda w, ev: {"id": ev.run.pk}, **kwargs)


def _planned(users, world, ev):
    """The evidence's run is completed (results are recorded for it): the run writes start from a planned one."""
    in_state(ev.run, IsolationRun.Status.PLANNED)


def _started(users, world, ev):
    _planned(users, world, ev)
    isolation_services.run_start(actor=users["staff"], run=ev.run)


def _steps_recorded(users, world, ev):
    _started(users, world, ev)
    for number, observed in ((1, STEP_1), (2, STEP_2)):
        isolation_services.run_record_step(actor=users["staff"], run=ev.run, number=number, observed=observed)


def _draft(users, world, ev):
    source = LAB_PROTOCOL.replace("version: 1.0.0", "version: 1.1.0")
    isolation_services.protocol_version_save_draft(actor=users["staff"], lab=world.project.lab, source_text=source)


def _upload(world, ev):
    return {"file": SimpleUploadedFile(NTA_FILE.name, NTA_FILE.read_bytes(), "text/csv")}


def _fcs_upload(world, ev):
    return {"file": SimpleUploadedFile("ev.fcs", ev_file(), "application/octet-stream"), "role": "sample"}


def _gates_file(world, ev):
    data = (Path(__file__).resolve().parents[1] / "fixtures" / "gates" / "ev_gates.gatingml.xml").read_bytes()
    return {"gates_file": SimpleUploadedFile("gates.xml", data, "application/xml")}


def _acquisition(users, world, ev):
    acquisition_upload(actor=users["staff"], lab=world.project.lab, data=ev_file(), name="gated.fcs")


def _acquisition_id(world, ev):
    return {"id": FlowAcquisition.objects.filter(lab=world.project.lab).latest("id").pk}


def _control_material(users, world, ev):
    control_material_create(actor=users["admin"], lab=world.project.lab, name="Reference plasma", sample_barcodes=[])


def _spiked(users, world, ev):
    lot = standards.reference_lot_create(
        actor=users["staff"],
        lab=world.project.lab,
        material="rEV",
        lot_number="SPIKED",
        readout="fluorescent_nta",
        assigned_value=1e10,
        assigned_uncertainty=1e9,
        unit="particles/mL",
    )
    standards.spike_record(actor=users["staff"], lot=lot, run=ev.run, amount=10, amount_unit="µL")


def _spike():
    return Spike.objects.get(lot__lot_number="SPIKED")


def _spiked_and_read(users, world, ev):
    _spiked(users, world, ev)
    standards.tracer_readout_record(
        actor=users["staff"], spike=_spike(), preparation=ev.preparation, value=3e8, unit="particles/mL"
    )


def _readout_id(world, ev):
    return {"id": _spike().readouts.get().pk}


def _spike_id(world, ev):
    return {"id": _spike().pk}


def _control_material_id(world, ev):
    return {"id": ControlMaterial.objects.get(lab=world.project.lab, name="Reference plasma").pk}


def _scheme_id(world):
    return ComparisonScheme.objects.get(lab=world.project.lab, code="API-EQA").pk


def _plate_layout(users, world, ev):
    plate_layout_create(actor=users["staff"], lab=world.project.lab, name="BCA duplicates", wells=small_wells())


def _layout_id(world, ev):
    return {"id": PlateLayout.objects.get().pk}


def _printer(users, world, ev):
    printer = FakePrinter()  # a real listener on localhost, kept open for the test
    label_template_save(
        actor=users["admin"], lab=world.project.lab, changes={"printer_host": "127.0.0.1", "printer_port": printer.port}
    )


def _lab(body):
    return lambda w, ev: {"lab": w.project.lab_id} | body


def _edit(record, body):
    return lambda w, ev: body | {"reason": "Correction", "version": getattr(w, record).version}


WRITES = [
    Write(
        "patch",
        f"{API}/labs/{{id}}/label-template/",
        lambda w, ev: {"dpi": 300, "reason": "New printer"},
        lambda w, ev: {"id": w.project.lab_id},
        client="admin_api",
    ),
    Write("post", f"{API}/labels/zpl/", lambda w, ev: {"aliquots": [w.aliquots[0].pk]}),
    Write("post", f"{API}/labels/print/", lambda w, ev: {"aliquots": [w.aliquots[0].pk]}, setup=_printer),
    Write("post", f"{API}/notifications/mark-read/", lambda w, ev: {"all": True}),
    Write(
        "patch",
        f"{API}/notifications/preferences/",
        lambda w, ev: {"review_submitted": {"email": False}},
        nested=("review_submitted",),
    ),
    Write("post", f"{API}/donors/", _lab({"code": "D-9"})),
    Write("patch", f"{API}/donors/{{id}}/", _edit("donor", {"diagnosis": "Changed"}), lambda w, ev: {"id": w.donor.pk}),
    Write("post", f"{API}/samples/", lambda w, ev: {"project": w.project.pk, "biofluid": "serum", "volume_ml": "1.5"}),
    Write(
        "patch", f"{API}/samples/{{id}}/", _edit("sample", {"remarks": "Changed"}), lambda w, ev: {"id": w.sample.pk}
    ),
    Write(
        "post",
        f"{API}/samples/{{id}}/aliquots/",
        lambda w, ev: {"volumes_ul": ["100.0"]},
        lambda w, ev: {"id": w.sample.pk},
    ),
    _aliquot("split", lambda w, ev: {"volumes_ul": ["50.0"]}),
    _aliquot("move", lambda w, ev: {"box": w.box.pk, "row": 9, "column": 9}),
    _aliquot("thaw", lambda w, ev: {}),
    _aliquot("consume", lambda w, ev: {"volume_ul": "10.0"}),
    _aliquot("ship", lambda w, ev: {"destination": "Core facility", "reason": "Collaboration"}),
    _aliquot("dispose", lambda w, ev: {"reason": "Cracked tube"}),
    Write("post", f"{API}/storage-units/", _lab({"kind": "site", "name": "New site"})),
    Write("post", f"{API}/instruments/", _lab({"name": "ZetaView 2", "kind": "nta"}), client="admin_api"),
    Write(
        "post",
        f"{API}/instruments/{{id}}/keys/",
        lambda w, ev: {"scopes": ["read"]},
        lambda w, ev: {"id": ev.instrument.pk},
        client="admin_api",
    ),
    Write(
        "post",
        f"{API}/instruments/{{id}}/watch-folder/",
        lambda w, ev: {"folder": "", "format": "gen5"},
        lambda w, ev: {"id": ev.instrument.pk},
        client="admin_api",
    ),
    Write(
        "post",
        f"{API}/instruments/{{id}}/keys/{{key_pk}}/revoke/",
        lambda w, ev: {"reason": "Rotated"},
        lambda w, ev: {"id": ev.instrument.pk, "key_pk": ev.instrument.api_keys.first().pk},
        client="admin_api",
    ),
    Write(
        "post",
        f"{API}/results/",
        lambda w, ev: {"results": [marker(ev.spare_preparation.barcode, lysate={"buffer": "RIPA"})]},
        nested=("results", 0, "marker", "lysate"),
    ),
    Write("post", f"{API}/files/", _upload, multipart=True),
    Write("post", f"{API}/flow/acquisitions/", _fcs_upload, multipart=True),
    Write(
        "post",
        f"{API}/flow/acquisitions/{{id}}/results/",
        lambda w, ev: {"gates": GATES, "particle_gate": "EVs"},
        _acquisition_id,
        setup=_acquisition,
        nested=("gates", 0),
    ),
    Write(
        "post",
        f"{API}/flow/acquisitions/{{id}}/imported-gates/",
        _gates_file,
        _acquisition_id,
        setup=_acquisition,
        multipart=True,
    ),
    Write(
        "post",
        f"{API}/flow/acquisitions/{{id}}/data-sharing/",
        lambda w, ev: {"data_repository": "FlowRepository", "data_accession": "FR-FCM-Z2ZY"},
        _acquisition_id,
        setup=_acquisition,
    ),
    Write(
        "post",
        f"{API}/flow/calibrations/",
        _lab(
            {
                "name": "FL1 MESF",
                "kind": "fluorescence",
                "channel": "FL1-H",
                "units": "MESF",
                "beads": "Spherotech RCP-30-5A",
                "calibrated_on": "2026-12-01",
                "measured": [20, 50, 500, 5000],
                "assigned": [0, 500, 5000, 50000],
                "optics": {"wavelength_nm": 488},
            }
        ),
        nested=("optics",),
    ),
    Write("post", f"{API}/plate-layouts/", _lab({"name": "BCA triplicates", "wells": small_wells()})),
    Write(
        "post",
        f"{API}/reference-lots/",
        _lab(
            {
                "material": "rEV",
                "lot_number": "NEW-LOT",
                "readout": "gfp_elisa",
                "assigned_value": 5.0,
                "assigned_uncertainty": 0.4,
                "unit": "ng/mL",
            }
        ),
    ),
    Write(
        "post",
        f"{API}/spikes/",
        lambda w, ev: {"lot": _spike().lot_id, "run": ev.run.pk, "amount": 5, "amount_unit": "µL"},
        setup=_spiked,
    ),
    Write(
        "post",
        f"{API}/tracer-readouts/",
        lambda w, ev: {"spike": _spike().pk, "preparation": ev.preparation.pk, "value": 3e8, "unit": "particles/mL"},
        setup=_spiked,
    ),
    Write(
        "post",
        f"{API}/spikes/{{id}}/correct/",
        lambda w, ev: {"amount": 20, "reason": "20 µL, not 10"},
        _spike_id,
        setup=_spiked,
    ),
    Write("post", f"{API}/spikes/{{id}}/void/", lambda w, ev: {"reason": "Wrong run"}, _spike_id, setup=_spiked),
    Write(
        "post",
        f"{API}/tracer-readouts/{{id}}/correct/",
        lambda w, ev: {"value": 4e8, "reason": "Recounted"},
        _readout_id,
        setup=_spiked_and_read,
    ),
    Write(
        "post",
        f"{API}/tracer-readouts/{{id}}/void/",
        lambda w, ev: {"reason": "Tube swapped"},
        _readout_id,
        setup=_spiked_and_read,
    ),
    Write(
        "post",
        f"{API}/dilution-series/",
        lambda w, ev: {
            "preparation": ev.preparation.pk,
            "technique": "nta",
            "points": [{"dilution_factor": 10, "readings": [1e8]}, {"dilution_factor": 20, "readings": [5e7]}],
        },
    ),
    Write(
        "post",
        f"{API}/blots/",
        lambda w, ev: {
            "blot": {
                "method": "western_blot",
                "lysate": {"buffer": "RIPA", "protein_loaded_ug": 10},
                "markers": [{"protein": "CD63", "antibody": {"clone": "H5C6"}}],
                "lanes": [{"preparation": ev.spare_preparation.barcode, "bands": [{"detected": True}]}],
            }
        },
        nested=("blot", "lysate"),
    ),
    Write(
        "post",
        f"{API}/comparison-schemes/",
        _lab({"code": "NEW-EQA", "name": "Plasma EV count", "quantity": "particles_per_ml"}),
    ),
    Write(
        "post",
        f"{API}/comparison-rounds/",
        lambda w, ev: {"scheme": _scheme_id(w), "code": "R9", "material": "pool", "sigma_pt": 2.0},
        setup=rounds.scheme,
    ),
    Write(
        "post",
        f"{API}/comparison-rounds/{{id}}/participants/",
        lambda w, ev: {"lab": w.project.lab.slug},
        rounds.round_id,
        setup=rounds.open_round,
    ),
    Write(
        "post",
        f"{API}/comparison-rounds/{{id}}/items/",
        lambda w, ev: {"participant": rounds.participant_code(w)},
        rounds.round_id,
        setup=rounds.round_with_item,
    ),
    Write(
        "post",
        f"{API}/comparison-rounds/{{id}}/checks/",
        lambda w, ev: {"stability_before": [1.0, 1.1], "stability_after": [1.05]},
        rounds.round_id,
        setup=rounds.open_round,
    ),
    Write(
        "post",
        f"{API}/comparison-rounds/{{id}}/ship/",
        lambda w, ev: {"reason": "courier"},
        rounds.round_id,
        setup=rounds.round_with_item,
    ),
    Write(
        "post",
        f"{API}/comparison-rounds/{{id}}/close/",
        lambda w, ev: {"reason": "all in"},
        rounds.round_id,
        setup=rounds.reported_round,
    ),
    Write(
        "post",
        f"{API}/comparison-items/{{id}}/result/",
        lambda w, ev: {"value": 10.1, "standard_uncertainty": 0.2},
        rounds.item_id,
        setup=rounds.shipped_round,
    ),
    Write(
        "patch",
        f"{API}/control-materials/{{id}}/",
        lambda w, ev: {"baseline_points": 12, "reason": "Second lot"},
        _control_material_id,
        client="admin_api",
        setup=_control_material,
    ),
    Write(
        "patch",
        f"{API}/plate-layouts/{{id}}/",
        lambda w, ev: {"fit": "quadratic", "reason": "Curved above 1000 µg/mL", "version": 1},
        _layout_id,
        setup=_plate_layout,
    ),
    Write(
        "post",
        f"{API}/plate-layouts/{{id}}/retire/",
        lambda w, ev: {"reason": "New kit lot"},
        _layout_id,
        setup=_plate_layout,
    ),
    Write(
        "post",
        f"{API}/measurements/{{id}}/correct/",
        lambda w, ev: particle(ev.preparation.barcode) | {"reason": "Dilution typed wrong"},
        lambda w, ev: {"id": ev.measurement.pk},
        client="admin_api",
    ),
    Write(
        "post",
        f"{API}/measurements/{{id}}/void/",
        lambda w, ev: {"reason": "Wrong tube loaded"},
        lambda w, ev: {"id": ev.measurement.pk},
        client="admin_api",
    ),
    Write(
        "post",
        f"{API}/ingestions/{{id}}/commit/",
        lambda w, ev: {"mapping": {"d200": ev.preparation.barcode}, "dilutions": {"d200": 200}},
        lambda w, ev: {"id": ev.file_ingestion.pk},
    ),
    Write("post", f"{API}/protocol-versions/", _lab({"source_text": LAB_PROTOCOL.replace("1.0.0", "2.0.0")})),
    Write(
        "post",
        f"{API}/protocol-versions/{{id}}/approve/",
        lambda w, ev: {"reason": "Checked"},
        lambda w, ev: {"id": ProtocolVersion.objects.get(status=ProtocolVersion.Status.DRAFT).pk},
        client="qa_api",
        setup=_draft,
    ),
    Write(
        "post",
        f"{API}/protocol-versions/{{id}}/retire/",
        lambda w, ev: {"reason": "Superseded"},
        lambda w, ev: {"id": ev.version.pk},
        client="qa_api",
    ),
    Write(
        "post",
        f"{API}/runs/",
        lambda w, ev: {
            "project": w.project.pk,
            "protocol_version": ev.version.pk,
            "inputs": [{"aliquot": w.aliquots[0].barcode, "volume_ul": "10.0"}],
        },
        nested=("inputs", 0),
    ),
    _run("start", lambda w, ev: {}, setup=_planned),
    _run("steps", lambda w, ev: {"number": 1, "observed": STEP_1}, setup=_started),
    _run(
        "complete",
        lambda w, ev: {"outputs": [{"preparation": ev.preparation.pk, "buffer": "PBS"}]},
        nested=("outputs", 0),
        setup=_steps_recorded,
    ),
    _run("abort", lambda w, ev: {"reason": "Spill"}, setup=_planned),
    Write(
        "patch",
        f"{API}/runs/{{id}}/",
        lambda w, ev: {"equipment": "Column lot 7", "reason": "Correction", "version": ev.run.version},
        lambda w, ev: {"id": ev.run.pk},
    ),
    Write(
        "patch",
        f"{API}/preparations/{{id}}/",
        lambda w, ev: {
            "buffer": "PBS",
            "functional_studies": [{"assay": "Tube formation"}],
            "reason": "Correction",
            "version": ev.preparation.version,
        },
        lambda w, ev: {"id": ev.preparation.pk},
        nested=("functional_studies", 0),
    ),
    Write(
        "post",
        f"{API}/reviews/",
        lambda w, ev: {"preparation": ev.spare_preparation.pk, "justification": "Pilot preparation"},
    ),
]


@pytest.fixture
def users(staff, qa_manager, admin):
    return {"staff": staff, "qa": qa_manager, "admin": admin}


def _rows():
    return {model.__name__: model.objects.count() for model in apps.get_app_config("evlims").get_models()}


def _prepare(request, write, users):
    world, ev = request.getfixturevalue("ours"), request.getfixturevalue("evidence")
    if write.setup:
        write.setup(users, world, ev)
    return request.getfixturevalue(write.client), world, ev


def _with_unknown(body, nested=(), value="blue"):
    """``body`` with an unknown key added to the object at ``nested`` (a copy, nested objects copied too)."""
    if not nested:
        return {**body, UNKNOWN: value}
    head, *rest = nested
    copy = list(body) if isinstance(body, list) else dict(body)
    copy[head] = _with_unknown(body[head], tuple(rest), value)
    return copy


def test_every_write_endpoint_is_listed_here():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    writes = {
        (path, method)
        for path, item in schema["paths"].items()
        for method in item
        if path.startswith("/api/v1/") and method in {"post", "put", "patch", "delete"}
    }
    assert writes == {(write.name, write.method) for write in WRITES}


@pytest.mark.parametrize("write", WRITES, ids=str)
def test_the_valid_body_is_accepted(request, users, write):
    client, world, ev = _prepare(request, write, users)
    response = write.request(client, world, ev, write.body(world, ev))
    assert response.status_code in (200, 201), response.json()


@pytest.mark.parametrize("write", WRITES, ids=str)
def test_an_unknown_field_is_refused_by_name_and_nothing_is_written(request, users, write):
    client, world, ev = _prepare(request, write, users)
    before = _rows()
    response = write.request(client, world, ev, _with_unknown(write.body(world, ev)))
    assert response.status_code == 400, response.content
    assert list(response.json()) == [UNKNOWN]
    assert response.json()[UNKNOWN][0].startswith("Unknown field. Accepted here: ")
    assert _rows() == before


NESTED = [write for write in WRITES if write.nested]


def _error_at(body, nested):
    """The error of the unknown key at ``nested`` as DRF nests them (results are named by their path)."""
    if nested[0] == "results":
        return body[f"results[{nested[1]}].{'.'.join(nested[2:])}.{UNKNOWN}"]
    dotted = ".".join(str(key) for key in (*nested, UNKNOWN))
    if dotted in body:  # a blot names its fields by their path, as a results post does
        return body[dotted]
    for key in nested:
        body = body[key]
    return body[UNKNOWN]


@pytest.mark.parametrize("write", NESTED, ids=str)
def test_an_unknown_field_in_a_nested_object_is_refused_by_its_path(request, users, write):
    client, world, ev = _prepare(request, write, users)
    before = _rows()
    response = write.request(client, world, ev, _with_unknown(write.body(world, ev), write.nested))
    assert response.status_code == 400, response.content
    assert _error_at(response.json(), write.nested)[0].startswith("Unknown field. Accepted here: ")
    assert _rows() == before


def test_unknown_fields_are_named_together_with_the_other_errors(staff_api, ours):
    response = staff_api.post(
        f"{API}/samples/",
        {"project": ours.project.pk, "biofluid": "serum", "volume_ml": "0", "tube_colour": "red", "shelf": 2},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"volume_ml", "tube_colour", "shelf"}


def test_the_message_lists_what_is_accepted(staff_api, ours):
    response = staff_api.post(
        f"{API}/aliquots/{ours.aliquots[0].pk}/dispose/", {"reason": "x", "why": "y"}, format="json"
    )
    assert response.json() == {"why": ["Unknown field. Accepted here: reason."]}


# ---------------------------------------------------------------- the cases first reported


@pytest.mark.parametrize(("field", "value"), [("storage_duration_days", 30), ("discard_tube", True)])
def test_a_sample_field_sent_is_stored_or_refused_never_dropped(staff_api, ours, field, value):
    before = _rows()
    body = {"project": ours.project.pk, "biofluid": "serum", "volume_ml": "1.5", field: value}
    response = staff_api.post(f"{API}/samples/", body, format="json")
    if field in SampleCreateInputSerializer().fields:
        assert response.status_code == 201 and str(response.json()[field]) in {str(value), f"{value}.0"}
    else:
        assert response.status_code == 400 and list(response.json()) == [field]
        assert _rows() == before


def test_consume_with_discard_tube_is_refused(staff_api, ours):
    aliquot = ours.aliquots[0]
    response = staff_api.post(
        f"{API}/aliquots/{aliquot.pk}/consume/", {"volume_ul": "10.0", "discard_tube": True}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["discard_tube"]
    aliquot.refresh_from_db()
    assert aliquot.volume_ul == 500


def test_an_unknown_lysate_key_names_its_path(write_key_api, evidence):
    document = marker(evidence.preparation.barcode, lysate={"buffer": "RIPA", "colour": "brown"})
    before = _rows()
    response = write_key_api.post(f"{API}/results/", {"results": [document]}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["results[0].marker.lysate.colour"]
    assert _rows() == before


def test_unknown_keys_of_several_results_are_all_named(write_key_api, evidence):
    barcode = evidence.preparation.barcode
    documents = [
        marker(barcode),
        marker(barcode, antibody={"clone": "H5C6", "host": "mouse"}),
        {**marker(barcode), "operator": "AB"},
    ]
    response = write_key_api.post(f"{API}/results/", {"results": documents}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"results[1].marker.antibody.host", "results[2].operator"}


def test_file_upload_refuses_an_unknown_form_field(staff_api, evidence):
    before = _rows()
    body = {"file": SimpleUploadedFile(NTA_FILE.name, NTA_FILE.read_bytes(), "text/csv"), "sample_map": "{}"}
    response = staff_api.post(f"{API}/files/", body, format="multipart")
    assert response.status_code == 400
    assert list(response.json()) == ["sample_map"]
    assert _rows() == before
