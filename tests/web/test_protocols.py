"""Protocol library, version pages, comparison, the YAML editor with its check, and approval through the web."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evlims.core.models import AuditEvent, Role
from evlims.isolation import services
from evlims.isolation.models import Protocol, ProtocolVersion
from evlims.web.forms.protocols import next_version
from evlims.web.views.protocols import side_by_side
from tests.factories import member

LAB_PROTOCOL = """schema_version: 1
slug: lab-sec
version: 1.0.0
title: Lab SEC
status: draft
description: Plasma cleared at 2,500 g, then home-made CL-2B SEC.
citations: [{text: "Böing et al. 2014", doi: 10.3402/jev.v3.23430, verified: false}]
steps:
  - method: differential_centrifugation
    params: {g_force: "2,500 x g", duration_min: 15 min, temperature_c: 20, fraction_kept: supernatant}
    tolerances: {g_force: {rel: 0.1}, duration_min: {abs: 2}}
  - method: sec
    params: {resin: Sepharose CL-2B, bed_volume_ml: 10, sample_volume_ml: 1, fraction_volume_ml: 0.5,
             fractions_collected: 20, fractions_pooled: [4, 5, 6], buffer: PBS}
"""

NEW = reverse("evlims:protocol-new")
VALIDATE = reverse("evlims:protocol-validate")


@pytest.fixture
def library(db):
    services.library_load()


@pytest.fixture
def lab_admin(lab):
    return member(lab, Role.LAB_ADMIN, username="admin")


@pytest.fixture
def draft(lab, staff):
    return services.protocol_version_save_draft(actor=staff, lab=lab, source_text=LAB_PROTOCOL)


@pytest.fixture
def foreign_version(other_lab, outsider):
    text = LAB_PROTOCOL.replace("slug: lab-sec", "slug: secret-sec").replace("title: Lab SEC", "title: Secret SEC")
    return services.protocol_version_save_draft(actor=outsider, lab=other_lab, source_text=text)


def library_version(slug, version="1.0.0"):
    return ProtocolVersion.objects.get(protocol__slug=slug, protocol__lab=None, version=version)


class TestLibraryBrowser:
    def test_lists_library_and_own_protocols_with_chain_class_and_versions(
        self, member_client, library, draft, foreign_version
    ):
        response = member_client.get(reverse("evlims:protocol-list"))
        html = response.content.decode()
        slugs = [row["protocol"].slug for row in response.context["rows"]]
        assert "sec-qev-70nm" in slugs and "lab-sec" in slugs and "secret-sec" not in slugs
        duc = next(row for row in response.context["rows"] if row["protocol"].slug == "duc-100k-pellet-wash")
        assert [v.version for v in duc["versions"]] == ["1.0.0", "1.1.0"]
        assert "Differential centrifugation (one spin)" in html and "intermediate recovery" in html.lower()
        assert "Vesicle Lab" in html and "Library" in html
        assert reverse("evlims:protocol-version", args=[draft.pk]) in html

    def test_filters_by_owner_and_text(self, member_client, library, draft):
        url = reverse("evlims:protocol-list")
        own = member_client.get(url, {"owner": "lab"}).context["rows"]
        assert [row["protocol"].slug for row in own] == ["lab-sec"]
        shipped = member_client.get(url, {"owner": "library", "q": "qev"}).context["rows"]
        assert [row["protocol"].slug for row in shipped] == ["sec-qev-70nm"]

    def test_list_query_count_does_not_grow_with_protocols(self, member_client, library, django_assert_max_num_queries):
        with django_assert_max_num_queries(8):
            response = member_client.get(reverse("evlims:protocol-list"))
        assert len(response.context["rows"]) >= 9


class TestVersionPage:
    def test_shows_steps_values_as_written_citations_tolerances_and_hash(self, member_client, library):
        version = library_version("sec-qev-70nm")
        html = member_client.get(reverse("evlims:protocol-version", args=[version.pk])).content.decode()
        assert version.content_hash in html
        assert "1,500 x g" in html  # the text as written, next to the canonical value
        assert "1500 × g" in html
        assert "500 µL" in html and "0.5 mL" in html
        assert "https://doi.org/10.3402/jev.v3.23430" in html
        assert "± 1 min" in html and "± 5 %" in html
        assert "intermediate" in html.lower()
        assert "not verified against the source" in html
        assert reverse("evlims:run-new") + f"?version={version.pk}" in html

    def test_other_labs_versions_are_not_found(self, member_client, foreign_version):
        for name in ("protocol-version", "protocol-compare"):
            response = member_client.get(reverse(f"evlims:{name}", args=[foreign_version.pk]))
            assert response.status_code == 404, name
            assert b"Secret SEC" not in response.content
        response = member_client.get(NEW, {"from": foreign_version.pk})
        assert response.status_code == 404

    def test_comparing_with_another_labs_version_is_not_found(self, member_client, library, foreign_version):
        version = library_version("sec-qev-70nm")
        response = member_client.get(
            reverse("evlims:protocol-compare", args=[version.pk]), {"with": foreign_version.pk}
        )
        assert response.status_code == 404

    def test_anonymous_visitors_are_sent_to_sign_in(self, client, library):
        version = library_version("sec-qev-70nm")
        for url in [
            reverse("evlims:protocol-list"),
            reverse("evlims:protocol-version", args=[version.pk]),
            reverse("evlims:protocol-compare", args=[version.pk]),
            NEW,
        ]:
            response = client.get(url)
            assert response.status_code == 302 and "/login/" in response["Location"], url
        assert client.post(VALIDATE, {"source_text": LAB_PROTOCOL}).status_code == 302


class TestCompare:
    def test_side_by_side_marks_added_removed_and_changed_lines(self):
        rows = side_by_side("a\nb\nc\n", "a\nB\nc\nd\n")
        assert [(r["kind"], r["left"], r["right"]) for r in rows] == [
            ("equal", "a", "a"),
            ("changed", "b", "B"),
            ("equal", "c", "c"),
            ("added", "", "d"),
        ]
        assert [r["kind"] for r in side_by_side("x\ny\n", "y\n")] == ["removed", "equal"]

    def test_versions_side_by_side_show_the_changed_washes(self, member_client, library):
        old, new = library_version("duc-100k-pellet-wash"), library_version("duc-100k-pellet-wash", "1.1.0")
        response = member_client.get(reverse("evlims:protocol-compare", args=[old.pk]), {"with": new.pk})
        rows = response.context["rows"]
        changed = [(r["left"].strip(), r["right"].strip()) for r in rows if r["kind"] != "equal"]
        assert ("washes: 1", "washes: 2") in changed
        assert ("version: 1.0.0", "version: 1.1.0") in changed
        html = response.content.decode()
        assert 'class="diff-changed"' in html and "−" in html and "+" in html
        unified = response.context["unified"]
        assert any(line.startswith("+") and line[1:].strip() == "washes: 2" for line in unified)
        assert any(line.startswith("-") and line[1:].strip() == "washes: 1" for line in unified)

    def test_the_same_content_written_in_other_units_has_no_difference(self, member_client, lab, staff, draft):
        in_hours = LAB_PROTOCOL.replace("duration_min: 15 min", "duration_min: 0.25 h").replace("1.0.0", "1.0.1")
        other = services.protocol_version_save_draft(actor=staff, lab=lab, source_text=in_hours)
        response = member_client.get(reverse("evlims:protocol-compare", args=[draft.pk]), {"with": other.pk})
        changed = [r for r in response.context["rows"] if r["kind"] != "equal"]
        assert [(r["left"].strip(), r["right"].strip()) for r in changed] == [("version: 1.0.0", "version: 1.0.1")]


class TestEditorCheck:
    def test_bad_yaml_returns_errors_by_step_and_field(self, member_client, lab):
        bad = LAB_PROTOCOL.replace("duration_min: 15 min", "duration_min: -15 min").replace(
            "fraction_volume_ml: 0.5", "fraction_volume_ml: 0.5 kg"
        )
        response = member_client.post(VALIDATE, {"lab": lab.pk, "source_text": bad})
        assert response.status_code == 200
        problems = response.context["problems"]
        assert [(p["step"], p["method"], p["field"]) for p in problems] == [
            (1, "differential_centrifugation", "duration_min"),
            (2, "sec", "fraction_volume_ml"),
        ]
        assert "greater than 0 min" in problems[0]["message"]
        html = response.content.decode()
        assert 'id="protocol-problems"' in html and "fraction_volume_ml" in html
        assert not ProtocolVersion.objects.exists()

    def test_unreadable_yaml_names_the_line(self, member_client, lab):
        response = member_client.post(VALIDATE, {"lab": lab.pk, "source_text": "slug: x\n  bad: ["})
        [problem] = response.context["problems"]
        assert "line 2" in problem["message"] and problem["step"] is None

    def test_valid_text_returns_the_parsed_summary_without_saving(self, member_client, lab):
        response = member_client.post(VALIDATE, {"lab": lab.pk, "source_text": LAB_PROTOCOL})
        summary = response.context["summary"]
        assert summary["definition"]["methods"] == ["differential_centrifugation", "sec"]
        assert summary["frozen"] is None
        html = response.content.decode()
        assert "lab-sec@1.0.0" in html and summary["definition"]["content_hash"] in html
        assert not ProtocolVersion.objects.exists()

    def test_warns_when_the_version_is_already_approved(self, member_client, lab, draft, qa_manager):
        services.protocol_version_approve(actor=qa_manager, version=draft)
        response = member_client.post(VALIDATE, {"lab": lab.pk, "source_text": LAB_PROTOCOL})
        assert response.context["summary"]["frozen"] == draft
        assert "saving will be refused" in response.content.decode()

    def test_uploaded_file_takes_the_same_path(self, member_client, lab):
        bad = LAB_PROTOCOL.replace("bed_volume_ml: 10", "bed_volume_ml: -10").encode()
        upload = SimpleUploadedFile("bad.yaml", bad, content_type="text/yaml")
        # The file wins over what the editor holds.
        response = member_client.post(VALIDATE, {"lab": lab.pk, "source_text": LAB_PROTOCOL, "source_file": upload})
        assert [(p["step"], p["field"]) for p in response.context["problems"]] == [(2, "bed_volume_ml")]
        latin = SimpleUploadedFile("latin.yaml", "title: Böing".encode("latin-1"))
        response = member_client.post(VALIDATE, {"lab": lab.pk, "source_file": latin})
        assert "not UTF-8" in response.content.decode()

    def test_empty_editor_asks_for_a_protocol(self, member_client, lab):
        response = member_client.post(VALIDATE, {"lab": lab.pk, "source_text": "  "})
        assert response.context["problems"][0]["field"] == "source_text"


class TestDraftAndApproval:
    def test_save_draft_then_author_is_refused_and_another_reviewer_approves(self, client, lab, lab_admin, qa_manager):
        client.force_login(lab_admin)
        response = client.post(NEW, {"lab": lab.pk, "source_text": LAB_PROTOCOL, "reason": "New SEC"}, follow=True)
        version = ProtocolVersion.objects.get(protocol__slug="lab-sec")
        assert response.redirect_chain[-1][0] == reverse("evlims:protocol-version", args=[version.pk])
        assert version.status == "draft" and version.created_by == lab_admin
        assert 'id="approve-form"' in response.content.decode()

        response = client.post(reverse("evlims:protocol-approve", args=[version.pk]), follow=True)
        assert "another QA manager must approve it" in response.content.decode()
        version.refresh_from_db()
        assert version.status == "draft"

        client.force_login(qa_manager)
        response = client.post(
            reverse("evlims:protocol-approve", args=[version.pk]), {"reason": "Checked"}, follow=True
        )
        assert "lab-sec@1.0.0 approved" in response.content.decode()
        version.refresh_from_db()
        assert version.status == "approved" and version.approved_by == qa_manager
        assert AuditEvent.objects.filter(action="protocol_version.approve", reason="Checked").exists()

    def test_staff_cannot_approve(self, member_client, draft):
        response = member_client.post(reverse("evlims:protocol-approve", args=[draft.pk]))
        assert response.status_code == 403
        draft.refresh_from_db()
        assert draft.status == "draft"

    def test_retire_needs_a_reason(self, client, lab, draft, qa_manager):
        services.protocol_version_approve(actor=qa_manager, version=draft)
        client.force_login(qa_manager)
        url = reverse("evlims:protocol-retire", args=[draft.pk])
        response = client.post(url, {"reason": ""}, follow=True)
        assert "Say why this version is retired." in response.content.decode()
        draft.refresh_from_db()
        assert draft.status == "approved"
        client.post(url, {"reason": "Column discontinued"})
        draft.refresh_from_db()
        assert draft.status == "retired"

    def test_library_versions_offer_no_review_and_refuse_it(self, client, lab, library, qa_manager):
        version = library_version("duc-100k-pellet-wash", "1.1.0")
        client.force_login(qa_manager)
        page = client.get(reverse("evlims:protocol-version", args=[version.pk])).content.decode()
        assert 'id="approve-form"' not in page
        response = client.post(reverse("evlims:protocol-approve", args=[version.pk]), follow=True)
        assert "approved by their release" in response.content.decode()

    def test_saving_bad_text_shows_problems_and_writes_nothing(self, member_client, lab):
        bad = LAB_PROTOCOL.replace("fractions_pooled: [4, 5, 6]", "fractions_pooled: [4, 5, 60]")
        response = member_client.post(NEW, {"lab": lab.pk, "source_text": bad})
        assert response.status_code == 200
        [problem] = response.context["problems"]
        assert (problem["step"], problem["field"]) == (2, "fractions_pooled")
        assert "out of range" in problem["message"]
        assert not Protocol.objects.filter(lab=lab).exists()
        assert "fractions_pooled: [4, 5, 60]" in response.content.decode()

    def test_saving_over_an_approved_version_is_refused(self, member_client, lab, draft, qa_manager):
        services.protocol_version_approve(actor=qa_manager, version=draft)
        response = member_client.post(NEW, {"lab": lab.pk, "source_text": LAB_PROTOCOL.replace("PBS", "HEPES")})
        [problem] = response.context["problems"]
        assert problem["field"] == "version" and "new version" in problem["message"]

    def test_upload_without_script_saves_the_file(self, member_client, lab):
        upload = SimpleUploadedFile("lab-sec.yaml", LAB_PROTOCOL.encode(), content_type="text/yaml")
        response = member_client.post(NEW, {"lab": lab.pk, "source_text": "", "source_file": upload})
        version = ProtocolVersion.objects.get(protocol__lab=lab)
        assert response["Location"] == reverse("evlims:protocol-version", args=[version.pk])
        assert version.source_text == LAB_PROTOCOL

    def test_readers_cannot_open_the_editor(self, client, lab, qa_manager):
        client.force_login(qa_manager)
        assert client.get(NEW).status_code == 403


class TestDeriving:
    def test_library_version_prefills_a_valid_new_version(self, member_client, lab, library):
        source = library_version("duc-100k-pellet-wash")
        response = member_client.get(NEW, {"from": source.pk})
        text = response.context["editor_text"]
        assert "version: 1.2.0" in text  # 1.1.0 exists already
        assert "status: draft" in text and "100,000 x g" in text
        definition = services.parse_protocol_text(text)
        assert [s.params for s in definition.steps] == [s["params"] for s in source.definition["steps"]]
        saved = member_client.post(NEW, {"lab": lab.pk, "source_text": text})
        assert saved.status_code == 302
        assert ProtocolVersion.objects.get(protocol__lab=lab).version == "1.2.0"

    def test_lab_version_prefills_its_own_text(self, member_client, draft, lab):
        response = member_client.get(NEW, {"from": draft.pk})
        text = response.context["editor_text"]
        assert text == LAB_PROTOCOL.replace("version: 1.0.0", "version: 1.1.0")
        assert response.context["form"].initial["lab"] == lab.pk

    @pytest.mark.parametrize(
        ("version", "taken", "expected"),
        [("1.0.0", set(), "1.1.0"), ("1.0.0", {"1.1.0"}, "1.2.0"), ("2.3.1-rc.1", set(), "2.4.0"), ("v1", set(), "v1")],
    )
    def test_next_version(self, version, taken, expected):
        assert next_version(version, taken) == expected
