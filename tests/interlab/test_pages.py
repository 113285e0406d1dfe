"""The comparison pages and reports: the coordinator runs a round in the browser's forms; a participant reports
and then reads only its own scores and the summary by code, in the page, the CSV and the PDF."""

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from evlims.interlab import services
from evlims.interlab.models import ComparisonRound
from tests.interlab.world import build_ring, ship_and_report

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def closed_ring():
    ring = build_ring(4)
    ship_and_report(ring, [5.0e9, 5.2e9, 4.9e9, 5.1e9], [1e8, 1e8, None, 1e8])
    services.round_close(actor=ring.coordinator_staff, round=ring.round)
    ring.round.refresh_from_db()
    return ring


def test_the_coordinator_defines_a_round_through_the_form():
    ring = build_ring(0)
    coordinator = client_for(ring.coordinator_staff)
    answer = coordinator.post(
        reverse("evlims:comparison-round-create"),
        {
            "lab": ring.coordinator.pk,
            "scheme_code": "NEW-EQA",
            "scheme_name": "Urine EV count",
            "quantity": "particles_per_ml",
            "code": "U1",
            "material": "Pooled urine",
            "sigma_pt": "2e8",
            "assigned_from": "consensus",
        },
    )
    round_ = ComparisonRound.objects.get(code="U1")
    assert answer.status_code == 302 and answer.url == reverse("evlims:comparison-round", args=[round_.pk])
    lab = build_ring(0, marker="JOIN").coordinator
    coordinator.post(reverse("evlims:comparison-round-enrol", args=[round_.pk]), {"lab": lab.pk})
    participant = round_.participants.get()
    coordinator.post(reverse("evlims:comparison-round-item", args=[round_.pk]), {"participant": participant.pk})
    coordinator.post(
        reverse("evlims:comparison-round-checks", args=[round_.pk]),
        {"homogeneity": "1e9, 1.01e9\n0.99e9 1.0e9", "stability_before": "1e9", "stability_after": "1.01e9"},
    )
    coordinator.post(reverse("evlims:comparison-round-ship", args=[round_.pk]), {"reason": "courier"})
    round_.refresh_from_db()
    assert round_.status == "shipped" and round_.items.get().shipping == "kit"
    page = coordinator.get(reverse("evlims:comparison-round", args=[round_.pk])).content.decode()
    assert "Homogeneity (ISO 13528 Annex B): sufficient" in page


def test_a_bad_homogeneity_line_is_named():
    ring = build_ring(1)
    answer = client_for(ring.coordinator_staff).post(
        reverse("evlims:comparison-round-checks", args=[ring.round.pk]), {"homogeneity": "1, 2\nabc 3"}, follow=True
    )
    assert "line 2: “abc” is not a number." in answer.content.decode()


def test_a_participant_reports_through_the_form():
    ring = build_ring(3)
    services.round_ship(actor=ring.coordinator_staff, round=ring.round)
    participant = client_for(ring.staff[0])
    url = reverse("evlims:comparison-item-result", args=[ring.items[0].pk])
    assert participant.get(url).status_code == 200
    assert participant.post(url, {"value": "", "coverage_factor": "2"}).status_code == 200  # refused, named
    answer = participant.post(url, {"value": "5.1e9", "standard_uncertainty": "1e8", "coverage_factor": "2"})
    assert answer.status_code == 302
    assert ring.items[0].result.value == 5.1e9
    # Another participant's item is not found; the coordinator may not report for a participant.
    assert client_for(ring.staff[1]).get(url).status_code == 404
    assert client_for(ring.coordinator_staff).get(url).status_code == 404


def test_a_participant_sees_its_scores_and_codes_only():
    ring = closed_ring()
    page = client_for(ring.staff[0]).get(reverse("evlims:comparison-round", args=[ring.round.pk])).content.decode()
    own = ring.participants[0].code
    assert f"{own} (you)" in page
    for participant, lab in zip(ring.participants[1:], ring.labs[1:], strict=True):
        assert participant.code in page  # in the summary, by code
        assert lab.name not in page
        assert ring.items[ring.participants.index(participant)].code not in page
    coordinator_page = client_for(ring.coordinator_staff).get(reverse("evlims:comparison-round", args=[ring.round.pk]))
    assert all(lab.name in coordinator_page.content.decode() for lab in ring.labs)


def test_participant_csv_holds_its_results_and_the_summary_by_code():
    ring = closed_ring()
    answer = client_for(ring.staff[1]).get(reverse("evlims:comparison-round-csv", args=[ring.round.pk]))
    assert answer["Content-Type"].startswith("text/csv")
    text = answer.content.decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert any(row[:1] == [ring.participants[1].code] and row[1] == ring.items[1].code for row in rows)
    assert all(lab.name not in text for lab in ring.labs)
    assert sum(1 for row in rows if row[:1] and row[0].startswith("Lab ")) == 1 + 4  # own row + summary


def test_round_csv_gives_the_coordinator_every_lab_and_the_assigned_value():
    ring = closed_ring()
    text = (
        client_for(ring.coordinator_staff)
        .get(reverse("evlims:comparison-round-csv", args=[ring.round.pk]))
        .content.decode()
    )
    rows = list(csv.reader(io.StringIO(text)))
    assigned = next(row for row in rows if row[:1] == ["assigned_value"])
    assert float(assigned[1]) == pytest.approx(ring.round.assigned_value)
    assert all(lab.name in text for lab in ring.labs)


def test_manifest_is_the_coordinators():
    ring = closed_ring()
    answer = client_for(ring.coordinator_staff).get(reverse("evlims:comparison-round-manifest", args=[ring.round.pk]))
    rows = list(csv.reader(io.StringIO(answer.content.decode())))
    assert rows[0][0] == "item" and len(rows) == 5
    assert (
        client_for(ring.staff[0]).get(reverse("evlims:comparison-round-manifest", args=[ring.round.pk])).status_code
        == 403
    )


def test_pdf_reports_for_the_round_and_a_participant(monkeypatch):
    from evlims.web.reports import compliance as reports

    printed = []
    monkeypatch.setattr(reports, "render_pdf", lambda html: printed.append(html) or b"%PDF-1.7 test")
    ring = closed_ring()
    for user, present, absent in (
        (ring.coordinator_staff, [ring.labs[1].name, "Round report"], []),
        (ring.staff[0], [f"report for {ring.participants[0].code}", ring.participants[1].code], [ring.labs[1].name]),
    ):
        answer = client_for(user).get(reverse("evlims:comparison-round-pdf", args=[ring.round.pk]))
        assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
        html = printed[-1]
        assert "Assigned value" in html and "@page" in html
        assert all(word in html for word in present if word != "Round report")
        assert all(word not in html for word in absent)


def test_the_pdf_is_drawn_by_weasyprint():
    pytest.importorskip("weasyprint")
    ring = closed_ring()
    answer = client_for(ring.staff[0]).get(reverse("evlims:comparison-round-pdf", args=[ring.round.pk]))
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF")


def test_an_outsider_gets_404_everywhere():
    ring = closed_ring()
    outsider = client_for(build_ring(0, marker="OUT").coordinator_staff)
    for name in ("comparison-round", "comparison-round-csv", "comparison-round-pdf", "comparison-round-manifest"):
        assert outsider.get(reverse(f"evlims:{name}", args=[ring.round.pk])).status_code == 404
    assert outsider.get(reverse("evlims:comparison-item-result", args=[ring.items[0].pk])).status_code == 404
