"""Every list page: search, sortable headers kept by keyset paging, and CSV/Excel export of every filtered row.

Exports are compared with the rows the list itself shows, page after page; chunks are made small so that an
export crosses several of them.
"""

import csv
import datetime as dt
import html
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from evlims.instruments.models import Ingestion
from evlims.isolation.models import EVPreparation, IsolationRun
from evlims.samples.models import Donor, Sample
from tests.factories import DonorFactory, ProjectFactory
from tests.run_states import completed_run_fields

from .conftest import register_sample
from .test_results import make_preparation

pytestmark = pytest.mark.django_db

NEXT_LINK = re.compile(r'<a class="page-link" href="\?([^"]*)"[^>]*>Next</a>')
T0 = timezone.make_aware(dt.datetime(2025, 3, 1, 8, 0))


@pytest.fixture
def small_pages(settings, monkeypatch):
    """Pages of 2 rows, cursor links from the first page on, export chunks of 3 rows."""
    settings.EVLIMS = {"PAGE_SIZE": 2}
    monkeypatch.setattr("evlims.web.views.common.NUMBERED_PAGES", 1)
    monkeypatch.setattr("evlims.web.exports.EXPORT_CHUNK", 3)


def shown(client, url, query="") -> list[int]:
    """Ids of every row the list shows, following its Next links (cursors) from the first page."""
    seen = []
    for _ in range(50):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 200, response.content.decode()[:300]
        seen.extend(row.pk for row in response.context["page"].object_list)
        following = NEXT_LINK.search(response.content.decode())
        if following is None:
            return seen
        query = html.unescape(following.group(1))
        assert "after=" in query
    raise AssertionError("the Next links never end")


def csv_rows(client, url, query="") -> list[list[str]]:
    response = client.get(f"{url}?{query}&export=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def xlsx_rows(client, url, query="") -> list[tuple]:
    response = client.get(f"{url}?{query}&export=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    return list(sheet.iter_rows(values_only=True))


# ---------------------------------------------------------------------- data


@pytest.fixture
def samples(staff, project):
    """7 samples collected at distinct times, barcodes out of time order; two are hemolysed."""
    made = []
    for n, minutes in enumerate([30, 10, 50, 20, 60, 40, 0]):
        a414 = Decimal("0.5") if n in (1, 4) else Decimal("0.01")
        sample = register_sample(
            staff, project, barcode=f"S-{(n * 3) % 7}", external_id=f"EXT-{n}", hemolysis_a414=a414
        )
        Sample.objects.filter(pk=sample.pk).update(collected_at=T0 + dt.timedelta(minutes=minutes))
        made.append(sample)
    return made


@pytest.fixture
def foreign(outsider, other_lab):
    """A sample, donor, run and preparation of another lab, all matching the searches used here."""
    project = ProjectFactory(lab=other_lab, code="FOREIGN")
    DonorFactory(lab=other_lab, project=project, code="D-FOREIGN")
    register_sample(outsider, project, barcode="S-FOREIGN", hemolysis_a414=Decimal("0.9"))
    return make_preparation(outsider, project, "EV-FOREIGN")


@pytest.fixture
def preparations(staff, project):
    """6 preparations, the run codes in the reverse order of the barcodes; registered a minute apart."""
    made = []
    for n in range(6):
        run = IsolationRun.objects.create(
            lab=project.lab,
            project=project,
            code=f"RUN-{9 - n}",
            protocol_name="SEC qEV",
            method="sec",
            operator=staff,
            **completed_run_fields(),
        )
        prep = make_preparation(staff, project, f"EV-{n}", run=run, final_volume_ul=100 + n)
        EVPreparation.objects.filter(pk=prep.pk).update(created_at=T0 + dt.timedelta(minutes=n))
        made.append(prep)
    for n in range(3):  # planned runs: not started (NULL), and planned at the same moment (a tie)
        IsolationRun.objects.create(
            lab=project.lab, project=project, code=f"RUN-P{n}", protocol_name="SEC qEV", method="sec", operator=staff
        )
    IsolationRun.objects.filter(code__startswith="RUN-P").update(created_at=T0)
    return made


def db_order(queryset, *ordering) -> list[int]:
    return list(queryset.order_by(*ordering).values_list("pk", flat=True))


# ---------------------------------------------------------------------- sorting


SORTS = [
    ("evlims:sample-list", Sample, {"barcode": "barcode", "collected": "collected_at"}),
    ("evlims:preparation-list", EVPreparation, {"barcode": "barcode", "registered": "created_at"}),
    ("evlims:run-list", IsolationRun, {"code": "code", "planned": "created_at", "started": "started_at"}),
]


@pytest.mark.parametrize(("route", "model", "sorts"), SORTS)
def test_each_sort_both_ways_walks_every_row_once_in_order(
    member_client, small_pages, samples, preparations, foreign, route, model, sorts
):
    url = reverse(route)
    mine = model.objects.exclude(lab__slug="other-lab")
    for key, field in sorts.items():
        for sign in ("", "-"):
            expected = db_order(mine, f"{sign}{field}", f"{sign}id")
            assert shown(member_client, url, f"sort={sign}{key}") == expected, f"{route} sort={sign}{key}"


def test_donor_and_ingestion_lists_sort_both_ways(member_client, small_pages, staff, lab, project, foreign):
    for n in (3, 1, 4, 0, 2):
        DonorFactory(lab=lab, project=project, code=f"D-{n}")
        Ingestion.objects.create(lab=lab, submitted_by=staff, status=Ingestion.Status.COMMITTED)
    donors = Donor.objects.filter(lab=lab)
    assert shown(member_client, reverse("evlims:donor-list"), "sort=code") == db_order(donors, "code", "id")
    assert shown(member_client, reverse("evlims:donor-list"), "sort=-code") == db_order(donors, "-code", "-id")
    ingestions = Ingestion.objects.filter(lab=lab)
    url = reverse("evlims:ingestion-list")
    assert shown(member_client, url, "sort=received") == db_order(ingestions, "created_at", "id")
    assert shown(member_client, url, "sort=-received") == db_order(ingestions, "-created_at", "-id")


def test_header_links_toggle_and_mark_the_sorted_column(member_client, samples):
    body = member_client.get(reverse("evlims:sample-list"), {"sort": "barcode", "biofluid": "blood_plasma"})
    text = body.content.decode()
    sorted_header = re.search(r'<th scope="col" aria-sort="ascending"><a href="\?([^"]*)"[^>]*>Barcode <span', text)
    assert sorted_header, "the barcode header carries aria-sort and its arrow"
    toggled = html.unescape(sorted_header.group(1))
    assert "sort=-barcode" in toggled and "biofluid=blood_plasma" in toggled
    assert "▲" in text
    other = re.search(r'<th scope="col"><a href="\?([^"]*)"[^>]*>Collected</a>', text)
    assert other and "sort=-collected" in html.unescape(other.group(1))  # newest first on a first click
    descending = member_client.get(reverse("evlims:sample-list"), {"sort": "-barcode"}).content.decode()
    assert 'aria-sort="descending"' in descending and "▼" in descending


@pytest.mark.parametrize(
    "route",
    ["evlims:sample-list", "evlims:donor-list", "evlims:run-list", "evlims:preparation-list", "evlims:ingestion-list"],
)
@pytest.mark.parametrize("value", ["nonsense", "-", "id", "--barcode", "lab__name", "?", "collected_at"])
def test_an_unknown_sort_is_the_default_order(member_client, samples, preparations, route, value):
    response = member_client.get(reverse(route), {"sort": value})
    default = member_client.get(reverse(route))
    assert response.status_code == 200
    assert response.context["sort"].value == default.context["sort"].value
    assert [r.pk for r in response.context["page"]] == [r.pk for r in default.context["page"]]


def test_a_cursor_of_another_sort_is_a_400_page_not_a_500(member_client, small_pages, samples):
    first = member_client.get(reverse("evlims:sample-list"), {"sort": "barcode"}).context["page"]
    response = member_client.get(reverse("evlims:sample-list"), {"sort": "-collected", "after": first.next_cursor})
    assert response.status_code == 400


# ---------------------------------------------------------------------- search


def test_run_search_matches_code_protocol_and_operator_of_own_labs_only(member_client, staff, project, foreign):
    ran = dict(operator=staff, lab=project.lab, project=project, **completed_run_fields())
    by_code = IsolationRun.objects.create(code="SEC-2025-07", protocol_name="Ultracentrifugation", **ran)
    by_protocol = IsolationRun.objects.create(code="R-2", protocol_name="qEV original 70 nm", **ran)
    staff.first_name = "Marguerite"
    staff.save()
    foreign_run = foreign.run
    IsolationRun.objects.filter(pk=foreign_run.pk).update(code="SEC-2025-99", protocol_name="qEV original 70 nm")
    url = reverse("evlims:run-list")

    def found(q):
        return {run.pk for run in member_client.get(url, {"q": q}).context["page"]}

    assert found("sec-2025") == {by_code.pk}
    assert found("QEV ORIGINAL") == {by_protocol.pk}
    assert found("marguer") == {by_code.pk, by_protocol.pk}
    assert found("outsider") == set()
    assert found("no such run") == set()


def test_preparation_search_matches_barcode_run_and_sample_of_own_labs_only(member_client, preparations, foreign):
    url = reverse("evlims:preparation-list")

    def found(q):
        return {prep.barcode for prep in member_client.get(url, {"q": q}).context["page"]}

    assert found("ev-3") == {"EV-3"}
    assert found("RUN-9") == {"EV-0"}  # the run code
    sample_barcode = preparations[2].input_aliquot.sample.barcode
    assert found(sample_barcode) == {"EV-2"}
    assert found("FOREIGN") == set()
    assert len(found("EV-")) == 6


def test_search_is_combined_with_the_other_filters(member_client, preparations, staff, project):
    make_preparation(staff, project, "EV-SERUM", biofluid="serum")
    url = reverse("evlims:preparation-list")
    rows = member_client.get(url, {"q": "EV-", "biofluid": "serum"}).context["page"]
    assert [prep.barcode for prep in rows] == ["EV-SERUM"]


# ---------------------------------------------------------------------- export


def test_sample_export_holds_every_filtered_row_beyond_the_first_page(member_client, small_pages, samples, foreign):
    url, query = reverse("evlims:sample-list"), "flag=hemolysis&sort=barcode"
    expected = list(Sample.objects.filter(pk__in=[samples[1].pk, samples[4].pk]).order_by("barcode", "id"))
    assert shown(member_client, url, query) == [s.pk for s in expected]
    rows = csv_rows(member_client, url, query)
    assert rows[0][:3] == ["Barcode", "External id", "Biofluid"] and "Volume (mL)" in rows[0]
    assert [row[0] for row in rows[1:]] == [s.barcode for s in expected]
    flags = rows[0].index("Quality flags")
    assert all(row[flags] == "Strong hemolysis (A414)" for row in rows[1:])
    everything = csv_rows(member_client, url, "sort=-collected")
    mine = Sample.objects.filter(lab=samples[0].lab).order_by("-collected_at", "-id")
    assert [row[0] for row in everything[1:]] == [s.barcode for s in mine]  # 7 rows: 3 chunks of 3, 4 pages
    collected = everything[0].index("Collected")
    assert everything[1][collected] == timezone.localtime(mine[0].collected_at).isoformat(timespec="seconds")


def test_preparation_export_csv_and_xlsx_equal_the_filtered_list(member_client, small_pages, preparations, foreign):
    url, query = reverse("evlims:preparation-list"), "q=EV-&sort=-barcode"
    listed = EVPreparation.objects.filter(pk__in=shown(member_client, url, query))
    order = {pk: n for n, pk in enumerate(shown(member_client, url, query))}
    expected = sorted(listed, key=lambda prep: order[prep.pk])
    assert [prep.barcode for prep in expected] == [f"EV-{n}" for n in range(5, -1, -1)]
    rows = csv_rows(member_client, url, query)
    header = rows[0]
    assert header[:3] == ["Preparation", "State", "Run"] and "Final (µL)" in header and "EV-METRIC (%)" in header
    assert [row[0] for row in rows[1:]] == [prep.barcode for prep in expected]
    assert rows[1][header.index("Final (µL)")] == "105" and rows[1][header.index("Isolation method")] != "sec"
    sheet = xlsx_rows(member_client, url, query)
    assert list(sheet[0]) == header
    assert [row[0] for row in sheet[1:]] == [prep.barcode for prep in expected]
    final = header.index("Final (µL)")
    assert [row[final] for row in sheet[1:]] == [105, 104, 103, 102, 101, 100]  # numbers, not text
    registered = header.index("Registered")
    assert (
        sheet[1][registered]
        == rows[1][registered]
        == timezone.localtime(expected[0].created_at).isoformat(timespec="seconds")
    )


@pytest.mark.parametrize(
    ("route", "first_header"),
    [
        ("evlims:donor-list", "Code"),
        ("evlims:run-list", "Run"),
        ("evlims:ingestion-list", "Ingestion"),
    ],
)
def test_every_list_exports_only_its_own_labs_rows(member_client, preparations, foreign, lab, route, first_header):
    DonorFactory(lab=lab, code="D-MINE")
    Ingestion.objects.create(lab=lab, status=Ingestion.Status.RECEIVED)
    Ingestion.objects.create(lab=foreign.lab, status=Ingestion.Status.RECEIVED)
    rows = csv_rows(member_client, reverse(route))
    assert rows[0][0] == first_header
    listed = [str(getattr(row, "code", row.pk)) for row in member_client.get(reverse(route)).context["page"]]
    assert [row[0] for row in rows[1:]] == listed and listed
    assert not any("FOREIGN" in cell for row in rows for cell in row)
    sheet = xlsx_rows(member_client, reverse(route))
    assert [str(row[0]) for row in sheet[1:]] == listed


def test_formula_cells_are_escaped_in_csv_and_xlsx(member_client, staff, project):
    payloads = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB"]
    for n, text in enumerate(payloads):
        register_sample(staff, project, barcode=f"F-{n}", external_id=text)
    url, query = reverse("evlims:sample-list"), "sort=barcode"
    rows = csv_rows(member_client, url, query)
    external = rows[0].index("External id")
    assert [row[external] for row in rows[1:]] == ["'" + text for text in payloads]
    response = member_client.get(f"{url}?{query}&export=xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    cells = [row[external] for row in sheet.iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == ["'" + text for text in payloads]
    assert all(cell.data_type == "s" for cell in cells)  # text, never a formula


def test_negative_numbers_stay_numbers(member_client, staff, project):
    register_sample(staff, project, biofluid="urine", storage_temperature_c=Decimal("-20"))
    from evlims.web.exports import spreadsheet_value

    assert spreadsheet_value(Decimal("-20.0")) == -20 and spreadsheet_value(Decimal("0.125")) == 0.125
    rows = csv_rows(member_client, reverse("evlims:sample-list"), "flag=urine_storage")
    assert rows[1][rows[0].index("Quality flags")] == "Urine stored too warm"


def test_an_export_beyond_the_cap_is_refused_with_the_count(member_client, samples, monkeypatch):
    monkeypatch.setattr("evlims.web.exports.MAX_EXPORT_ROWS", 5)
    response = member_client.get(reverse("evlims:sample-list"), {"export": "csv", "biofluid": "blood_plasma"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "The filters match 7 rows; at most 5 rows are exported at once" in text
    assert "biofluid=blood_plasma" in text and "export=" not in text  # back to the same filtered list
    page = member_client.get(reverse("evlims:sample-list")).content.decode()
    assert "narrow the filters to export" in page
    assert member_client.get(reverse("evlims:sample-list"), {"export": "csv", "q": "EXT-1"}).status_code == 200


def test_an_unknown_export_format_is_a_400_page(member_client, samples):
    response = member_client.get(reverse("evlims:sample-list"), {"export": "pdf"})
    assert response.status_code == 400 and "CSV" in response.content.decode()


def test_invalid_filters_export_nothing(member_client, samples):
    response = member_client.get(reverse("evlims:sample-list"), {"export": "csv", "flag": "purple"})
    assert response.status_code == 200 and response.context["page"] is None
    assert "Select a valid choice" in response.content.decode()


def test_export_reads_a_fixed_number_of_queries_per_chunk(member_client, small_pages, staff, project):
    def grow_and_count(count):
        for _ in range(count):
            register_sample(staff, project, aliquots=[100])
        with CaptureQueriesContext(connection) as captured:
            rows = csv_rows(member_client, reverse("evlims:sample-list"))
        return len(captured), len(rows) - 1

    assert grow_and_count(2)[1] == 2
    one_chunk = grow_and_count(0)[0]
    three_chunks, exported = grow_and_count(6)
    assert exported == 8
    assert three_chunks - one_chunk == 2 * 2  # two more chunks: their rows and their aliquot counts


# ---------------------------------------------------------------------- quality flags


def test_each_quality_flag_filter_finds_exactly_the_samples_carrying_that_flag(member_client, staff, project):
    from evlims.samples.quality import quality_flags
    from evlims.samples.selectors import QUALITY_FLAG_CHOICES

    records = [
        dict(biofluid="blood_plasma", anticoagulant="citrate", processing_delay_min=90),
        dict(biofluid="blood_plasma", anticoagulant="citrate", processing_delay_min=60),
        dict(biofluid="blood_plasma", anticoagulant="k2_edta", processing_delay_min=300),
        dict(biofluid="serum", processing_delay_min=61),
        dict(biofluid="serum", hemolysis_a414=Decimal("0.301")),
        dict(biofluid="serum", hemolysis_a414=Decimal("0.300")),
        dict(biofluid="whole_blood", hemolysis_a414=Decimal("0.073")),
        dict(biofluid="blood_plasma", hemolysis_a414=Decimal("0.072")),
        dict(biofluid="urine", hemolysis_a414=Decimal("0.9")),
        dict(biofluid="blood_plasma", residual_platelets_per_ul=10001, prep_spin_count=1),
        dict(biofluid="serum", residual_platelets_per_ul=50000, prep_spin_count=1),
        dict(biofluid="blood_plasma", residual_platelets_per_ul=10000, prep_spin_count=2),
        dict(biofluid="urine", storage_temperature_c=Decimal("-20")),
        dict(biofluid="urine", storage_temperature_c=Decimal("-80")),
        dict(biofluid="csf", storage_temperature_c=Decimal("4")),
        dict(biofluid="blood_plasma"),
    ]
    samples = [register_sample(staff, project, **record) for record in records]
    url = reverse("evlims:sample-list")
    codes = {flag for sample in samples for flag in (f.code for f in quality_flags(sample))}
    assert codes == {code for code, _ in QUALITY_FLAG_CHOICES} - {"any", "none"}
    for code, label in QUALITY_FLAG_CHOICES:
        if code == "any":
            expected = {s.pk for s in samples if quality_flags(s)}
        elif code == "none":
            expected = {s.pk for s in samples if not quality_flags(s)}
        else:
            expected = {s.pk for s in samples if code in {f.code for f in quality_flags(s)}}
        response = member_client.get(url, {"flag": code})
        assert {row.pk for row in response.context["page"]} == expected, code
        assert expected, code
        assert f">{label}</option>" in response.content.decode()


def test_flag_filter_keeps_to_the_users_labs(member_client, samples, foreign):
    rows = member_client.get(reverse("evlims:sample-list"), {"flag": "hemolysis"}).context["page"]
    assert {row.pk for row in rows} == {samples[1].pk, samples[4].pk}


def test_box_and_import_lists_sort_and_export_their_rows(member_client, small_pages, staff, lab, project, foreign):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from evlims.samples.models import ManifestImport, StorageUnit
    from evlims.samples.services import manifests
    from tests.factories import storage_box

    for name in ("Box C", "Box A", "Box D", "Box B"):
        storage_box(lab, name=name)
    boxes = StorageUnit.objects.filter(lab=lab, kind="box")
    url = reverse("evlims:box-list")
    assert shown(member_client, url, "sort=-box") == db_order(boxes, "-path", "-id")
    rows = csv_rows(member_client, url, "sort=-box")
    assert rows[0][:2] == ["Box", "Lab"] and "Temperature (°C)" in rows[0]
    assert [row[0] for row in rows[1:]] == list(boxes.order_by("-path", "-id").values_list("path", flat=True))
    for n in range(3):
        upload = SimpleUploadedFile(f"m-{n}.csv", f"barcode,biofluid,volume_ml\r\nM-{n},serum,2\r\n".encode())
        manifests.manifest_upload(actor=staff, project=project, uploaded_file=upload)
    url = reverse("evlims:import-list")
    mine = ManifestImport.objects.filter(lab=lab)
    assert shown(member_client, url, "sort=uploaded") == db_order(mine, "created_at", "id")
    sheet = xlsx_rows(member_client, url, "sort=uploaded")
    assert sheet[0][:2] == ("Import", "File")
    assert [row[0] for row in sheet[1:]] == db_order(mine, "created_at", "id")  # numbers in the workbook
