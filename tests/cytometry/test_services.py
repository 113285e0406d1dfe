"""Flow cytometry services: an upload keeps the file and reads the header (events in the task, eager here), a
refused file is kept with its failed acquisition, gates give counts per gate and the concentration of the
original sample, an EV sample's result is the preparation's particle result, calibrations are their own record."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from evlims.characterization.models import Measurement
from evlims.core.models import AuditEvent
from evlims.cytometry import services
from evlims.cytometry.models import FlowAcquisition, FlowCalibration
from evlims.instruments.models import RawFile
from tests.cytometry.ev_files import GATES, ev_file
from tests.web.test_results import make_preparation

pytestmark = pytest.mark.django_db


@pytest.fixture
def preparation(staff, project):
    return make_preparation(staff, project, "EVP-FLOW1")


def _upload(staff, lab, preparation, data=None, **kwargs):
    return services.acquisition_upload(
        actor=staff, lab=lab, data=data or ev_file(), name="ev.fcs", preparation=preparation, **kwargs
    )


def test_upload_reads_the_header_and_the_events(staff, lab, preparation, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        acquisition = _upload(staff, lab, preparation, dilution_factor=100)
    acquisition.refresh_from_db()
    assert acquisition.status == FlowAcquisition.Status.READ
    assert (acquisition.event_count, acquisition.volume_ul, acquisition.instrument_name) == (
        20_000,
        10.0,
        "CytoFLEX nano",
    )
    assert acquisition.header["trigger_channel"] == "SSC-H" and acquisition.header["trigger_threshold"] == 100
    assert acquisition.density["x"] == "SSC-H" and acquisition.density["y"] == "FL1-H"
    assert acquisition.acquired_at.date() == dt.date(2026, 12, 1)
    assert AuditEvent.objects.filter(action="flow_acquisition.upload").count() == 1


def test_a_refused_file_is_kept_with_its_failed_acquisition(staff, lab, preparation):
    with pytest.raises(services.AcquisitionRefused) as refused:
        _upload(staff, lab, preparation, data=b"FCS3.1 but nothing else at all, not even offsets" * 2)
    assert "outside the file" in refused.value.message_dict["file"][0] or refused.value.message_dict["file"]
    failed = refused.value.acquisition
    assert failed.status == FlowAcquisition.Status.FAILED and RawFile.objects.filter(pk=failed.raw_file_id).exists()


def test_gates_count_and_the_concentration_is_of_the_original_sample(staff, lab, preparation):
    acquisition = _upload(staff, lab, preparation, dilution_factor=100)
    result = services.result_record(actor=staff, acquisition=acquisition, gates=GATES, particle_gate="EVs")
    counts = {c["gate"]: c for c in result.counts}
    assert counts["EVs"]["events"] == 16_000
    assert counts["CD9+"]["percent_of_parent"] == 25.0 and counts["CD63+"]["percent_of_parent"] == 50.0
    assert counts["CD9+CD63+"]["events"] == 4_000
    # 16,000 events in 10 µL = 1.6 × 10⁶ per mL measured; × 100 dilution = 1.6 × 10⁸ per mL of the sample.
    assert result.concentration_per_ml == pytest.approx(1.6e8)
    assert result.axes["FL1-H"] == "a.u. (uncalibrated)"
    measurement = Measurement.objects.get(pk=result.measurement_id)
    assert measurement.method == "nanoflow" and measurement.preparation == preparation
    assert measurement.particle.concentration_per_ml == pytest.approx(1.6e8)


def test_without_an_analysed_volume_there_is_no_concentration_and_it_says_why(staff, lab, preparation):
    acquisition = _upload(staff, lab, preparation, data=ev_file(volume_nl=None), dilution_factor=10)
    result = services.result_record(actor=staff, acquisition=acquisition, gates=GATES, particle_gate="EVs")
    assert result.concentration_per_ml is None and "No analysed volume" in result.concentration_note
    given = services.result_record(
        actor=staff, acquisition=acquisition, gates=GATES, particle_gate="EVs", volume_ul=20, reason="from the log"
    )
    assert given.concentration_per_ml == pytest.approx(16_000 / 0.02 * 10)


def test_a_gate_on_an_unknown_parameter_is_refused_and_nothing_is_written(staff, lab, preparation):
    acquisition = _upload(staff, lab, preparation)
    events_before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.result_record(
            actor=staff, acquisition=acquisition, gates=[{"name": "A", "x": "FSC-A", "x_min": 1}], particle_gate="A"
        )
    assert "no parameter “FSC-A”" in refused.value.message_dict["gates"][0]
    assert AuditEvent.objects.count() == events_before


def test_a_fluorescence_calibration_puts_the_gate_on_mesf(staff, lab, preparation):
    calibration = services.calibration_create(
        actor=staff,
        lab=lab,
        name="FL1 MESF",
        kind="fluorescence",
        channel="FL1-H",
        units="MESF",
        beads="Spherotech RCP-30-5A",
        lot="AG01",
        calibrated_on=dt.date(2026, 12, 1),
        measured=[20, 50, 500, 5000],
        assigned=[0, 500, 5000, 50000],
    )
    assert calibration.fit["slope"] == pytest.approx(1.0) and calibration.fit["intercept"] == pytest.approx(1.0)
    acquisition = _upload(staff, lab, preparation, dilution_factor=1)
    gates = [GATES[0], {"name": "CD9+", "x": "FL1-H", "x_min": 10_000, "parent": "EVs", "marker": "CD9"}]
    result = services.result_record(
        actor=staff, acquisition=acquisition, gates=gates, particle_gate="EVs", calibrations=[calibration]
    )
    assert result.axes["FL1-H"] == "MESF" and list(result.calibrations.all()) == [calibration]
    assert {c["gate"]: c["events"] for c in result.counts}["CD9+"] == 4_000  # 5,000 a.u. = 50,000 MESF
    assert FlowCalibration.objects.get().lot == "AG01"


def test_an_outsider_cannot_upload_to_our_lab(outsider, lab):
    with pytest.raises(PermissionDenied):
        services.acquisition_upload(actor=outsider, lab=lab, data=ev_file(), name="x.fcs")


def test_controls_give_the_lysis_drop_and_the_dilution_linearity(staff, lab, preparation):
    from evlims.cytometry.controls import control_summary
    from evlims.cytometry.selectors import acquisition_page
    from tests.cytometry.ev_files import ev_events
    from tests.cytometry.fcs_writer import fcs_bytes

    sample = _upload(staff, lab, preparation, dilution_factor=100)
    services.result_record(actor=staff, acquisition=sample, gates=GATES, particle_gate="EVs")
    events = ev_events()

    def control(role, rows, dilution=None):
        data = fcs_bytes(events[rows], ["SSC-H", "FL1-H", "FL2-H", "FL3-H", "Time"], extra=[("$VOL", "10000")])
        acquisition = services.acquisition_upload(
            actor=staff,
            lab=lab,
            data=data,
            name=f"{role}-{dilution}.fcs",
            role=role,
            controls=sample,
            dilution_factor=dilution,
        )
        services.result_record(actor=staff, acquisition=acquisition, gates=GATES[:1], particle_gate="EVs")

    control("lysis", slice(0, 1600))  # a tenth of the particles survive detergent (and all of the noise)
    control("dilution", slice(0, 8000), dilution=200)  # half the particles at twice the dilution
    control("dilution", slice(0, 4000), dilution=400)
    summary = control_summary(acquisition_page(staff, sample.pk))
    assert summary["lysis_drop"] == pytest.approx(90.0)
    assert summary["linearity"]["slope"] == pytest.approx(1.0, abs=0.01)
    assert summary["linearity"]["r_squared"] == pytest.approx(1.0)
    assert "Buffer only" in summary["missing"] and "Detergent lysis" not in summary["missing"]


def test_a_control_of_a_control_is_refused(staff, lab, preparation):
    sample = _upload(staff, lab, preparation)
    buffer = services.acquisition_upload(
        actor=staff, lab=lab, data=ev_file(volume_nl=5000), name="buffer.fcs", role="buffer", controls=sample
    )
    with pytest.raises(ValidationError) as refused:
        services.acquisition_upload(
            actor=staff, lab=lab, data=ev_file(volume_nl=6000), name="x.fcs", role="buffer", controls=buffer
        )
    assert "not for another control" in refused.value.message_dict["controls"][0]
