"""Imported gates: a Gating-ML 2.0 file and a FlowJo workspace give the same counts as the same gates typed in
evlims, each count naming its gate and the file it came from; hostile or unsupported XML is refused naming what
is wrong. FCMPASS-calibrated files ($PnCALIBRATION) are shown and gated in their own units, with nothing on top."""

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from evlims.cytometry import gate_services, services
from evlims.cytometry.fcs import read_header
from evlims.cytometry.gate_import import GateImportError, read_gates
from tests.cytometry.ev_files import ev_file
from tests.web.test_results import make_preparation

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gates"
GML = (FIXTURES / "ev_gates.gatingml.xml").read_bytes()
WSP = (FIXTURES / "ev_workspace.wsp").read_bytes()
HEAD = (
    b'<gating:Gating-ML xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating" '
    b'xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes">'
)


def gml(body: bytes) -> bytes:
    return HEAD + body + b"</gating:Gating-ML>"


def rectangle(name: bytes, channel: bytes, attrs: bytes = b'gating:min="1"', extra: bytes = b"") -> bytes:
    return (
        b'<gating:RectangleGate gating:id="' + name + b'"' + extra + b"><gating:dimension " + attrs + b">"
        b'<data-type:fcs-dimension data-type:name="' + channel + b'"/></gating:dimension></gating:RectangleGate>'
    )


def parameters():
    return read_header(ev_file()).parameters


def read(data: bytes, fcs_name: str = "ev_sample.fcs"):
    return read_gates(data, parameters=parameters(), fcs_name=fcs_name, source="gates.xml")


def test_gating_ml_gates_are_read_parents_first_with_their_bounds():
    gates, kind = read(GML)
    assert kind == "Gating-ML 2.0 file"
    assert [g["name"] for g in gates] == ["EVs", "CD63+", "CD9+CD63+"]
    assert gates[0] == {
        "name": "EVs",
        "parent": "",
        "source": "gates.xml",
        "x": "SSC-H",
        "x_min": 100.0,
        "x_max": None,
        "marker": "",
    }
    assert gates[1]["parent"] == "EVs" and gates[1]["marker"] == "CD63"
    assert (gates[2]["x"], gates[2]["y"], gates[2]["y_min"], gates[2]["y_max"]) == ("FL1-H", "FL2-H", 1000.0, 262144.0)


def test_a_flowjo_workspace_gives_the_populations_of_the_file_of_that_name():
    gates, kind = read(WSP)
    assert kind == "FlowJo workspace"
    assert [(g["name"], g["parent"]) for g in gates] == [("EVs", ""), ("CD63+", "EVs"), ("CD9+ CD63+", "EVs")]


def test_a_workspace_without_that_file_among_several_names_them():
    with pytest.raises(GateImportError, match="2 samples .*none is called elsewhere.fcs"):
        read(WSP, fcs_name="elsewhere.fcs")


def test_a_channel_the_file_has_not_is_named_with_the_files_channels():
    with pytest.raises(GateImportError, match="“EVs” is on the channel “FSC-A”, which the FCS file does not have"):
        read(gml(rectangle(b"EVs", b"FSC-A")))


def test_a_parameters_stain_label_names_its_channel():
    data = ev_file(extra=[("$P3S", "CD63 PE")])
    gates, _ = read_gates(
        gml(rectangle(b"CD63", b"CD63 PE")), parameters=read_header(data).parameters, fcs_name="x", source="g"
    )
    assert gates[0]["x"] == "FL2-H"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            b"<lolz>&lol2;</lolz>",
            "DTD or entities",
        ),
        (b"<gating:Gating-ML", "not well-formed"),
        (b"<html><body/></html>", "neither a Gating-ML 2.0 file nor a FlowJo workspace"),
        (gml(b""), "holds no gate"),
        (
            gml(b'<gating:PolygonGate gating:id="P1"><gating:dimension/></gating:PolygonGate>'),
            "“P1” is a PolygonGate; only rectangle and threshold gates",
        ),
        (gml(rectangle(b"T", b"SSC-H", b'gating:min="1" gating:transformation-ref="logicle"')), "transformed scale"),
        (gml(rectangle(b"C", b"SSC-H", b'gating:min="1" gating:compensation-ref="FCS"')), "compensation"),
        (gml(rectangle(b"C", b"Comp-FL2-H")), "compensated channel"),
        (gml(rectangle(b"N", b"SSC-H", b'gating:min="ten"')), "“N”: the lower bound “ten” is not a number"),
        (gml(rectangle(b"A", b"SSC-H", extra=b' gating:parent_id="B"')), "inside “B”, which the file does not define"),
        (
            gml(
                rectangle(b"A", b"SSC-H", extra=b' gating:parent_id="B"')
                + rectangle(b"B", b"SSC-H", extra=b' gating:parent_id="A"')
            ),
            "in a circle",
        ),
        (b"<x>" + b" " * 5_000_001 + b"</x>", "the limit is"),
    ],
)
def test_hostile_and_unsupported_files_are_refused_saying_why(data, message):
    with pytest.raises(GateImportError, match=message):
        read(data)


def test_gates_outside_flowjo_populations_are_refused():
    outside = WSP.replace(
        b'eventsInside="1">\n                <gating:dimension gating:min="100"',
        b'eventsInside="0">\n                <gating:dimension gating:min="100"',
        1,
    )
    assert outside != WSP
    with pytest.raises(GateImportError, match="outside"):
        read(outside)


@pytest.mark.django_db
class TestImportedResult:
    @pytest.fixture
    def acquisition(self, staff, lab, project):
        preparation = make_preparation(staff, project, "EVP-GATES")
        return services.acquisition_upload(
            actor=staff, lab=lab, data=ev_file(), name="ev_sample.fcs", preparation=preparation, dilution_factor=100
        )

    @pytest.mark.parametrize("fixture", [GML, WSP], ids=["gating-ml", "flowjo"])
    def test_imported_gates_count_like_typed_ones_and_say_where_they_came_from(self, staff, acquisition, fixture):
        result = gate_services.result_import(actor=staff, acquisition=acquisition, data=fixture, name="gates.file")
        counts = {c["gate"]: c for c in result.counts}
        assert counts["EVs"]["events"] == 16_000 and counts["CD63+"]["events"] == 8_000
        assert counts["CD63+"]["percent_of_parent"] == 50.0
        assert {c["source"] for c in result.counts} == {"gates.file"}
        assert result.particle_gate == "EVs" and result.source.startswith("Imported from ")
        assert result.source.endswith("gates.file")
        assert result.concentration_per_ml == pytest.approx(16_000 / 0.010 * 100)

    def test_an_unknown_channel_is_a_form_error_on_the_file(self, staff, acquisition):
        with pytest.raises(ValidationError) as refused:
            gate_services.result_import(
                actor=staff, acquisition=acquisition, data=gml(rectangle(b"EVs", b"FSC-A")), name="g.xml"
            )
        assert "FSC-A" in refused.value.message_dict["gates_file"][0]


@pytest.mark.django_db
class TestCalibratedInTheFile:
    """FCMPASS writes “f,unit” in $PnCALIBRATION: one channel unit is f of the unit."""

    def data(self):
        return ev_file(extra=[("$P3CALIBRATION", "0.5,MESF"), ("$P1CALIBRATION", "1,nm")])

    def test_the_header_reads_the_factor_and_the_units(self):
        header = read_header(self.data())
        assert (header.parameters[2].calibration_factor, header.parameters[2].calibration_units) == (0.5, "MESF")
        assert (header.parameters[0].calibration_factor, header.parameters[0].calibration_units) == (1.0, "nm")
        assert header.parameters[1].calibration_factor is None

    def test_an_unreadable_calibration_is_a_warning(self):
        header = read_header(ev_file(extra=[("$P2CALIBRATION", "MESF")]))
        assert header.parameters[1].calibration_factor is None
        assert any("$P2CALIBRATION is “MESF”" in w for w in header.warnings)

    def test_axes_are_in_the_files_units_and_gates_apply_to_them(self, staff, lab):
        acquisition = services.acquisition_upload(actor=staff, lab=lab, data=self.data(), name="fcmpass.fcs")
        gates = [{"name": "EVs", "x": "SSC-H", "x_min": 100}, {"name": "CD63+", "x": "FL2-H", "x_min": 2000}]
        result = services.result_record(actor=staff, acquisition=acquisition, gates=gates, particle_gate="EVs")
        assert result.axes["FL2-H"] == "MESF (calibrated in the file)"
        assert result.axes["SSC-H"] == "nm (calibrated in the file)"
        assert result.axes["FL1-H"] == "a.u. (uncalibrated)"
        # FL2-H 5,000 a.u. is 2,500 MESF: above 2,000 MESF; 20 a.u. (10 MESF) below.
        assert {c["gate"]: c["events"] for c in result.counts}["CD63+"] == 8_000
        assert result.sizes["channel"] == "SSC-H"

    def test_an_imported_gate_on_a_calibrated_channel_is_scaled_to_its_units(self, staff, lab):
        acquisition = services.acquisition_upload(actor=staff, lab=lab, data=self.data(), name="fcmpass.fcs")
        result = gate_services.result_import(actor=staff, acquisition=acquisition, data=GML, name="g.xml")
        gate = next(g for g in result.gates if g["name"] == "CD63+")
        assert gate["x_min"] == 500.0  # 1,000 in the file's values is 500 MESF
        assert {c["gate"]: c["events"] for c in result.counts}["CD63+"] == 8_000

    def test_no_second_calibration_goes_on_top_of_the_files(self, staff, lab):
        from datetime import date

        acquisition = services.acquisition_upload(actor=staff, lab=lab, data=self.data(), name="fcmpass.fcs")
        calibration = services.calibration_create(
            actor=staff,
            lab=lab,
            name="PE",
            kind="fluorescence",
            channel="FL2-H",
            units="MESF",
            beads="b",
            calibrated_on=date(2026, 12, 1),
            measured=[10, 100, 1000],
            assigned=[50, 500, 5000],
        )
        with pytest.raises(ValidationError, match="calibrated in the file"):
            services.result_record(
                actor=staff,
                acquisition=acquisition,
                gates=[{"name": "EVs", "x": "SSC-H", "x_min": 100}],
                particle_gate="EVs",
                calibrations=[calibration],
            )
