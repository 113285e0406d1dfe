"""Dashboard, method comparison and Levey–Jennings pages: figures shown with n, CSV exports, lab scoping,
role checks and flat query counts."""

import base64
import csv
import io
from datetime import timedelta

import pytest
from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django.core.cache import cache
from django.db import connection
from django.test.html import parse_html
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from evlims.compliance.models import Review
from evlims.core.models import AuditEvent, Role
from evlims.metrics.models import ControlMaterial, MetricJob
from evlims.web.forms.dashboards import ComparisonFilterForm
from evlims.web.views.comparison_overlay import size_overlay
from tests.factories import SampleFactory, member
from tests.services.test_control_charts import CRAFTED, control_run, preparation, protocol_version, size_bins

DASHBOARD = reverse("evlims:dashboard")
COMPARISON = reverse("evlims:dashboard-comparison")
CONTROLS = reverse("evlims:control-list")
# The fixtures' runs started in 2025; the comparison shows the last 12 months unless "Runs from" is emptied.
EVERY_RUN = {"started_from": ""}


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts without the pages cached by another test's data."""
    cache.clear()


@pytest.fixture
def admin(lab):
    return member(lab, Role.LAB_ADMIN, username="admin")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def compared(project, staff):
    """Three SEC plasma preparations (1, 2 and 3 ×10¹⁰ particles/µg) and one UC urine preparation."""
    version = protocol_version(project.lab)
    sec = [
        preparation(project, staff, version=version, particles_per_ug=value, particle_yield_per_ml_input=2e9)
        for value in (1e10, 2e10, 3e10)
    ]
    uc = preparation(
        project, staff, method="uc", biofluid="urine", particles_per_ug=5e9, particle_yield_per_ml_input=None
    )
    return sec, uc


@pytest.fixture
def foreign(other_lab, outsider):
    project = SampleFactory(project__lab=other_lab).project
    return preparation(project, outsider, method="=cmd|' /C calc'!A0", particles_per_ug=7.77e12)


@pytest.fixture
def material(lab, project):
    sample = SampleFactory(project=project, barcode="CTRL-1")
    material = ControlMaterial.objects.create(
        lab=lab, name="Reference EV", target_mean_particles_per_ug=1e10, target_sd_particles_per_ug=1e9
    )
    material.samples.add(sample)
    return material


def rows(response) -> list[list[str]]:
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def queries_for(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured)


# -- method comparison --------------------------------------------------------------------------------------


def test_comparison_summary_shows_n_mean_sd_and_cv(staff_client, compared):
    response = staff_client.get(COMPARISON, EVERY_RUN)
    summary = response.context["tables"]["summary"]
    shown = {(row["method"], row["biofluid"], row["metric"]): row for row in summary.rows}
    # Figures no preparation has (recovery here) are left out; the tracked yield stays, with n = 0 where absent.
    assert {metric for _, _, metric in shown} == {"particles_per_ug", "particle_yield_per_ml_input"}
    assert shown[("uc", "urine", "particle_yield_per_ml_input")]["n"] == 0
    sec = shown[("sec", "blood_plasma", "particles_per_ug")]
    assert (sec["n"], sec["mean"], sec["sd"], sec["cv_pct"]) == (3, pytest.approx(2e10), pytest.approx(1e10), 50.0)
    html = response.content.decode()
    assert "2.00 × 10¹⁰" in html and "1.00 × 10¹⁰" in html
    uc_cells = next(
        row["cells"]
        for row in summary.display_rows()
        if row["cells"][:3] == [("uc", "", None), ("urine", "", None), ("Particles per µg protein", "", None)]
    )
    assert [text for text, _, _ in uc_cells[3:]] == ["1", "5.00 × 10⁹", "—", "—"]  # n=1: no SD, no CV, never 0


def test_comparison_charts_are_drawn_with_shapes_and_labels(staff_client, compared):
    response = staff_client.get(COMPARISON, EVERY_RUN)
    charts = response.context["charts"]
    scatter = base64.b64decode(charts["scatter"].split(",", 1)[1]).decode()
    assert scatter.startswith("<svg") and "sec-plasma@1.0 (n=3)" in scatter
    # The UC preparation has no yield figure: it is left off the log-log plot, and the page says so.
    assert "Manual SEC" not in scatter and response.context["not_on_log_axes"] == 1
    assert "1 of them lack a yield or purity figure" in response.content.decode()
    box = base64.b64decode(charts["box_purity"].split(",", 1)[1]).decode()
    assert "sec · blood_plasma" in box and "n=3" in box
    assert charts["overlay"] is None


def test_comparison_filters_and_grouping(staff_client, compared):
    response = staff_client.get(COMPARISON, {"biofluid": "urine", "group": "protocol", **EVERY_RUN})
    assert response.context["count"] == 1
    summary = response.context["tables"]["summary"]
    assert {row["protocol"] for row in summary.rows} == {"Manual SEC"}
    assert [label for _, label, _ in summary.columns][:2] == ["Protocol", "Figure"]


def test_comparison_refuses_a_backwards_date_range(staff_client, compared):
    response = staff_client.get(COMPARISON, {"started_from": "2025-03-01", "started_to": "2025-01-01"})
    assert "Correct the filters above." in response.content.decode()
    assert "before its start" in response.content.decode()


@pytest.mark.parametrize("dates", [{}, {"started_from": "2025-03-01", "started_to": "2025-01-01"}], ids=["ok", "error"])
def test_comparison_filters_are_the_markup_crispy_wrote(staff_client, compared, staff, dates):
    page = staff_client.get(COMPARISON, dates).content.decode()
    form = ComparisonFilterForm(dates, user=staff)
    form.is_valid()
    for name, _ in ComparisonFilterForm.SHOWN:
        start = page.index(f'<div id="div_id_{name}"')
        ours = page[start : page.index("</div></div>", start) + len("</div>")]
        assert parse_html(ours) == parse_html(as_crispy_field(form[name])), name


def test_comparison_csv_exports_and_neutralises_formulas(staff_client, compared, project, staff):
    preparation(project, staff, method='=HYPERLINK("http://x")', biofluid="urine", particles_per_ug=1e10)
    summary = rows(staff_client.get(COMPARISON, {"export": "summary", **EVERY_RUN}))
    assert summary[0] == ["Method", "Biofluid", "Figure", "n", "Mean", "SD", "CV %"]
    sec = next(row for row in summary if row[:3] == ["sec", "blood_plasma", "Particles per µg protein"])
    assert sec[3:] == ["3", "20000000000.0", "10000000000.0", "50.0"]
    uc = next(row for row in summary if row[:3] == ["uc", "urine", "Particles per µg protein"])
    assert uc[3:] == ["1", "5000000000.0", "", ""]  # missing stays empty, never 0
    assert any(row[0] == '\'=HYPERLINK("http://x")' for row in summary)
    points = rows(staff_client.get(COMPARISON, {"export": "points", "method": "uc", **EVERY_RUN}))
    assert len(points) == 2 and points[1][4] == "uc" and points[1][9] == "5000000000.0" and points[1][8] == ""


def test_unknown_export_is_404(staff_client):
    assert staff_client.get(COMPARISON, {"export": "nothing"}).status_code == 404


def test_other_labs_never_appear_in_comparison_pages_or_csv(staff_client, compared, foreign):
    response = staff_client.get(COMPARISON, EVERY_RUN)
    assert foreign.barcode not in response.content.decode() and response.context["count"] == 4
    for table in ("summary", "points"):
        text = staff_client.get(COMPARISON, {"export": table, **EVERY_RUN}).content.decode("utf-8-sig")
        assert foreign.barcode not in text and "7770000000000" not in text and "calc" not in text


def test_size_overlay_of_ticked_preparations_stays_in_the_users_labs(staff_client, compared, foreign):
    sec = compared[0][0]
    size_bins(sec, [(50, 1e9), (150, 2e9), (250, 1e9)])
    size_bins(foreign, [(80, 5e9)])
    response = staff_client.get(COMPARISON, {"overlay": [sec.pk, foreign.pk], **EVERY_RUN})
    assert response.context["charts"]["overlay"].startswith("data:image/svg+xml;base64,")
    [shown] = response.context["tables"]["sizes"].rows
    assert (shown["barcode"], shown["bins"], shown["mode"], shown["small"]) == (sec.barcode, 3, 150.0, 0.75)
    bins = rows(staff_client.get(COMPARISON, {"overlay": [sec.pk, foreign.pk], "export": "size-bins"}))
    assert [row[2] for row in bins[1:]] == ["50.0", "150.0", "250.0"] and foreign.barcode not in str(bins)
    too_many = staff_client.get(COMPARISON, {"overlay": list(range(1, 9))})
    assert "at most 6" in too_many.content.decode()


def test_nothing_ticked_reads_no_size_bins_and_exports_the_same_empty_tables(staff_client, compared, staff):
    sec = compared[0][0]
    size_bins(sec, [(50, 1e9), (150, 2e9)])
    with CaptureQueriesContext(connection) as captured:
        empty = size_overlay(staff, [])
    assert not captured.captured_queries
    ticked = size_overlay(staff, [sec.pk])
    assert empty[0] is None and ticked[0] is not None
    for no_rows, with_rows in zip(empty[1:], ticked[1:], strict=True):
        assert (no_rows.name, no_rows.title, no_rows.columns) == (with_rows.name, with_rows.title, with_rows.columns)
        assert no_rows.rows == [] and with_rows.rows
    header = rows(staff_client.get(COMPARISON, {"export": "size-bins", **EVERY_RUN}))
    assert header == [["Preparation", "Measurement", "Bin centre (nm)", "Particles/mL in bin"]]


# -- Levey–Jennings ------------------------------------------------------------------------------------------


def test_levey_jennings_page_marks_violations_with_rule_names(staff_client, project, staff, material):
    control_run(project, staff, material.samples.get(), CRAFTED, version=protocol_version(project.lab))
    response = staff_client.get(reverse("evlims:control-detail", args=[material.pk]))
    table = response.context["tables"]["westgard"]
    assert [(row["sequence"], row["level"], row["rules"]) for row in table.rows] == [
        (1, "In control", None),
        (2, "In control", None),
        (3, "Reject", "1-2s, 1-3s"),
        (4, "In control", None),
        (5, "Warning", "1-2s"),
        (6, "Reject", "1-2s, 2-2s (within one level)"),
    ]
    image = base64.b64decode(response.context["chart_image"].split(",", 1)[1]).decode()
    for label in ("1-2s 1-3s", "1-2s 2-2s", "+3 SD", "-2 SD", "mean", "reject", "warning", "in control"):
        assert label in image
    exported = rows(staff_client.get(reverse("evlims:control-detail", args=[material.pk]), {"export": "westgard"}))
    assert exported[0][-3:] == ["Verdict", "Rules broken", "Limits"]
    assert exported[3][-3:] == ["Reject", "1-2s, 1-3s", "Assigned"]
    assert float(exported[3][5]) == pytest.approx(3.5)


def test_series_tabs_choose_protocol_and_figure(staff_client, project, staff, material):
    sample = material.samples.get()
    control_run(project, staff, sample, [1e10, 1.1e10], version=protocol_version(project.lab, "sec", "1"))
    control_run(project, staff, sample, [4e10], version=protocol_version(project.lab, "uc", "2"))
    url = reverse("evlims:control-detail", args=[material.pk])
    chosen = staff_client.get(url, {"protocol": "uc@2", "figure": "particles_per_ug"}).context["chart"]
    assert (chosen.protocol, len(chosen.points)) == ("uc@2", 1)
    yield_chart = staff_client.get(url, {"protocol": "sec@1", "figure": "particle_yield_per_ml_input"}).context["chart"]
    assert yield_chart.figure == "particle_yield_per_ml_input" and yield_chart.points.empty
    assert (
        "lack the figure and are not plotted"
        in staff_client.get(url, {"protocol": "sec@1", "figure": "particle_yield_per_ml_input"}).content.decode()
    )


def test_control_material_of_another_lab_is_404(client, outsider, material):
    client.force_login(outsider)
    assert client.get(reverse("evlims:control-detail", args=[material.pk])).status_code == 404
    assert (
        client.post(reverse("evlims:control-link-samples", args=[material.pk]), {"sample_barcodes": "X"}).status_code
        == 404
    )
    assert "Reference EV" not in client.get(CONTROLS).content.decode()


def test_control_list_exports_its_series(staff_client, project, staff, material):
    control_run(project, staff, material.samples.get(), CRAFTED)
    exported = rows(staff_client.get(CONTROLS, {"export": "series"}))
    assert exported[1][:5] == ["Reference EV", "Vesicle Lab", "Manual SEC", "Particles per µg protein", "6"]
    assert exported[1][6] == "Reject"


def test_lab_admin_defines_a_material_through_the_form(admin_client, lab, project):
    SampleFactory(project=project, barcode="CTRL-9")
    response = admin_client.post(
        reverse("evlims:control-create"),
        {"lab": lab.pk, "name": "Urine EV", "baseline_points": 10, "sample_barcodes": "CTRL-9\n"},
    )
    material = ControlMaterial.objects.get(name="Urine EV")
    assert response.status_code == 302 and response["Location"] == reverse("evlims:control-detail", args=[material.pk])
    assert [s.barcode for s in material.samples.all()] == ["CTRL-9"]
    assert AuditEvent.objects.filter(action="control_material.create", object_id=str(material.pk)).exists()
    refused = admin_client.post(
        reverse("evlims:control-create"),
        {"lab": lab.pk, "name": "Other", "baseline_points": 10, "sample_barcodes": "NOPE"},
    )
    assert refused.status_code == 200 and "NOPE" in refused.content.decode()


def test_staff_cannot_define_or_link(staff_client, material):
    assert staff_client.get(reverse("evlims:control-create")).status_code == 403
    response = staff_client.post(
        reverse("evlims:control-link-samples", args=[material.pk]), {"sample_barcodes": "CTRL-1"}
    )
    assert response.status_code == 403
    assert staff_client.get(reverse("evlims:control-detail", args=[material.pk])).context["link_form"] is None


def test_admin_links_samples(admin_client, project, material):
    SampleFactory(project=project, barcode="CTRL-2")
    url = reverse("evlims:control-link-samples", args=[material.pk])
    response = admin_client.post(url, {"sample_barcodes": "CTRL-2"}, follow=True)
    assert "1 sample(s) newly linked" in response.content.decode()
    assert sorted(s.barcode for s in material.samples.all()) == ["CTRL-1", "CTRL-2"]
    refused = admin_client.post(url, {"sample_barcodes": "MISSING-1"}, follow=True)
    assert "MISSING-1" in refused.content.decode()


# -- lab dashboard -------------------------------------------------------------------------------------------


def test_dashboard_shows_runs_trends_reviews_alerts_and_jobs(staff_client, project, staff, lab, material, foreign):
    recent = timezone.now() - timedelta(days=3)
    prep = preparation(project, staff, started_at=recent, particles_per_ug=2e10, particle_yield_per_ml_input=1e9)
    preparation(project, staff, started_at=recent, particles_per_ug=4e10)
    Review.objects.create(lab=lab, preparation=prep, submitted_by=staff, submitted_at=recent)
    control_run(project, staff, material.samples.get(), CRAFTED)
    MetricJob.objects.create(lab=lab, kind=MetricJob.Kind.FULL, status=MetricJob.Status.RUNNING, total=40, processed=10)
    response = staff_client.get(DASHBOARD)
    tables = {**response.context["tables"], **response.context["figures"]}
    assert prep.run.code in [row["run"][0] for row in tables["runs"].rows]
    assert foreign.run.code not in response.content.decode()
    month = timezone.localtime(recent).strftime("%Y-%m")
    trend = {(row["month"], row["metric"]): row for row in tables["trend"].rows}
    assert (trend[(month, "particles_per_ug")]["n"], trend[(month, "particles_per_ug")]["mean"]) == (2, 3e10)
    assert trend[(month, "particle_yield_per_ml_input")]["n"] == 1
    assert response.context["review_counts"] == [("Awaiting verification", 1), ("Verified, awaiting approval", 0)]
    [alert] = tables["alerts"].rows
    assert (alert["material"][0], alert["level"], alert["rules"]) == ("Reference EV", "Reject", "1-2s, 2-2s")
    html = response.content.decode()
    assert "10 of 40 preparations" in html and "data-polling" in html
    assert "Recompute all" not in html  # staff are not lab admins
    assert rows(staff_client.get(DASHBOARD, {"export": "alerts"}))[1][-1] == "1-2s, 2-2s"


def test_lab_admin_starts_a_full_recompute(admin_client, lab, django_capture_on_commit_callbacks, compared):
    assert "Recompute all" in admin_client.get(DASHBOARD).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("evlims:dashboard-recompute"), {"lab": lab.pk})
    assert response.status_code == 302
    job = MetricJob.objects.get()
    job.refresh_from_db()
    assert (job.lab, job.kind, job.status, job.processed) == (lab, "full", "done", 4)  # eager Celery ran it
    status = admin_client.get(reverse("evlims:dashboard-job-status", args=[job.pk]))
    assert "Done" in status.content.decode() and "data-polling" not in status.content.decode()


def test_staff_cannot_start_a_recompute(staff_client, lab):
    response = staff_client.post(reverse("evlims:dashboard-recompute"), {"lab": lab.pk}, follow=True)
    assert "Only a lab admin" in response.content.decode() and not MetricJob.objects.exists()


def test_job_status_of_another_lab_is_404(staff_client, other_lab):
    job = MetricJob.objects.create(lab=other_lab, kind=MetricJob.Kind.FULL)
    assert staff_client.get(reverse("evlims:dashboard-job-status", args=[job.pk])).status_code == 404


def test_dashboard_and_comparison_are_flat(staff_client, project, staff, lab, material):
    recent = timezone.now() - timedelta(days=2)

    def add(count):
        for index in range(count):
            method = ("sec", "uc")[index % 2]
            prep = preparation(project, staff, method=method, started_at=recent, particles_per_ug=1e10 + index)
            Review.objects.create(lab=lab, preparation=prep, submitted_by=staff, submitted_at=recent)
            size_bins(prep, [(100, 1e9), (200, 1e9)])
        control_run(project, staff, material.samples.get(), [1e10] * count)

    add(2)
    ids = list(material.samples.get().aliquots.values_list("preparations", flat=True)[:2])
    params = {"overlay": ids, "group": "operator"}
    small = [queries_for(staff_client, DASHBOARD), queries_for(staff_client, COMPARISON, params)]
    small.append(queries_for(staff_client, CONTROLS))
    add(12)
    large = [queries_for(staff_client, DASHBOARD), queries_for(staff_client, COMPARISON, params)]
    large.append(queries_for(staff_client, CONTROLS))
    assert small == large


def test_navbar_links_to_the_dashboard(staff_client):
    html = staff_client.get(reverse("evlims:sample-list")).content.decode()
    assert f'href="{DASHBOARD}">Dashboard</a>' in html
