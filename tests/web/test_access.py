"""Every page renders for a lab member, sends anonymous visitors to sign in, and hides other labs' records."""

import pytest
from django.urls import reverse

from evlims.core.models import Role
from tests.factories import member


def pages_with_ids(sample, box):
    aliquot = sample.aliquots.order_by("id").first()
    return [
        reverse("evlims:sample-detail", args=[sample.pk]),
        reverse("evlims:sample-edit", args=[sample.pk]),
        reverse("evlims:aliquot-split", args=[aliquot.pk]),
        reverse("evlims:aliquot-move", args=[aliquot.pk]),
        reverse("evlims:aliquot-release", args=[aliquot.pk]),
        reverse("evlims:box-detail", args=[box.pk]),
        reverse("evlims:box-picker") + f"?box={box.pk}",
        reverse("evlims:audit", args=["sample", sample.pk]),
        reverse("evlims:audit", args=["aliquot", aliquot.pk]),
        reverse("evlims:audit", args=["storageunit", box.pk]),
        reverse("evlims:labels") + f"?aliquot={aliquot.pk}",
        reverse("evlims:labels") + f"?aliquot={aliquot.pk}&format=pdf",
    ]


PAGES_WITHOUT_IDS = ["home", "donor-list", "donor-create", "sample-list", "sample-create", "box-list", "storage-create"]


@pytest.mark.parametrize("name", PAGES_WITHOUT_IDS)
def test_pages_render_for_a_member(member_client, sample, name):
    response = member_client.get(reverse(f"evlims:{name}"))
    assert response.status_code == 200
    assert b"Vesicle Lab" in response.content  # the navbar names the user's lab and role
    assert b"Lab staff" in response.content


def test_pages_with_ids_render_for_a_member(member_client, sample, box):
    for url in pages_with_ids(sample, box):
        assert member_client.get(url).status_code == 200, url


def test_anonymous_visitors_are_sent_to_sign_in(client, sample, box):
    urls = [reverse(f"evlims:{name}") for name in PAGES_WITHOUT_IDS] + pages_with_ids(sample, box)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("evlims:login") + "?next="), url


def test_another_labs_records_are_not_found(member_client, foreign_sample, foreign_box):
    for url in pages_with_ids(foreign_sample, foreign_box):
        response = member_client.get(url)
        assert response.status_code == 404, url
        assert foreign_sample.barcode.encode() not in response.content


def test_another_labs_records_are_refused_on_post(member_client, foreign_sample, foreign_box):
    aliquot = foreign_sample.aliquots.get()
    posts = {
        reverse("evlims:aliquot-split", args=[aliquot.pk]): {"volumes": "10"},
        reverse("evlims:aliquot-move", args=[aliquot.pk]): {"box": foreign_box.pk, "position": "B1"},
        reverse("evlims:aliquot-thaw", args=[aliquot.pk]): {},
        reverse("evlims:aliquot-release", args=[aliquot.pk]): {"kind": "disposed", "reason": "x"},
    }
    for url, data in posts.items():
        assert member_client.post(url, data).status_code == 404, url
    aliquot.refresh_from_db()
    assert (aliquot.volume_ul, aliquot.freeze_thaw_count, aliquot.status) == (300, 0, "available")


def test_unknown_audit_object_type_is_not_found(member_client, sample):
    assert member_client.get(reverse("evlims:audit", args=["user", 1])).status_code == 404


def test_members_do_not_see_other_labs_in_lists(member_client, sample, foreign_sample, foreign_box):
    samples = member_client.get(reverse("evlims:sample-list")).content.decode()
    boxes = member_client.get(reverse("evlims:box-list")).content.decode()
    assert sample.barcode in samples and foreign_sample.barcode not in samples
    assert "Foreign box" not in boxes


def test_readers_get_a_403_page_on_write_pages(client, lab, sample):
    client.force_login(member(lab, Role.QA_MANAGER, username="reviewer"))
    for url in [
        reverse("evlims:donor-create"),
        reverse("evlims:sample-create"),
        reverse("evlims:sample-edit", args=[sample.pk]),
        reverse("evlims:storage-create"),
    ]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"Not allowed" in response.content


def test_reader_posting_an_aliquot_action_gets_the_403_page(client, lab, sample):
    client.force_login(member(lab, Role.QA_MANAGER, username="reviewer"))
    aliquot = sample.aliquots.order_by("id").first()
    response = client.post(reverse("evlims:aliquot-thaw", args=[aliquot.pk]))
    assert response.status_code == 403
    aliquot.refresh_from_db()
    assert aliquot.freeze_thaw_count == 0


def test_login_and_logout(client, staff):
    response = client.post(
        reverse("evlims:login"), {"username": "staff", "password": "correct horse battery"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("evlims:home")
    assert response.context["user"] == staff
    response = client.post(reverse("evlims:logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("evlims:login")
    assert not response.context["user"].is_authenticated


def test_wrong_password_shows_an_error(client, staff):
    response = client.post(reverse("evlims:login"), {"username": "staff", "password": "wrong"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content


def test_home_counts_only_the_users_labs(member_client, sample, foreign_sample):
    response = member_client.get(reverse("evlims:home"))
    assert response.context["sample_count"] == 1
    assert response.context["aliquot_count"] == 2
    assert response.context["box_count"] == 1
    events = list(response.context["recent_events"])
    assert {e.aliquot.sample_id for e in events} == {sample.pk}
