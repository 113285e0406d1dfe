"""The signed PDF report: its footer reads as typed (no escaped hyphen), and it is laid out for A4 and US Letter
with tables that wrap inside the margins instead of running past them."""

import re

import pytest
from django.urls import reverse

from evlims.web.reports import compliance as reports

from . import test_compliance_pages as pages

approver, preparation, run, sec_version = pages.approver, pages.preparation, pages.run, pages.sec_version


@pytest.fixture
def printed(monkeypatch):
    """The HTML handed to WeasyPrint, instead of the PDF."""
    given = []

    def render(html):
        given.append(html)
        return b"%PDF-1.7 test"

    monkeypatch.setattr(reports, "render_pdf", render)
    return given


def page_rule(html: str) -> str:
    return re.search(r"@page \{.*?\}\s*\}", html, re.S).group(0)


@pytest.mark.parametrize(("paper", "size"), [("", "A4"), ("a4", "A4"), ("letter", "letter")])
def test_pdf_is_laid_out_for_the_chosen_paper(client, staff, preparation, printed, paper, size):
    client.force_login(staff)
    url = reverse("evlims:report-preparation-pdf", args=[preparation.pk])
    response = client.get(url + (f"?paper={paper}" if paper else ""))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    html = printed[-1]
    rule = page_rule(html)
    assert f"size: {size};" in rule
    footer = f'"Compliance report: preparation {preparation.barcode} · generated '
    assert "-" in preparation.barcode and footer in rule
    assert "\\u002D" not in html and "\\u00" not in rule
    assert "table-layout: fixed" in html and "overflow-wrap: anywhere" in html
    assert "max-width: 100%" in html  # plots and images shrink to the text width


def test_footer_quotes_what_css_would_read_as_markup():
    assert reports.css_string('A "quoted" \\ </style> line\nnext') == (
        '"A \\22 quoted\\22  \\5c  \\3c /style\\3e  line\\a next"'
    )


def test_unknown_paper_is_a_400_naming_the_field(client, staff, preparation, printed):
    client.force_login(staff)
    response = client.get(reverse("evlims:report-preparation-pdf", args=[preparation.pk]) + "?paper=a3")
    assert response.status_code == 400 and b"paper" in response.content and not printed


def test_report_page_offers_both_paper_sizes(client, staff, preparation):
    client.force_login(staff)
    page = client.get(reverse("evlims:report-preparation", args=[preparation.pk])).content.decode()
    pdf = reverse("evlims:report-preparation-pdf", args=[preparation.pk])
    assert f'href="{pdf}?paper=a4"' in page and f'href="{pdf}?paper=letter"' in page
