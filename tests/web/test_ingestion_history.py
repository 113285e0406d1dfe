"""The ingestion page lists every result the file or post produced, superseded and voided ones too: labelled with
their status, who and why, struck through, and linked to the version that stands for them now."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from evlims.characterization.corrections import result_correct, result_void
from evlims.characterization.selectors import ingestion_results
from evlims.instruments import services as instrument_services
from tests.api.evidence import marker, protein
from tests.web.test_unproduced_count_nowhere import make_run, sec_version  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def posted(staff, lab, project, sec_version):  # noqa: F811
    """A post of three results on one produced preparation: a protein count, CD63 and CD9."""
    prep = make_run(staff, project, sec_version, count=1).preparations.get()
    documents = [protein(prep.barcode), marker(prep.barcode, "CD63"), marker(prep.barcode, "CD9")]
    ingestion, _ = instrument_services.results_ingest(actor=staff, lab=lab, documents=documents)
    return ingestion, list(ingestion.measurements.order_by("id"))


def row_of(html, measurement) -> str:
    match = re.search(rf'<tr id="ingestion-result-{measurement.pk}".*?</tr>', html, re.S)
    assert match, f"no row for #{measurement.pk}"
    return match.group(0)


def test_the_page_lists_corrected_and_voided_results_with_the_current_version(client, staff, posted):
    ingestion, (count, cd63, cd9) = posted
    corrected = protein(count.preparation.barcode) | {"protein": {"assay": "bca", "concentration_ug_per_ml": 125.0}}
    first = result_correct(actor=staff, measurement=count, document=corrected, reason="Dilution not applied")
    again = corrected | {"protein": {"assay": "bca", "concentration_ug_per_ml": 130.0}}
    second = result_correct(actor=staff, measurement=first, document=again, reason="Second reading typed")
    result_void(actor=staff, measurement=cd63, reason="Antibody lot recalled")
    client.force_login(staff)
    html = client.get(reverse("evlims:ingestion-detail", args=[ingestion.pk])).content.decode()
    assert "3 results recorded" in html
    superseded = row_of(html, count)
    assert "Superseded by a correction on" in superseded and "by staff: Dilution not applied" in superseded
    # The link goes to the version standing now, past the intermediate correction.
    assert reverse("evlims:result-detail", args=[second.pk]) in superseded
    assert f"Current version: #{second.pk}" in superseded and "<s>" in superseded
    voided = row_of(html, cd63)
    assert "Voided on" in voided and "Antibody lot recalled" in voided and "Current version" not in voided
    current = row_of(html, cd9)
    assert ">Current<" in current and "<s>" not in current


def test_a_correction_voided_later_leaves_no_current_version(staff, posted):
    ingestion, (count, _, _) = posted
    corrected = protein(count.preparation.barcode) | {"protein": {"assay": "bca", "concentration_ug_per_ml": 125.0}}
    first = result_correct(actor=staff, measurement=count, document=corrected, reason="Dilution not applied")
    result_void(actor=staff, measurement=first, reason="Wrong preparation altogether")
    [shown] = [m for m in ingestion_results(ingestion) if m.pk == count.pk]
    assert shown.status == "superseded" and shown.current_version is None


def test_the_history_is_read_in_two_queries(staff, posted):
    ingestion, (count, cd63, _) = posted
    with CaptureQueriesContext(connection) as few:
        ingestion_results(ingestion)
    corrected = protein(count.preparation.barcode) | {"protein": {"assay": "bca", "concentration_ug_per_ml": 125.0}}
    result_correct(actor=staff, measurement=count, document=corrected, reason="Dilution not applied")
    result_void(actor=staff, measurement=cd63, reason="Antibody lot recalled")
    with CaptureQueriesContext(connection) as many:
        results = ingestion_results(ingestion)
    assert len(few) == len(many) == 2 and len(results) == 3
