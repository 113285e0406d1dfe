"""Before a manifest is committed, its preview shows the quality flags the samples will carry (hemolysis,
platelets, spins, delays); after, "See the samples" lists the samples of that import only."""

from decimal import Decimal

import pytest
from django.urls import reverse

from evlims.samples import services
from evlims.samples.models import Sample
from evlims.samples.services import manifests

from .conftest import checked_upload, csv_bytes

pytestmark = pytest.mark.django_db

HEADER = ["barcode", "biofluid", "volume_ml", "anticoagulant", "hemolysis_a414", "prep_spin_count"]
ROWS = [
    ["PL-H1", "blood_plasma", "4", "K2-EDTA", "0.4", "2"],
    ["PL-OK", "blood_plasma", "4", "K2-EDTA", "0.02", "2"],
    ["PL-S1", "blood_plasma", "4", "K2-EDTA", "", "1"],
]


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def test_preview_shows_the_quality_flags_before_commit(staff_client, staff, project):
    manifest = checked_upload(staff, project, csv_bytes([HEADER, *ROWS]))
    page = staff_client.get(reverse("evlims:import-detail", args=[manifest.pk])).content.decode()
    assert 'id="import-preview"' in page and 'id="import-quality"' in page
    quality = page[page.index('id="import-quality"') :]
    assert "A414 0.4 suggests strong hemolysis" in quality
    assert "Plasma spun 1×" in quality
    assert "PL-H1" in quality and "PL-S1" in quality and "PL-OK" not in quality
    assert "2 samples will carry quality flags" in quality
    assert not Sample.objects.exists()


def test_see_the_samples_lists_the_samples_of_the_import_only(staff_client, staff, project, outsider):
    earlier = services.sample_register(actor=staff, project=project, biofluid="serum", volume_ml=Decimal("1"))
    manifest = checked_upload(staff, project, csv_bytes([HEADER, *ROWS]))
    manifests.manifest_commit(manifest=manifest, actor=staff)
    other = checked_upload(staff, project, csv_bytes([HEADER, ["PL-X9", "serum", "2", "", "", ""]]), "b.csv")
    manifests.manifest_commit(manifest=other, actor=staff)

    page = staff_client.get(reverse("evlims:import-detail", args=[manifest.pk])).content.decode()
    link = f"{reverse('evlims:sample-list')}?import={manifest.pk}"
    assert f'href="{link}"' in page
    listed = staff_client.get(link)
    barcodes = {sample.barcode for sample in listed.context["page"]}
    assert barcodes == {"PL-H1", "PL-OK", "PL-S1"} and earlier.barcode not in barcodes
    assert f"import #{manifest.pk}" in listed.content.decode()


def test_import_filter_is_lab_scoped_and_checked(client, staff, project, outsider):
    manifest = checked_upload(staff, project, csv_bytes([HEADER, *ROWS]))
    manifests.manifest_commit(manifest=manifest, actor=staff)
    client.force_login(outsider)
    assert client.get(f"{reverse('evlims:sample-list')}?import={manifest.pk}").status_code == 404
    client.force_login(staff)
    bad = client.get(f"{reverse('evlims:sample-list')}?import=abc")
    assert bad.status_code == 400 and "import" in bad.content.decode()
