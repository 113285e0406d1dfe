"""Notifications through the API: your own list (nobody else's), marking read, and your preferences."""

import pytest

from evlims.notifications import kinds
from evlims.notifications.models import Notification, NotificationPreference

pytestmark = pytest.mark.django_db
API = "/api/v1"


def _notice(user, lab, title="EVP-1 submitted for review"):
    return Notification.objects.create(
        lab=lab, recipient=user, kind=kinds.REVIEW_SUBMITTED, title=title, link="/compliance/reviews/1/"
    )


def test_the_list_holds_your_own_notifications_only(qa_api, qa_manager, staff, lab):
    mine = _notice(qa_manager, lab)
    _notice(staff, lab, title="not yours")
    answer = qa_api.get(f"{API}/notifications/").json()
    assert [row["id"] for row in answer["results"]] == [mine.pk]
    assert answer["results"][0]["kind_label"] == "Review submitted" and answer["results"][0]["read"] is False


def test_marking_read_touches_your_own_only(qa_api, qa_manager, staff, lab):
    mine, other = _notice(qa_manager, lab), _notice(staff, lab)
    answer = qa_api.post(f"{API}/notifications/mark-read/", {"ids": [mine.pk, other.pk]}, format="json")
    assert answer.json() == {"marked": 1}
    assert Notification.objects.get(pk=other.pk).read_at is None
    assert qa_api.get(f"{API}/notifications/?unread=true").json()["results"] == []
    assert qa_api.post(f"{API}/notifications/mark-read/", {}, format="json").status_code == 400


def test_preferences_are_read_and_changed(staff_api, staff):
    answer = staff_api.get(f"{API}/notifications/preferences/").json()
    assert {row["kind"] for row in answer} == set(kinds.KINDS)
    assert all(row["in_app"] and row["email"] for row in answer)
    changed = staff_api.patch(f"{API}/notifications/preferences/", {"review_rejected": {"email": False}}, format="json")
    assert changed.status_code == 200
    row = next(row for row in changed.json() if row["kind"] == "review_rejected")
    assert (row["in_app"], row["email"]) == (True, False)
    assert NotificationPreference.objects.get(user=staff, kind="review_rejected").email is False
    refused = staff_api.patch(f"{API}/notifications/preferences/", {"review_rejected": {"email": "x"}}, format="json")
    assert refused.status_code == 400


def test_signed_out_is_refused(api):
    assert api.get(f"{API}/notifications/").status_code in (401, 403)
