"""GET /control-materials/ (lab-scoped) and /control-materials/<id>/chart/?figure=: what the control page shows,
for scripts: points with z-scores, verdicts and the Westgard rules broken (scope and points involved), geometric
limits on a log10 scale, the provisional baseline; 400 naming figure, 404 for another lab's material. PATCH of a
material's targets, baseline and samples with a reason (audited), 400 naming the field, 403 for staff."""

import pytest
import yaml
from django.core.management import call_command

from evlims.core.models import AuditEvent
from evlims.metrics.models import ControlMaterial
from tests.control_world import BASELINE, LOW, two_levels
from tests.factories import SampleFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/control-materials/"


@pytest.fixture
def world(lab, project, staff):
    return two_levels(lab, project, staff)


@pytest.fixture
def foreign(other_lab, outsider):
    return ControlMaterial.objects.create(lab=other_lab, name="Their reference")


def chart(client, material, figure=None):
    query = f"?figure={figure}" if figure else ""
    response = client.get(f"{API}{material.pk}/chart/{query}")
    assert response.status_code == 200, response.json()
    return response.json()


def test_the_list_shows_the_labs_materials_only(staff_api, world, foreign):
    body = staff_api.get(API).json()
    assert body["count"] == 2
    assert {row["name"] for row in body["results"]} == {"Low EV reference", "High EV reference"}
    low = next(row for row in body["results"] if row["name"] == "Low EV reference")
    assert low["samples"] == ["CTRL-LOW"] and low["baseline_points"] == BASELINE
    assert "provisional, 20 are needed" in low["baseline_note"]


def test_the_chart_gives_points_geometric_limits_and_a_provisional_baseline(staff_api, world):
    body = chart(staff_api, world.high)
    assert body["figure"] == "particles_per_ug" and body["scale"] == "log10" and body["unit"]
    assert "Geometric limits" in body["limits_explained"]
    [series] = body["series"]
    assert series["baseline"] == {
        "provisional": True,
        "points": BASELINE,
        "needed": 20,
        "assigned": False,
        "note": f"Provisional limits: estimated from {BASELINE} runs; 20 are needed.",
    }
    limits = series["limits"]
    assert limits["source"] == f"estimated from the first {BASELINE} points"
    assert 0 < limits["minus_3sd"] < limits["minus_1sd"] < limits["mean"] < limits["plus_1sd"] < limits["plus_3sd"]
    assert limits["mean"] == pytest.approx(10 ** limits["log10_mean"])
    points = series["points"]
    assert len(points) == BASELINE + 1 and [p["sequence"] for p in points] == list(range(1, BASELINE + 2))
    assert all(not p["judged"] and p["verdict"] is None and p["verdict_label"] == "Baseline" for p in points[:-1])
    last = points[-1]
    assert last["preparation"] == world.last_high.barcode and last["run"] == world.last_high.run.code
    assert last["judged"] and last["verdict"] == "reject" and last["z_score"] < -3
    r4s = next(v for v in last["violations"] if v["rule"] == "R-4s")
    assert r4s == {
        "rule": "R-4s",
        "scope": "within_run",
        "scope_label": "across levels within one run",
        "severity": "reject",
        "run": world.last_high.run.code,
        "points": sorted([world.last_low.barcode, world.last_high.barcode]),
    }
    assert r4s in series["violations"]


def test_a_figure_no_preparation_has_yet(staff_api, world):
    body = chart(staff_api, world.low, "particle_yield_per_ml_input")
    assert body["scale"] == "log10"  # particle yield is log-normal too
    [series] = body["series"]
    assert series["limits"] is None and series["points"] == []
    assert series["problem"] == "No preparation of this material has the figure yet."
    assert series["missing_figure"] == len(LOW) + 1


def test_an_assigned_target_is_not_provisional(staff_api, world):
    ControlMaterial.objects.filter(pk=world.low.pk).update(
        target_mean_particles_per_ug=1e10, target_sd_particles_per_ug=1e9
    )
    [series] = chart(staff_api, world.low)["series"]
    assert series["baseline"]["assigned"] and not series["baseline"]["provisional"]
    assert series["baseline"]["points"] == 0 and series["limits"]["source"] == "assigned to the material"


@pytest.mark.parametrize("figure", ["purity", "particles_per_ug;drop", "PARTICLES_PER_UG"])
def test_an_unknown_figure_is_a_400_naming_it(staff_api, world, figure):
    response = staff_api.get(f"{API}{world.low.pk}/chart/", {"figure": figure})
    assert response.status_code == 400
    assert list(response.json()) == ["figure"] and "particles_per_ug" in response.json()["figure"][0]


def test_another_labs_material_is_a_404(staff_api, foreign):
    assert staff_api.get(f"{API}{foreign.pk}/").status_code == 404
    assert staff_api.get(f"{API}{foreign.pk}/chart/").status_code == 404
    assert (
        staff_api.patch(f"{API}{foreign.pk}/", {"reason": "x", "baseline_points": 9}, format="json").status_code == 404
    )


def test_patch_changes_targets_baseline_and_samples_with_a_reason(admin_api, world, project):
    extra = SampleFactory(project=project, barcode="CTRL-LOW-2")
    body = {
        "baseline_points": 20,
        "sample_barcodes": ["CTRL-LOW", extra.barcode],
        "reason": "Second lot of the reference added",
    }
    response = admin_api.patch(f"{API}{world.low.pk}/", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["baseline_points"] == 20 and response.json()["samples"] == ["CTRL-LOW", "CTRL-LOW-2"]
    assert "provisional until 20 runs are in" in response.json()["baseline_note"]
    event = AuditEvent.objects.get(action="control_material.update")
    assert event.reason == "Second lot of the reference added"
    assert event.changes == {
        "baseline_points": [BASELINE, 20],
        "samples": [["CTRL-LOW"], ["CTRL-LOW", "CTRL-LOW-2"]],
    }
    # Six points, all of them baseline now: the chart follows what was saved.
    [series] = chart(admin_api, world.low)["series"]
    assert series["baseline"]["points"] == len(LOW) + 1 and series["baseline"]["provisional"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"baseline_points": 20}, "reason"),
        ({"reason": "  ", "baseline_points": 20}, "reason"),
        ({"reason": "targets", "target_mean_particles_per_ug": 1e10}, "target_sd_particles_per_ug"),
        ({"reason": "targets", "target_mean_particles_per_ug": -1, "target_sd_particles_per_ug": 1}, None),
        ({"reason": "baseline", "baseline_points": 1}, "baseline_points"),
        ({"reason": "samples", "sample_barcodes": ["NOPE-1"]}, "sample_barcodes"),
        ({"reason": "typo", "colour": "red"}, "colour"),
        ({"reason": "nothing"}, "non_field_errors"),
        ({"reason": "same", "baseline_points": BASELINE}, "non_field_errors"),
    ],
)
def test_patch_refusals_name_the_field_and_write_nothing(admin_api, world, body, field):
    response = admin_api.patch(f"{API}{world.low.pk}/", body, format="json")
    assert response.status_code == 400, response.json()
    if field:
        assert field in response.json(), response.json()
    else:
        assert "target_mean_particles_per_ug" in response.json()
    assert not AuditEvent.objects.filter(action="control_material.update").exists()
    world.low.refresh_from_db()
    assert world.low.baseline_points == BASELINE and world.low.target_mean_particles_per_ug is None


def test_staff_may_read_but_not_change(staff_api, world):
    response = staff_api.patch(f"{API}{world.low.pk}/", {"reason": "x", "baseline_points": 20}, format="json")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="control_material.update").exists()


def test_the_schema_documents_the_chart_with_an_example(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--file", str(target))  # warnings: tests/api/test_schema.py
    schema = yaml.safe_load(target.read_text())
    operation = schema["paths"]["/api/v1/control-materials/{id}/chart/"]["get"]
    figure = next(p for p in operation["parameters"] if p["name"] == "figure")
    assert set(figure["schema"]["enum"]) == {"particles_per_ug", "particle_yield_per_ml_input", "spike_recovery_pct"}
    content = operation["responses"]["200"]["content"]["application/json"]
    [example] = content["examples"].values()
    assert example["value"]["series"][0]["baseline"]["provisional"] is True
    assert example["value"]["scale"] == "log10"
    assert "patch" in schema["paths"]["/api/v1/control-materials/{id}/"]
    assert "/api/v1/control-materials/" in schema["paths"]
