"""The preparation list and page: identity, results by kind, size distribution, metrics with provenance and
reasons for absent figures, compliance summary, lab scoping and flat query counts."""

import base64

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from evlims.characterization.services import record_results
from evlims.compliance.services import evaluate_preparations
from evlims.instruments.services import results_ingest
from evlims.metrics.services import recompute
from evlims.web.reports.plots import Series, coarse_table, size_distribution_svg
from tests.factories import ProjectFactory

from .test_results import make_preparation


@pytest.fixture
def member_client(client, staff):
    client.force_login(staff)
    return client


def particle(barcode, *, concentration=2.0e11, bins=40, captures=3, computed=("size_mean_nm",)):
    return {
        "kind": "particle",
        "method": "nta",
        "preparation": barcode,
        "particle": {
            "technique": "nta",
            "name": f"{barcode} sample",
            "concentration_per_ml": concentration,
            "instrument_average_concentration_per_ml": concentration * 1.01,
            "dilution_factor": 100,
            "dilution_applied_in_file": True,
            "size_mean_nm": 121.5,
            "size_mode_nm": 98.25,
            "d50_nm": 110.0,
            "computed": list(computed),
            "captures": [
                {"name": f"capture {n}", "concentration_per_ml": concentration, "valid": n != 0}
                for n in range(captures)
            ],
            "histogram": {
                "bin_center_nm": [10.0 * n + 5 for n in range(bins)],
                "concentration_per_ml": [float(1000 + n) for n in range(bins)],
            },
        },
    }


def protein(barcode, value=50.0):
    return {
        "kind": "protein",
        "method": "bca",
        "preparation": barcode,
        "protein": {"assay": "bca", "concentration_ug_per_ml": value},
    }


def marker(barcode, symbol="CD63", detected=True):
    return {
        "kind": "marker",
        "method": "western_blot",
        "preparation": barcode,
        "marker": {"protein": symbol, "detected": detected, "antibody": {"clone": "H5C6", "dilution": "1:1000"}},
    }


def record(actor, lab, *documents):
    return record_results(actor=actor, lab=lab, documents=list(documents))


def page_of(client, preparation):
    response = client.get(reverse("evlims:preparation-detail", args=[preparation.pk]))
    assert response.status_code == 200
    return response


def test_page_shows_identity_and_results_grouped_by_kind(member_client, staff, lab, project):
    prep = make_preparation(staff, project, "EVP-P1", final_volume_ul=100)
    record(staff, lab, particle("EVP-P1"), protein("EVP-P1"), marker("EVP-P1"), marker("EVP-P1", "ALB", False))
    record(
        staff,
        lab,
        {
            "kind": "lipid",
            "method": "spv",
            "preparation": "EVP-P1",
            "analyte": {"assay": "SPV", "value": 12.5, "unit": "nmol/mL"},
        },
    )
    html = page_of(member_client, prep).content.decode()
    sample = prep.input_aliquot.sample
    for text in ("EVP-P1", "RUN-EVP-P1", sample.barcode, prep.input_aliquot.barcode, "500.0 µL", "100.0 µL"):
        assert text in html
    for section in ("results-particle", "results-protein", "results-marker", "results-lipid"):
        assert f'id="{section}"' in html
    assert 'id="results-imaging"' not in html
    assert "2 × 10¹¹" in html and "121.5" in html and "×100, already applied by the instrument" in html
    assert html.count(">computed</span>") == 1  # only the mean was computed
    assert "3 (1 invalid)" in html and "<strong>invalid</strong>: left out of the mean" in html
    assert "CD63" in html and "Detected" in html and "ALB" in html and "Not detected" in html
    assert "12.5 nmol/mL" in html
    assert "data:image/svg+xml;base64," in html and "Size distribution as a table" in html


def test_marker_categories_come_from_the_misev_vocabulary(member_client, staff, lab, project):
    prep = make_preparation(staff, project, "EVP-P2")
    unknown = marker("EVP-P2", "MADEUP1")
    unknown["marker"]["protein_confirmed"] = True  # outside the vocabulary on purpose: recorded as typed
    record(staff, lab, marker("EVP-P2", "cd63"), unknown)
    html = page_of(member_client, prep).content.decode()
    assert "1a" in html and "not in the MISEV vocabulary" in html


def test_absent_figures_are_dashes_with_the_reason_never_zero(member_client, staff, lab, project):
    prep = make_preparation(staff, project, "EVP-P3")  # no final volume
    record(staff, lab, particle("EVP-P3"))
    recompute([prep.pk])
    response = page_of(member_client, prep)
    rows = {row["figure"]: row for row in response.context["metric_rows"]}
    assert rows["particle_yield_per_ml_input"]["value"] is None
    assert "final volume is not recorded" in rows["particle_yield_per_ml_input"]["why"]
    assert rows["particles_per_ug"]["why"] == "no protein concentration is recorded"
    assert rows["particle_yield_per_million_cells"]["why"] == "applies to conditioned cell-culture medium only"
    assert "has no particle count" in rows["recovery_pct"]["why"]
    assert rows["size_mode_nm"]["value"] == "98.2"
    # bins centred 5…395 nm holding 1000…1039: those below 200 nm hold 20190 of 40780
    assert rows["small_ev_fraction"]["value"] == "49.5"
    html = response.content.decode()
    row = html.split('id="metric-particle_yield_per_ml_input"')[1].split("</tr>")[0]
    assert "—" in row and "final volume is not recorded" in row and ">0<" not in row


def test_metrics_link_to_the_results_they_came_from(member_client, staff, lab, project):
    prep = make_preparation(staff, project, "EVP-P4", final_volume_ul=100)
    particle_result, protein_result = record(staff, lab, particle("EVP-P4", concentration=4.0e12), protein("EVP-P4"))
    recompute([prep.pk])
    response = page_of(member_client, prep)
    rows = {row["figure"]: row for row in response.context["metric_rows"]}
    assert rows["particles_per_ug"]["value"] == "8 × 10¹⁰"
    assert {s["id"] for s in rows["particles_per_ug"]["sources"]} == {particle_result.pk, protein_result.pk}
    assert rows["particle_yield_per_ml_input"]["value"] == "8 × 10¹¹"
    html = response.content.decode()
    assert f'href="#measurement-{particle_result.pk}"' in html and f'id="measurement-{protein_result.pk}"' in html
    # plasma without an APOB/APOA1 readout: the ratio cannot be classed
    assert "Not interpretable" in html


def test_metrics_not_computed_yet_say_so(member_client, staff, project):
    prep = make_preparation(staff, project, "EVP-P5")
    rows = page_of(member_client, prep).context["metric_rows"]
    assert all(row["value"] is None for row in rows)
    assert {row["why"] for row in rows} == {"not computed yet: figures are computed after results are recorded"}


def test_compliance_summary_shows_score_and_failing_mandatory_rules(member_client, staff, lab, project):
    prep = make_preparation(staff, project, "EVP-P6", final_volume_ul=100)
    record(staff, lab, particle("EVP-P6"))
    assert page_of(member_client, prep).context["compliance"] is None
    evaluate_preparations([prep.pk])
    prep.refresh_from_db()
    response = page_of(member_client, prep)
    summary = response.context["compliance"]
    assert summary["score"] == prep.evaluation.ev_metric_pct
    assert len(summary["failing"]) == prep.evaluation.mandatory_failed > 0
    html = response.content.decode()
    assert f"{prep.evaluation.ev_metric_pct} %" in html
    assert summary["failing"][0]["id"] in html


def test_writers_get_result_links_and_readers_do_not(member_client, client, staff, project, qa_manager):
    prep = make_preparation(staff, project, "EVP-P7")
    html = page_of(member_client, prep).content.decode()
    assert reverse("evlims:result-new", args=[prep.pk, "marker"]) in html
    assert f"{reverse('evlims:blot-new')}?preparation={prep.pk}" in html  # a blot starts with this lane
    assert reverse("evlims:result-paste") in html
    client.force_login(qa_manager)
    html = page_of(client, prep).content.decode()
    assert 'id="add-result"' not in html


def test_another_labs_preparation_is_not_found(member_client, outsider, other_lab):
    foreign = make_preparation(outsider, ProjectFactory(lab=other_lab, code="F"), "EVP-FOREIGN")
    for url in (
        reverse("evlims:preparation-detail", args=[foreign.pk]),
        reverse("evlims:result-new", args=[foreign.pk, "marker"]),
    ):
        response = member_client.get(url)
        assert response.status_code == 404 and b"EVP-FOREIGN" not in response.content
    listing = member_client.get(reverse("evlims:preparation-list")).content.decode()
    assert "EVP-FOREIGN" not in listing


def test_list_filters_by_run_biofluid_and_method(member_client, staff, project):
    plasma = make_preparation(staff, project, "EVP-L1")
    urine = make_preparation(staff, project, "EVP-L2", biofluid="urine")
    same_run = make_preparation(staff, project, "EVP-L3", run=plasma.run)
    urine.run.method = "uc"
    urine.run.save()
    url = reverse("evlims:preparation-list")

    def listed(params):
        response = member_client.get(url, params)
        assert response.status_code == 200
        return {prep.barcode for prep in response.context["page"]}

    assert listed({}) == {"EVP-L1", "EVP-L2", "EVP-L3"}
    assert listed({"run": plasma.run_id}) == {"EVP-L1", same_run.barcode}
    assert listed({"biofluid": "urine"}) == {"EVP-L2"}
    assert listed({"method": "uc"}) == {"EVP-L2"}
    assert listed({"method": "sec", "biofluid": "blood_plasma"}) == {"EVP-L1", "EVP-L3"}
    refused = member_client.get(url, {"method": "no-such-method"})
    assert refused.context["page"] is None and "method" in refused.context["form"].errors


def test_list_shows_counts_purity_and_score(member_client, staff, lab, project):
    prep = make_preparation(staff, project, "EVP-L4", final_volume_ul=100)
    record(staff, lab, particle("EVP-L4"), protein("EVP-L4"), marker("EVP-L4"), marker("EVP-L4", "TSG101"))
    recompute([prep.pk])
    evaluate_preparations([prep.pk])
    response = member_client.get(reverse("evlims:preparation-list"))
    row = response.context["page"][0]
    assert (row.particle_count, row.protein_count, row.marker_count, row.imaging_count) == (1, 1, 2, 0)
    assert row.purity_label == "Not interpretable"
    html = response.content.decode()
    assert "particle 1 · protein 1 · marker 2 · imaging 0" in html and f"{row.ev_metric_pct} %" in html


def test_list_is_paginated(member_client, staff, project, settings):
    settings.EVLIMS = {"PAGE_SIZE": 2}
    for n in range(3):
        make_preparation(staff, project, f"EVP-G{n}")
    first = member_client.get(reverse("evlims:preparation-list"), {"biofluid": "blood_plasma"})
    assert len(first.context["page"]) == 2 and "Page 1 of 2" in first.content.decode()
    assert "biofluid=blood_plasma&amp;page=2" in first.content.decode()


# ---------------------------------------------------------------- query counts


def queries_for(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured)


def add_preparations(staff, lab, project, start, count):
    for n in range(start, start + count):
        barcode = f"EVP-Q{n}"
        make_preparation(staff, project, barcode, final_volume_ul=100)
        record(staff, lab, particle(barcode), protein(barcode), marker(barcode))
    recompute([p for p in range(1, 10_000)])


def test_preparation_list_is_flat(member_client, staff, lab, project):
    url = reverse("evlims:preparation-list")
    add_preparations(staff, lab, project, 0, 2)
    small = queries_for(member_client, url), queries_for(member_client, url, {"biofluid": "blood_plasma"})
    add_preparations(staff, lab, project, 2, 8)
    large = queries_for(member_client, url), queries_for(member_client, url, {"biofluid": "blood_plasma"})
    assert small == large


def test_preparation_page_is_flat(member_client, staff, lab, project):
    prep = make_preparation(staff, project, "EVP-F1", final_volume_ul=100)
    imaging = {"kind": "imaging", "method": "tem", "preparation": "EVP-F1", "imaging": {"technique": "tem"}}
    # every kind is present at both sizes: a kind's first result adds its prefetch, later ones add nothing
    record(staff, lab, particle("EVP-F1", captures=1, bins=5), protein("EVP-F1"), marker("EVP-F1"), imaging)
    recompute([prep.pk])
    evaluate_preparations([prep.pk])
    url = reverse("evlims:preparation-detail", args=[prep.pk])
    small = queries_for(member_client, url)
    record(
        staff,
        lab,
        *[particle("EVP-F1", captures=6, bins=80) for _ in range(3)],
        *[marker("EVP-F1", symbol) for symbol in ("TSG101", "ALB", "APOA1", "CD81")],
        protein("EVP-F1", 70.0),
        imaging,
        imaging,
        {
            "kind": "rna",
            "method": "qubit",
            "preparation": "EVP-F1",
            "analyte": {"assay": "Qubit RNA HS", "value": 3.5, "unit": "ng/µL"},
        },
    )
    recompute([prep.pk])
    evaluate_preparations([prep.pk])
    assert queries_for(member_client, url) == small


def test_ingestion_list_is_flat(member_client, staff, lab, project):
    url = reverse("evlims:ingestion-list")
    make_preparation(staff, project, "EVP-I1")
    posts = [results_ingest(actor=staff, lab=lab, documents=[marker("EVP-I1")]) for _ in range(2)]
    small = queries_for(member_client, url)
    posts += [results_ingest(actor=staff, lab=lab, documents=[marker("EVP-I1"), protein("EVP-I1")]) for _ in range(6)]
    assert queries_for(member_client, url) == small
    detail = member_client.get(reverse("evlims:ingestion-detail", args=[posts[-1][0].pk])).content.decode()
    assert "2 results recorded" in detail and 'id="posted-as-json"' in detail and 'id="mapping-form"' not in detail


# ---------------------------------------------------------------- plots


def decoded(uri: str) -> str:
    assert uri.startswith("data:image/svg+xml;base64,")
    return base64.b64decode(uri.split(",", 1)[1]).decode()


def test_plot_is_an_svg_image_drawn_once_per_content():
    cache.clear()
    series = [Series("a", [5.0, 15.0, 25.0], [1.0, 3.0, 2.0])]
    first = size_distribution_svg(series)
    assert first == size_distribution_svg(series)
    svg = decoded(first)
    assert svg.lstrip().startswith("<?xml") and "small EVs &lt; 200 nm" in svg and "Size (nm, bin centre)" in svg
    assert size_distribution_svg([Series("empty", [], [])]) is None


def test_plot_series_differ_by_line_style_and_names_stay_text():
    svg = decoded(
        size_distribution_svg(
            [Series("<script>alert(1)</script>", [5.0, 15.0], [1.0, 2.0]), Series("second", [5.0, 15.0], [2.0, 1.0])]
        )
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "stroke-dasharray" in svg  # the second series is dashed, not only another colour


def test_distribution_table_sums_ranges_and_drops_the_empty_tail():
    table = coarse_table([10.0, 40.0, 60.0, 160.0, 420.0], [1.0, 1.0, 2.0, 4.0, 0.0], width_nm=50)
    assert [(row["from_nm"], row["concentration_per_ml"]) for row in table] == [
        (0, 2.0),
        (50, 2.0),
        (100, 0.0),
        (150, 4.0),
    ]
    assert [round(row["percent"]) for row in table] == [25, 25, 0, 50]
    assert coarse_table([10.0], [0.0]) == []
