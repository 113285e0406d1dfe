"""The protocol form editor: every library protocol through the form and back, refusals placed at their step
and field in the lab's words, the plain POST path without a script, the live check and the step fragment."""

from pathlib import Path

import pytest
from django.urls import reverse

import protocols as protocol_library
from evlims.core.models import AuditEvent
from evlims.isolation import services
from evlims.isolation.models import ProtocolVersion
from evlims.web.forms.protocol_form import ProtocolDocumentForms, Unrepresentable, document_yaml, form_data
from protocols.loader import LIBRARY_ROOT, load_protocol_yaml

NEW = reverse("evlims:protocol-new")
CHECK = reverse("evlims:protocol-form-check")
STEP = reverse("evlims:protocol-form-step")
LIBRARY_FILES = sorted(LIBRARY_ROOT.glob("*/*.yaml"))


@pytest.fixture
def foreign_version(other_lab, outsider):
    initial = two_step_initial()
    text = document_yaml(ProtocolDocumentForms(post_data(initial)).document()).replace("plasma-sec", "secret-sec")
    return services.protocol_version_save_draft(actor=outsider, lab=other_lab, source_text=text)


def post_data(initial: dict, **extra) -> dict:
    """What a browser posts for forms filled with ``initial`` (form_data's shape)."""
    data = {
        "mode": "form",
        "citations-TOTAL_FORMS": str(len(initial["citations"])),
        "citations-INITIAL_FORMS": "0",
        "steps-TOTAL_FORMS": str(len(initial["steps"])),
        "steps-INITIAL_FORMS": "0",
    }
    data |= {f"doc-{key}": value for key, value in initial["header"].items()}
    for index, citation in enumerate(initial["citations"]):
        for key, value in citation.items():
            if key == "verified":
                if value:
                    data[f"citations-{index}-verified"] = "on"
            else:
                data[f"citations-{index}-{key}"] = value
    for index, step in enumerate(initial["steps"]):
        data |= {f"steps-{index}-{key}": str(value) for key, value in step.items()}
    return data | extra


def two_step_initial(**spin) -> dict:
    """A pre-clearing spin then SEC, as a lab fills the form."""
    first = {
        "method": "differential_centrifugation",
        "label": "pre-clearing",
        "p_g_force": "2,500 x g",
        "p_duration_min": "15",
        "p_fraction_kept": "supernatant",
        "tabs_duration_min": "2",
        "trel_g_force": "10",
    } | spin
    return {
        "header": {
            "title": "Plasma SEC",
            "slug": "plasma-sec",
            "version": "1.0.0",
            "description": "Cleared plasma on a home-made CL-2B column.",
            "status": "draft",
        },
        "citations": [{"text": "Böing AN, et al. J Extracell Vesicles 2014", "doi": "10.3402/jev.v3.23430"}],
        "steps": [
            first | {"ORDER": 1},
            {
                "method": "sec",
                "p_resin": "Sepharose CL-2B",
                "p_bed_volume_ml": "10",
                "p_fraction_volume_ml": "0.5",
                "p_fractions_collected": "20",
                "p_fractions_pooled": "4, 5, 6",
                "ORDER": 2,
            },
        ],
    }


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: f"{p.parent.name}@{p.stem}")
def test_every_library_protocol_through_the_form_keeps_its_content_hash(path: Path):
    original = protocol_library.load_protocol_file(path)
    initial = form_data(load_protocol_yaml(path.read_text(encoding="utf-8")))
    document = ProtocolDocumentForms(post_data(initial)).document()
    again = protocol_library.validate_protocol(load_protocol_yaml(document_yaml(document)))
    assert again.content_hash == original.content_hash
    assert again.hashed_content() == original.hashed_content()


def test_the_form_shows_values_as_written_and_tolerances_in_the_units_of_the_lab():
    text = (LIBRARY_ROOT / "sec-sepharose-cl2b" / "1.0.0.yaml").read_text(encoding="utf-8")
    first = form_data(load_protocol_yaml(text))["steps"][0]
    assert first["method"] == "differential_centrifugation"
    assert first["p_g_force"] == "1,550 x g" or "x g" in first["p_g_force"]
    assert first["trel_g_force"] == "5"  # rel 0.05 shown as ± 5 %
    assert first["tabs_temperature_c"] == "2 K"


def test_what_the_form_cannot_show_is_refused_not_dropped():
    document = load_protocol_yaml((LIBRARY_ROOT / "sec-qev-70nm" / "1.0.0.yaml").read_text(encoding="utf-8"))
    document["steps"][0]["params"]["spin_colour"] = "blue"
    document["steps"][1]["method"] = "centrifuge"
    document["extra"] = 1
    with pytest.raises(Unrepresentable) as refused:
        form_data(document)
    assert any("spin_colour" in reason for reason in refused.value.reasons)
    assert any("'centrifuge' is not in the list of methods" in reason for reason in refused.value.reasons)
    assert any("'extra' is not part of a protocol" in reason for reason in refused.value.reasons)


class TestPlainPost:
    def test_the_formset_saves_the_same_draft_the_yaml_would(self, member_client, lab):
        data = post_data(two_step_initial(), lab=lab.pk, reason="First SEC protocol")
        response = member_client.post(NEW, data)
        version = ProtocolVersion.objects.get(protocol__lab=lab)
        assert response["Location"] == reverse("evlims:protocol-version", args=[version.pk])
        assert version.methods == ["differential_centrifugation", "sec"]
        step = version.definition["steps"][0]
        assert step["params"]["g_force"] == 2500 and step["originals"]["g_force"] == "2,500 x g"
        assert step["tolerances"] == {"g_force": {"rel": 0.1}, "duration_min": {"abs": 2.0}}
        assert version.definition["steps"][1]["params"]["fractions_pooled"] == [4, 5, 6]
        event = AuditEvent.objects.get(action="protocol_version.create")
        assert event.reason == "First SEC protocol"
        # The YAML tab's text saves to the same content.
        again = services.parse_protocol_text(version.source_text)
        assert again.content_hash == version.content_hash

    def test_problems_are_placed_at_their_step_and_field_in_the_lab_s_words(self, member_client, lab):
        initial = two_step_initial(p_g_force="fast", p_fraction_kept="")
        initial["steps"][1]["p_bed_volume_ml"] = "-3"
        response = member_client.post(NEW, post_data(initial, lab=lab.pk))
        assert response.status_code == 200
        assert not ProtocolVersion.objects.exists()
        first, second = response.context["doc"].ordered_steps()
        assert first.errors["p_g_force"] == ["Step 1, Speed: “fast” is not a centrifugal force; enter a number in × g"]
        assert first.errors["p_fraction_kept"] == ["Step 1, Fraction kept: required: choose one"]
        assert second.errors["p_bed_volume_ml"] == ["Step 2, Bed volume: must be greater than 0 mL, got -3"]
        html = response.content.decode()
        assert "Step 1, Speed: “fast” is not a centrifugal force; enter a number in × g" in html
        assert "g_force" not in html.split('id="form-problems"')[1].split("</div>")[0]

    def test_positions_and_removal_decide_the_order(self, member_client, lab):
        initial = two_step_initial()
        initial["steps"][0]["ORDER"] = 2
        initial["steps"][1]["ORDER"] = 1
        initial["steps"].append({"method": "filtration", "p_pore_size_um": "0.22", "DELETE": "on", "ORDER": 3})
        member_client.post(NEW, post_data(initial, lab=lab.pk))
        assert ProtocolVersion.objects.get(protocol__lab=lab).methods == ["sec", "differential_centrifugation"]

    def test_add_a_step_then_show_the_chosen_method_s_fields(self, member_client, lab):
        data = post_data(two_step_initial(), lab=lab.pk, action="add-step")
        response = member_client.post(NEW, data)
        steps = response.context["doc"].steps.forms
        assert len(steps) == 3 and steps[2].entry is None
        assert not ProtocolVersion.objects.exists()
        data = post_data(two_step_initial(), lab=lab.pk, action="refresh") | {
            "steps-TOTAL_FORMS": "3",
            "steps-2-method": "ultrafiltration",
        }
        html = member_client.post(NEW, data).content.decode()
        assert "Cut-off (MWCO) (kDa)" in html and "Tangential flow filtration" in html

    def test_changing_a_method_keeps_the_values_both_methods_share(self, member_client, lab):
        data = post_data(two_step_initial(), lab=lab.pk, action="refresh") | {"steps-0-method": "ultracentrifugation"}
        response = member_client.post(NEW, data)
        step = response.context["doc"].steps.forms[0]
        assert step.method == "ultracentrifugation" and step["p_g_force"].value() == "2,500 x g"

    def test_switching_tabs_carries_the_protocol_both_ways(self, member_client, lab):
        response = member_client.post(NEW, post_data(two_step_initial(), lab=lab.pk, action="to-yaml"))
        assert response.context["tab"] == "yaml"
        text = response.context["editor_text"]
        assert "method: sec" in text and "2,500 x g" in text
        back = member_client.post(NEW, {"mode": "yaml", "lab": lab.pk, "source_text": text, "action": "to-form"})
        assert back.context["tab"] == "form"
        assert [form.initial for form in back.context["doc"].steps.forms] == form_data(load_protocol_yaml(text))[
            "steps"
        ]

    def test_yaml_the_form_cannot_show_stays_in_the_yaml_tab(self, member_client, lab):
        text = "title: x\nsteps:\n  - method: spin\n"
        response = member_client.post(NEW, {"mode": "yaml", "lab": lab.pk, "source_text": text, "action": "to-form"})
        assert response.context["tab"] == "yaml" and response.context["editor_text"] == text.strip()
        assert response.context["unrepresentable"] == ["step 1: the method 'spin' is not in the list of methods"]
        assert "is not in the list of methods" in response.content.decode()

    def test_a_frozen_version_is_refused_at_the_version_field(self, member_client, lab, staff, qa_manager):
        data = post_data(two_step_initial(), lab=lab.pk)
        member_client.post(NEW, data)
        services.protocol_version_approve(actor=qa_manager, version=ProtocolVersion.objects.get())
        response = member_client.post(NEW, data)
        [error] = response.context["doc"].header.errors["version"]
        assert error.startswith("Version: Version 1.0.0 of plasma-sec is approved")

    def test_a_draft_opens_in_the_form_and_saving_replaces_it(self, member_client, lab):
        member_client.post(NEW, post_data(two_step_initial(), lab=lab.pk))
        draft = ProtocolVersion.objects.get()
        response = member_client.get(NEW, {"edit": draft.pk})
        assert response.context["tab"] == "form"
        doc = response.context["doc"]
        assert [form.initial["method"] for form in doc.steps.forms] == ["differential_centrifugation", "sec"]
        assert response.context["form"].initial["lab"] == lab.pk
        initial = two_step_initial()
        initial["steps"][1]["p_buffer"] = "PBS"
        member_client.post(NEW, post_data(initial, lab=lab.pk))
        draft.refresh_from_db()
        assert draft.definition["steps"][1]["params"]["buffer"] == "PBS"
        assert ProtocolVersion.objects.count() == 1

    def test_only_drafts_of_the_user_s_labs_can_be_edited(self, member_client, lab, qa_manager, foreign_version):
        member_client.post(NEW, post_data(two_step_initial(), lab=lab.pk))
        draft = ProtocolVersion.objects.get(protocol__lab=lab)
        services.protocol_version_approve(actor=qa_manager, version=draft)
        assert member_client.get(NEW, {"edit": draft.pk}).status_code == 404
        assert member_client.get(NEW, {"edit": foreign_version.pk}).status_code == 404


class TestLiveCheck:
    def test_answers_problems_with_the_input_they_belong_to(self, member_client, lab):
        data = post_data(two_step_initial(p_fraction_kept=""))
        answer = member_client.post(CHECK, data).json()
        assert answer["valid"] is False
        assert answer["problems"] == [
            {"name": "steps-0-p_fraction_kept", "step": 1, "text": "Step 1, Fraction kept: required: choose one"}
        ]

    def test_a_valid_form_answers_its_chain_and_yaml(self, member_client, lab):
        answer = member_client.post(CHECK, post_data(two_step_initial())).json()
        assert answer["valid"] is True and answer["problems"] == []
        assert answer["chain"] == ["Differential centrifugation (one spin)", "Size-exclusion chromatography"]
        assert "method: differential_centrifugation" in answer["yaml"]
        assert not ProtocolVersion.objects.exists()

    def test_readers_cannot_check(self, client, qa_manager):
        client.force_login(qa_manager)
        assert client.post(CHECK, {}).status_code == 403


class TestStepFragment:
    def test_draws_the_method_s_labelled_fields_with_units_and_required_marks(self, member_client):
        html = member_client.post(STEP, {"index": "3", "steps-3-method": "sec"}).content.decode()
        assert 'name="steps-3-p_bed_volume_ml"' in html and "Bed volume (mL)" in html
        assert "Gravity flow" in html and "Step 4" in html
        html = member_client.post(STEP, {"index": "0", "steps-0-method": "differential_centrifugation"}).content
        text = html.decode()
        assert "Speed (× g)" in text and "Average radius (RCF avg)" in text
        assert text.count("required-mark") == 3  # speed, duration, fraction kept

    @pytest.mark.parametrize("index", ["", "-1", "x", "999"])
    def test_a_bad_index_is_a_400_naming_it(self, member_client, index):
        response = member_client.post(STEP, {"index": index})
        assert response.status_code == 400 and "index" in response.json()["error"]


class TestBadInput:
    @pytest.mark.parametrize(
        "data",
        [
            {"mode": "form"},
            {"mode": "form", "action": "add-step", "steps-TOTAL_FORMS": "many"},
            {"mode": "form", "action": "add-citation", "citations-TOTAL_FORMS": "-"},
            {
                "mode": "form",
                "steps-TOTAL_FORMS": "1",
                "steps-INITIAL_FORMS": "0",
                "steps-0-ORDER": "first",
                "steps-0-method": "centrifuge",
            },
        ],
    )
    def test_a_tampered_form_is_answered_with_problems_never_a_500(self, member_client, lab, data):
        response = member_client.post(NEW, data | {"lab": lab.pk})
        assert response.status_code == 200
        assert not ProtocolVersion.objects.exists()
        assert member_client.post(CHECK, data).status_code == 200
