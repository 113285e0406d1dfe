"""The spike recovery of a control material's preparations is a control-chart series of its own, drawn only
where a preparation has a recovery."""

import pytest

from evlims.metrics import control_charts
from evlims.metrics.services import controls
from evlims.standards import services as standards
from tests.security.world import build_lab

pytestmark = pytest.mark.django_db


def test_recovery_series_on_the_control_chart():
    world = build_lab("CCR")
    material = controls.control_material_create(
        actor=world.users["lab_admin"],
        lab=world.lab,
        name="rEV in pooled plasma",
        sample_barcodes=[world.sample.barcode],
    )
    figures = {chart.figure for chart in control_charts.charts_for([material])}
    assert control_charts.RECOVERY not in figures  # the world's readout has no final volume: no recovery yet
    world.preparation.final_volume_ul = 100
    world.preparation.save(update_fields=["final_volume_ul"])
    standards.tracer_readout_record(
        actor=world.staff, spike=world.spike, preparation=world.preparation, value=4e8, unit="particles/mL"
    )
    charts = {chart.figure: chart for chart in control_charts.charts_for([material])}
    chart = charts[control_charts.RECOVERY]
    # Two readouts of one preparation: 4e8/mL x 0.1 mL / (10 µL x 1e10/mL) = 40 % each.
    assert chart.points["value"].tolist() == pytest.approx([40.0])
    assert chart.figure_label == "Spike recovery (%)"
    assert chart.problem and "Collecting the baseline" in chart.problem
