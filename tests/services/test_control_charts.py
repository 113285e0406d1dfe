"""Control materials and their Levey–Jennings series: Westgard judgement of stored figures, targets from the
material or a baseline, the write service (role, audit) and the frames the dashboards read."""

import itertools
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from evlims.characterization.models import Measurement, ParticleAnalysis, SizeBin
from evlims.core.models import AuditEvent, Role
from evlims.isolation.models import EVPreparation, IsolationRun, Protocol, ProtocolVersion
from evlims.metrics import control_charts, selectors
from evlims.metrics.models import ControlMaterial, PreparationMetrics
from evlims.metrics.services import controls
from evlims.metrics.westgard import log10_targets
from evlims.samples.models import Aliquot
from tests.factories import SampleFactory, member

NUMBERS = itertools.count(1)
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def protocol_version(lab, slug="sec-plasma", version="1.0") -> ProtocolVersion:
    protocol, _ = Protocol.objects.get_or_create(lab=lab, slug=slug, defaults={"title": slug})
    return ProtocolVersion.objects.create(
        protocol=protocol, version=version, definition={}, content_hash=f"{slug}-{version}", status="approved"
    )


def preparation(
    project,
    operator,
    *,
    sample=None,
    biofluid="blood_plasma",
    method="sec",
    version=None,
    started_at=START,
    run=None,
    **figures,
) -> EVPreparation:
    """A preparation in its own run (unless ``run`` is given) with stored figures ``figures``."""
    number = next(NUMBERS)
    lab = project.lab
    sample = sample or SampleFactory(project=project, biofluid=biofluid)
    aliquot = Aliquot.objects.create(
        lab=lab, sample=sample, barcode=f"ALQ-T{number}", initial_volume_ul=500, volume_ul=0
    )
    run = run or IsolationRun.objects.create(
        lab=lab,
        project=project,
        code=f"RUN-T{number}",
        protocol_version=version,
        protocol_name="" if version else "Manual SEC",
        method=method,
        status="completed",
        operator=operator,
        started_at=started_at,
    )
    prep = EVPreparation.objects.create(
        lab=lab, run=run, input_aliquot=aliquot, barcode=f"EVP-T{number}", input_volume_ul=500, final_volume_ul=100
    )
    PreparationMetrics.objects.create(lab=lab, preparation=prep, computed_at=START, **figures)
    return prep


def size_bins(prep, bins, instrument_name="NS300") -> Measurement:
    measurement = Measurement.objects.create(
        lab=prep.lab,
        preparation=prep,
        kind=Measurement.Kind.PARTICLE,
        method="nta",
        measured_at=START,
        instrument_name=instrument_name,
    )
    analysis = ParticleAnalysis.objects.create(measurement=measurement, technique="nta")
    SizeBin.objects.bulk_create(SizeBin(analysis=analysis, bin_center_nm=c, concentration_per_ml=v) for c, v in bins)
    return measurement


def control_run(project, operator, material_sample, values, *, version=None, figure="particles_per_ug"):
    """One control preparation per value, on consecutive days, in that run order."""
    return [
        preparation(
            project,
            operator,
            sample=material_sample,
            version=version,
            started_at=START + timedelta(days=day),
            **{figure: value},
        )
        for day, value in enumerate(values)
    ]


@pytest.fixture
def admin(lab):
    return member(lab, Role.LAB_ADMIN, username="admin")


@pytest.fixture
def control_sample(project):
    return SampleFactory(project=project, biofluid="cell_culture_medium", barcode="CTRL-1")


@pytest.fixture
def material(lab, control_sample):
    material = ControlMaterial.objects.create(
        lab=lab, name="Reference EV", target_mean_particles_per_ug=1e10, target_sd_particles_per_ug=1e9
    )
    material.samples.add(control_sample)
    return material


# Particles per µg is judged on log10: the assigned 1e10 ± 1e9 becomes a log10 mean and SD (moments of the
# log-normal), and the values are placed at z = 0, 0.5, 3.5 (1-3s reject), 0, 2.5 (1-2s warning), 2.2 (2-2s with
# the one before) on that scale.
LOG_MEAN, LOG_SD = (float(x) for x in log10_targets(1e10, 1e9))
CRAFTED_Z = [0.0, 0.5, 3.5, 0.0, 2.5, 2.2]
CRAFTED = [10 ** (LOG_MEAN + z * LOG_SD) for z in CRAFTED_Z]


def test_assigned_targets_flag_a_1_3s_point_and_a_2_2s_pair(project, staff, material, control_sample):
    control_run(project, staff, control_sample, CRAFTED, version=protocol_version(project.lab))
    [chart] = control_charts.charts_for([material], figures=["particles_per_ug"])
    assert chart.protocol == "sec-plasma@1.0" and chart.problem is None
    # These were the linear 1e10 and 1e9; the figure is log-normal, so the chart keeps log10 targets.
    assert (chart.target_mean, chart.target_sd) == pytest.approx((LOG_MEAN, LOG_SD))
    assert chart.target_source == "assigned to the material" and not chart.provisional and chart.log_scale
    points = chart.points
    assert points["sequence"].tolist() == [1, 2, 3, 4, 5, 6]
    assert points["z_score"].round(6).tolist() == CRAFTED_Z
    assert points["level"].tolist() == ["accept", "accept", "reject", "accept", "warning", "reject"]
    assert points["violated_rules"].tolist()[2] == ("1-2s", "1-3s")
    assert points["violated_rules"].tolist()[5] == ("1-2s", "2-2s")
    assert chart.limits[3] == pytest.approx(10 ** (LOG_MEAN + 3 * LOG_SD))
    assert chart.limits[-2] == pytest.approx(10 ** (LOG_MEAN - 2 * LOG_SD))


def test_run_order_follows_the_run_start_not_the_creation_order(project, staff, material, control_sample):
    late = preparation(
        project, staff, sample=control_sample, started_at=START + timedelta(days=5), particles_per_ug=2e10
    )
    early = preparation(project, staff, sample=control_sample, started_at=START, particles_per_ug=1e10)
    [chart] = control_charts.charts_for([material], figures=["particles_per_ug"])
    assert chart.points["barcode"].tolist() == [early.barcode, late.barcode]


def test_without_targets_the_baseline_sets_the_limits(lab, project, staff, control_sample):
    material = ControlMaterial.objects.create(lab=lab, name="Baseline EV", baseline_points=3)
    material.samples.add(control_sample)
    control_run(project, staff, control_sample, [9e9, 1.0e10, 1.1e10, 1.0e10, 1.4e10])
    [chart] = control_charts.charts_for([material], figures=["particles_per_ug"])
    # Estimated on log10 (the figure is log-normal), and provisional: 3 points, where 20 are needed.
    logs = np.log10([9e9, 1.0e10, 1.1e10])
    assert chart.target_mean == pytest.approx(logs.mean()) and chart.target_sd == pytest.approx(logs.std(ddof=1))
    assert chart.target_source == "estimated from the first 3 points"
    assert chart.provisional_note == "Provisional limits: estimated from 3 runs; 20 are needed."
    assert chart.points["judged"].tolist() == [False, False, False, True, True]
    assert chart.points["level"].tolist() == [None, None, None, "accept", "reject"]


def test_a_short_baseline_is_shown_without_judgement(lab, project, staff, control_sample):
    # This expected no limits until the baseline was complete; limits are now drawn from the points there are,
    # flagged provisional, and the points of the baseline are still not judged.
    material = ControlMaterial.objects.create(lab=lab, name="New EV", baseline_points=4)
    material.samples.add(control_sample)
    control_run(project, staff, control_sample, [1e10])
    [chart] = control_charts.charts_for([material], figures=["particles_per_ug"])
    assert chart.problem == "Collecting the baseline: 1 of 4 points; limits follow from 2 points."
    assert chart.points["level"].tolist() == [None] and chart.limits == {}
    control_run(project, staff, control_sample, [2e10])
    [chart] = control_charts.charts_for([material], figures=["particles_per_ug"])
    assert chart.problem is None and chart.provisional
    assert chart.provisional_note == "Provisional limits: estimated from 2 runs; 20 are needed."
    assert chart.points["level"].tolist() == [None, None] and min(chart.limits.values()) > 0


def test_a_baseline_without_spread_says_why_it_is_not_judged(lab, project, staff, control_sample):
    material = ControlMaterial.objects.create(lab=lab, name="Flat EV", baseline_points=2)
    material.samples.add(control_sample)
    control_run(project, staff, control_sample, [1e10, 1e10, 3e10])
    [chart] = control_charts.charts_for([material], figures=["particles_per_ug"])
    assert chart.problem.startswith("Not judged:") and "no spread" in chart.problem


def test_particle_yield_always_uses_the_baseline(project, staff, material, control_sample):
    material.baseline_points = 2
    material.save()
    control_run(project, staff, control_sample, [1e9, 3e9, 2e9], figure="particle_yield_per_ml_input")
    charts = {chart.figure: chart for chart in control_charts.charts_for([material])}
    yield_chart = charts["particle_yield_per_ml_input"]
    # Particle yield is log-normal: the centre line is the geometric mean of the baseline, sqrt(1e9 · 3e9).
    assert yield_chart.limits[0] == pytest.approx(np.sqrt(3e18)) and yield_chart.target_source.startswith("estimated")
    # The same preparations carry no purity figure: they are counted as missing, not plotted as 0.
    assert charts["particles_per_ug"].points.empty and charts["particles_per_ug"].missing_figure == 3
    assert charts["particles_per_ug"].problem == "No preparation of this material has the figure yet."


def test_each_protocol_is_its_own_series(project, staff, material, control_sample):
    first, second = protocol_version(project.lab, "sec", "1"), protocol_version(project.lab, "uc", "2")
    control_run(project, staff, control_sample, [1e10, 1.1e10], version=first)
    control_run(project, staff, control_sample, [5e10], version=second)
    charts = control_charts.charts_for([material], figures=["particles_per_ug"])
    assert [(chart.protocol, len(chart.points)) for chart in charts] == [("sec@1", 2), ("uc@2", 1)]


def test_drift_alerts_list_series_whose_latest_point_broke_a_rule(
    project, staff, material, control_sample, other_lab, outsider
):
    control_run(project, staff, control_sample, CRAFTED)
    calm = ControlMaterial.objects.create(
        lab=project.lab, name="Calm EV", target_mean_particles_per_ug=1e10, target_sd_particles_per_ug=1e9
    )
    calm_sample = SampleFactory(project=project)
    calm.samples.add(calm_sample)
    control_run(project, staff, calm_sample, [1.35e10, 1.0e10])  # broke a rule earlier, fine now
    alerts = control_charts.drift_alerts(staff)
    assert [(a.material.name, a.latest["level"], a.latest["violated_rules"]) for a in alerts] == [
        ("Reference EV", "reject", ("1-2s", "2-2s"))
    ]
    assert control_charts.drift_alerts(outsider) == []


def test_material_get_hides_other_labs(material, outsider, staff):
    assert control_charts.material_get(staff, material.pk) == material
    with pytest.raises(control_charts.NotFound):
        control_charts.material_get(outsider, material.pk)


# -- the write service --------------------------------------------------------------------------------------


def test_admin_defines_a_material_with_samples_and_an_audit_event(lab, admin, control_sample):
    material = controls.control_material_create(
        actor=admin,
        lab=lab,
        name=" Reference EV ",
        target_mean_particles_per_ug=2e10,
        target_sd_particles_per_ug=2e9,
        baseline_points=10,
        sample_barcodes=["CTRL-1", "CTRL-1"],
    )
    assert material.name == "Reference EV" and list(material.samples.all()) == [control_sample]
    event = AuditEvent.objects.get(action="control_material.create")
    assert event.object_id == str(material.pk) and event.actor == admin and event.lab == lab
    assert event.changes["samples"] == ["CTRL-1"] and event.changes["target_mean_particles_per_ug"] == 2e10


def test_only_lab_admins_define_materials(lab, staff):
    with pytest.raises(PermissionDenied):
        controls.control_material_create(actor=staff, lab=lab, name="Reference EV")
    assert not ControlMaterial.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"target_mean_particles_per_ug": 1e10}, "target_sd_particles_per_ug"),
        ({"target_mean_particles_per_ug": 1e10, "target_sd_particles_per_ug": 0.0}, "target_sd_particles_per_ug"),
        ({"target_mean_particles_per_ug": -1.0, "target_sd_particles_per_ug": 1.0}, "target_mean_particles_per_ug"),
        ({"baseline_points": 1}, "baseline_points"),
        ({"sample_barcodes": ["NO-SUCH"]}, "sample_barcodes"),
        ({"name": "  "}, "name"),
    ],
)
def test_refused_definitions_name_the_field(lab, admin, fields, field):
    with pytest.raises(ValidationError) as refused:
        controls.control_material_create(actor=admin, lab=lab, **({"name": "Reference EV"} | fields))
    assert field in refused.value.message_dict
    assert not ControlMaterial.objects.exists()


def test_names_are_unique_per_lab_and_samples_of_other_labs_are_refused(lab, admin, material, other_lab):
    with pytest.raises(ValidationError, match="already has a control material"):
        controls.control_material_create(actor=admin, lab=lab, name="Reference EV")
    foreign = SampleFactory(project__lab=other_lab, barcode="FOREIGN-1")
    with pytest.raises(ValidationError, match="FOREIGN-1"):
        controls.control_material_create(actor=admin, lab=lab, name="Second EV", sample_barcodes=[foreign.barcode])


def test_linking_samples_adds_the_new_ones_and_audits_them(project, admin, staff, material, control_sample):
    extra = SampleFactory(project=project, barcode="CTRL-2")
    linked = controls.control_material_link_samples(
        actor=admin, material=material, sample_barcodes=["CTRL-1", "CTRL-2"]
    )
    assert linked == [extra] and set(material.samples.all()) == {control_sample, extra}
    assert AuditEvent.objects.get(action="control_material.link_samples").changes == {"samples_linked": ["CTRL-2"]}
    assert controls.control_material_link_samples(actor=admin, material=material, sample_barcodes=["CTRL-2"]) == []
    assert AuditEvent.objects.filter(action="control_material.link_samples").count() == 1
    with pytest.raises(PermissionDenied):
        controls.control_material_link_samples(actor=staff, material=material, sample_barcodes=["CTRL-2"])


# -- frames the dashboards read -----------------------------------------------------------------------------


def test_metrics_frame_joins_groups_and_summaries_match_hand_computed_figures(project, staff, outsider, other_lab):
    version = protocol_version(project.lab)
    for value in (1e10, 2e10, 3e10):
        preparation(project, staff, method="sec", version=version, particles_per_ug=value)
    measured = preparation(
        project,
        staff,
        method="uc",
        biofluid="urine",
        particles_per_ug=5e9,
        particle_yield_per_ml_input=4e8,
        started_at=START + timedelta(days=40),
    )
    size_bins(measured, [(100, 1e9)], instrument_name="ZetaView PMX")
    foreign_project = SampleFactory(project__lab=other_lab).project
    preparation(foreign_project, outsider, method="sec", particles_per_ug=9e12)

    frame = selectors.metrics_frame(staff)
    assert len(frame) == 4 and 9e12 not in frame["particles_per_ug"].tolist()
    row = frame.loc[frame["barcode"] == measured.barcode].iloc[0]
    assert (row["method"], row["biofluid"], row["operator"], row["instrument"], row["month"]) == (
        "uc",
        "urine",
        "staff",
        "ZetaView PMX",
        "2025-02",
    )
    assert frame.loc[frame["method"] == "sec", "protocol"].unique().tolist() == ["sec-plasma@1.0"]
    summary = selectors.group_summary(frame, ["method"]).set_index(["method", "metric"])
    sec = summary.loc[("sec", "particles_per_ug")]
    assert (sec["n"], sec["mean"], sec["sd"], sec["cv_pct"]) == (3, pytest.approx(2e10), pytest.approx(1e10), 50.0)
    uc = summary.loc[("uc", "particles_per_ug")]
    assert uc["n"] == 1 and uc["cv_pct"] != uc["cv_pct"]  # NaN: no CV from one preparation
    assert summary.loc[("sec", "particle_yield_per_ml_input"), "n"] == 0  # missing figures are not counted


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"biofluid": "urine"}, ["urine-uc"]),
        ({"method": "sec"}, ["plasma-sec"]),
        ({"started_from": date(2025, 2, 1)}, ["urine-uc"]),
        ({"started_to": date(2025, 1, 6)}, ["plasma-sec"]),
        ({"started_from": date(2025, 1, 6), "started_to": date(2025, 2, 15)}, ["plasma-sec", "urine-uc"]),
    ],
)
def test_metric_filters_narrow_the_frame(project, staff, filters, expected):
    labels = {}
    for label, biofluid, method, started in (
        ("plasma-sec", "blood_plasma", "sec", START),
        ("urine-uc", "urine", "uc", START + timedelta(days=40)),
    ):
        labels[preparation(project, staff, biofluid=biofluid, method=method, started_at=started).barcode] = label
    frame = selectors.metrics_frame(staff, selectors.MetricFilters(**filters))
    assert sorted(labels[barcode] for barcode in frame["barcode"]) == expected


def test_operator_and_protocol_filters(project, staff, lab):
    other_operator = member(lab, Role.LAB_STAFF, username="bea")
    version = protocol_version(lab)
    by_staff = preparation(project, staff, version=version)
    preparation(project, other_operator)
    for filters in ({"operator": staff.pk}, {"protocol_version": version.pk}):
        frame = selectors.metrics_frame(staff, selectors.MetricFilters(**filters))
        assert frame["barcode"].tolist() == [by_staff.barcode]


def test_size_distributions_are_scoped_to_the_users_labs(project, staff, outsider):
    prep = preparation(project, staff)
    size_bins(prep, [(150, 2e9), (50, 1e9)])
    bins = selectors.size_distributions(staff, [prep.pk])
    assert bins["bin_center_nm"].tolist() == [50, 150] and set(bins["barcode"]) == {prep.barcode}
    assert selectors.size_distributions(outsider, [prep.pk]).empty
