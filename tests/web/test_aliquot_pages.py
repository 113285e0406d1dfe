"""Split, move, thaw, ship and dispose from the web pages."""

import pytest
from django.urls import reverse

from evlims.core.models import AuditEvent
from evlims.samples.models import Aliquot, CustodyEvent
from evlims.web.forms.aliquots import parse_position
from tests.factories import storage_box


@pytest.fixture
def aliquot(sample):
    return sample.aliquots.order_by("id").first()


def url(name, aliquot):
    return reverse(f"evlims:aliquot-{name}", args=[aliquot.pk])


class TestSplit:
    def test_split_into_a_box(self, member_client, lab, aliquot):
        target = storage_box(lab, name="Box 2", rows=2, columns=2)
        response = member_client.post(
            url("split", aliquot), {"volumes": "100, 100 50", "box": target.pk, "reason": "For NTA"}
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("evlims:sample-detail", args=[aliquot.sample_id])
        children = list(Aliquot.objects.filter(parent=aliquot).order_by("id"))
        assert [(c.volume_ul, c.position_label, c.box) for c in children] == [
            (100, "A1", target),
            (100, "A2", target),
            (50, "B1", target),
        ]
        aliquot.refresh_from_db()
        assert aliquot.volume_ul == 250
        assert AuditEvent.objects.get(action="aliquot.split").reason == "For NTA"

    @pytest.mark.parametrize(
        "volumes, message",
        [
            ("", "This field is required."),
            ("100, abc", "is not a number"),
            ("100, -5", "more than 0"),
            ("0", "more than 0"),
            ("400, 400", "holds 500"),
        ],
    )
    def test_invalid_volumes_show_errors_and_write_nothing(self, member_client, aliquot, volumes, message):
        response = member_client.post(url("split", aliquot), {"volumes": volumes})
        assert response.status_code == 200
        assert message in str(response.context["form"].errors["volumes"])
        assert not Aliquot.objects.filter(parent=aliquot).exists()
        aliquot.refresh_from_db()
        assert aliquot.volume_ul == 500

    def test_full_box_is_refused_on_the_form(self, member_client, lab, aliquot):
        tiny = storage_box(lab, name="Tiny", rows=1, columns=1)
        response = member_client.post(url("split", aliquot), {"volumes": "10 10", "box": tiny.pk})
        assert "1 free positions; 2 needed" in str(response.context["form"].errors["box"])
        assert not Aliquot.objects.filter(parent=aliquot).exists()

    def test_another_labs_box_is_not_a_choice(self, member_client, aliquot, foreign_box):
        response = member_client.post(url("split", aliquot), {"volumes": "10", "box": foreign_box.pk})
        assert "box" in response.context["form"].errors
        assert not Aliquot.objects.filter(parent=aliquot).exists()


class TestMove:
    def test_move_to_a_typed_position(self, member_client, aliquot, box):
        response = member_client.post(url("move", aliquot), {"box": box.pk, "position": "c7", "reason": "Reorg"})
        assert response.status_code == 302
        aliquot.refresh_from_db()
        assert aliquot.position_label == "C7"
        assert aliquot.custody_events.filter(kind=CustodyEvent.Kind.MOVED).count() == 1

    @pytest.mark.parametrize(
        "position, field, message",
        [
            ("A2", "position", "already taken"),
            ("Z1", "position", "rows 1–9"),
            ("7B", "position", "row letter and a column number"),
            ("", "position", "required"),
        ],
    )
    def test_bad_positions_are_refused(self, member_client, aliquot, box, position, field, message):
        response = member_client.post(url("move", aliquot), {"box": box.pk, "position": position})
        assert response.status_code == 200
        errors = response.context["form"].errors
        assert message in str(errors.get(field, "")) + str(errors.get("__all__", ""))
        aliquot.refresh_from_db()
        assert aliquot.position_label == "A1"

    def test_move_form_loads_the_box_grid_picker(self, member_client, aliquot, box):
        html = member_client.get(url("move", aliquot)).content.decode()
        assert f'hx-get="{reverse("evlims:box-picker")}"' in html
        picker = member_client.get(reverse("evlims:box-picker"), {"box": box.pk}).content.decode()
        assert 'data-position="A3"' in picker and "Pick free position A3" in picker
        assert "Pick free position A1" not in picker  # taken by the aliquot itself
        empty = member_client.get(reverse("evlims:box-picker")).content.decode()
        assert "Choose a box" in empty

    def test_parse_position(self):
        assert parse_position("b12") == (2, 12)
        with pytest.raises(Exception, match="row letter"):
            parse_position("12")


class TestThawAndRelease:
    def test_thaw_counts_a_cycle(self, member_client, aliquot):
        response = member_client.post(url("thaw", aliquot), {"confirm": "1"}, follow=True)
        assert "thawed (cycle 1)" in response.content.decode()
        aliquot.refresh_from_db()
        assert aliquot.freeze_thaw_count == 1

    def test_thaw_page_thaws_nothing_until_posted(self, member_client, aliquot):
        # The page exists for tubes an approved preparation was made from (the warning and the reason).
        assert member_client.get(url("thaw", aliquot)).status_code == 200
        aliquot.refresh_from_db()
        assert aliquot.freeze_thaw_count == 0

    def test_thawing_a_used_up_aliquot_reports_why(self, member_client, staff, aliquot):
        from evlims.samples import services

        services.aliquot_consume(actor=staff, aliquot=aliquot, volume_ul=500)
        response = member_client.post(url("thaw", aliquot), {"confirm": "1"}, follow=True)
        assert "was not thawed" in response.content.decode() and "is consumed" in response.content.decode()
        aliquot.refresh_from_db()
        assert aliquot.freeze_thaw_count == 0

    def test_ship_with_reason(self, member_client, aliquot):
        data = {"kind": "shipped", "reason": "Collaboration MTA-12", "destination": "Ghent EV core"}
        assert member_client.post(url("release", aliquot), data).status_code == 302
        aliquot.refresh_from_db()
        assert aliquot.status == Aliquot.Status.SHIPPED and aliquot.box is None
        event = aliquot.custody_events.get(kind=CustodyEvent.Kind.SHIPPED)
        assert event.to_location == "Ghent EV core"

    @pytest.mark.parametrize(
        "data, field",
        [({"kind": "disposed", "reason": ""}, "reason"), ({"kind": "eaten", "reason": "x"}, "kind")],
    )
    def test_release_needs_kind_and_reason(self, member_client, aliquot, data, field):
        response = member_client.post(url("release", aliquot), data)
        assert field in response.context["form"].errors
        aliquot.refresh_from_db()
        assert aliquot.status == Aliquot.Status.AVAILABLE
