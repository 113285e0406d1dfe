"""The control page in the lab's words: provisional limits, geometric limits on a log axis, and the rules seen
across the control materials of one isolation run."""

import base64
import csv
import io
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from evlims.metrics.models import ControlMaterial
from tests.factories import SampleFactory, member
from tests.services.test_control_charts import control_run, preparation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def material_with_sample(lab, project, name, barcode, **fields):
    material = ControlMaterial.objects.create(lab=lab, name=name, **fields)
    material.samples.add(SampleFactory(project=project, barcode=barcode))
    return material


def test_the_page_says_limits_are_provisional_and_geometric_on_a_log_axis(staff_client, lab, project, staff):
    material = material_with_sample(lab, project, "Reference EV", "CTRL-1", baseline_points=20)
    control_run(project, staff, material.samples.get(), [8e9, 1.2e10, 9e9, 1.1e10, 1.0e10, 1.3e10, 9.5e9])
    response = staff_client.get(reverse("evlims:control-detail", args=[material.pk]))
    page = response.content.decode()
    assert "Provisional limits: estimated from 7 runs; 20 are needed." in page
    assert "the limits are geometric" in page and "never below 0" in page and "logarithmic" in page
    chart = response.context["chart"]
    assert chart.log_scale and min(chart.limits.values()) > 0
    image = base64.b64decode(response.context["chart_image"].split(",", 1)[1]).decode()
    assert "(provisional limits)" in image and "geometric mean" in image
    # A log axis: its tick labels are powers of ten (and their 1-2-5 multiples on a short axis).
    assert re.search(r">(\d×)?10¹⁰<", image)
    shown = re.sub(r"<[^>]+>", " ", page.split("<main", 1)[-1].split("</main>", 1)[0])
    for raw in ("particles_per_ug", "within_level", "across_levels", "None", "nan"):
        assert raw not in shown
    rows = list(
        csv.reader(
            io.StringIO(
                staff_client.get(response.request["PATH_INFO"], {"export": "westgard"}).content.decode("utf-8-sig")
            )
        )
    )
    assert rows[0][-1] == "Limits" and rows[1][-3:] == ["Baseline", "", "Provisional"]


def test_the_list_names_provisional_limits(staff_client, lab, project, staff):
    material = material_with_sample(lab, project, "Reference EV", "CTRL-1", baseline_points=5)
    control_run(project, staff, material.samples.get(), [8e9, 1.2e10, 9e9])
    page = staff_client.get(reverse("evlims:control-list")).content.decode()
    assert "Provisional limits: estimated from 3 runs; 20 are needed." in page


def test_r_4s_across_two_materials_of_one_run_is_shown_with_both_preparations(staff_client, lab, project, staff):
    low = material_with_sample(
        lab, project, "Low EV", "CTRL-L", target_mean_particles_per_ug=1e10, target_sd_particles_per_ug=1e9
    )
    high = material_with_sample(
        lab, project, "High EV", "CTRL-H", target_mean_particles_per_ug=1e11, target_sd_particles_per_ug=1e10
    )
    first = preparation(project, staff, sample=low.samples.get(), particles_per_ug=1.3e10)  # about +2.6 SD
    second = preparation(project, staff, sample=high.samples.get(), run=first.run, particles_per_ug=0.8e11)
    response = staff_client.get(reverse("evlims:control-detail", args=[high.pk]))
    [row] = response.context["tables"]["westgard"].rows
    assert row["level"] == "Reject" and row["rules"] == "1-2s, R-4s (across levels within one run)"
    [violation] = [v for v in response.context["tables"]["violations"].rows if v["rule"] == "R-4s"]
    assert violation["scope"] == "across levels within one run" and violation["run_code"] == first.run.code
    assert violation["preparations"] == ", ".join(sorted([first.barcode, second.barcode]))
    page = response.content.decode()
    assert "Rules broken, with the points involved" in page and first.barcode in page


def test_the_material_form_explains_provisional_limits_and_log_targets(client, lab):
    admin = member(lab, "lab_admin", username="admin")
    client.force_login(admin)
    page = client.get(reverse("evlims:control-create")).content.decode()
    assert "CLSI C24 ask for at least 20" in page and "the limits are provisional" in page
    assert "geometric mean" in page
