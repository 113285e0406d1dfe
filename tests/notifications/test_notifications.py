"""Notifications of the QA review's steps, of voided approvals and of broken control rules: the right people of
the event's own lab are told, in the app and by e-mail as each chose; e-mails leave only after the change
commits (captured in Django's test outbox); a failing mail server never costs the in-app record."""

import pytest
from django.core import mail
from django.db import transaction

from evlims.core.models import Role
from evlims.notifications import kinds, receivers, services
from evlims.notifications.models import Notification
from evlims.review import services as review_services
from tests.control_world import two_levels
from tests.factories import member
from tests.security.world import PASSWORD, build_lab

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world():
    return build_lab("NTF")


def _staff(w):
    return w.users[Role.LAB_STAFF]


def _qa(w):
    return w.users[Role.QA_MANAGER]


def _admin(w):
    return w.users[Role.LAB_ADMIN]


def _submit(w):
    preparation = w.run.preparations.order_by("id").last()
    return review_services.review_submit(actor=_staff(w), preparation=preparation, justification="as it is")


def test_a_submitted_review_tells_the_qa_managers_in_the_app_and_by_mail(world):
    Notification.objects.all().delete()
    mail.outbox.clear()
    review = _submit(world)
    (notice,) = Notification.objects.filter(kind=kinds.REVIEW_SUBMITTED)
    assert notice.recipient == _qa(world) and notice.lab == world.lab and notice.in_app and notice.email
    assert notice.link == f"/compliance/reviews/{review.pk}/" or notice.link.endswith(f"/reviews/{review.pk}/")
    assert [message.to for message in mail.outbox] == [[_qa(world).email]]
    assert review.preparation.barcode in mail.outbox[0].subject
    assert notice.link in mail.outbox[0].body
    assert Notification.objects.get(pk=notice.pk).emailed_at is not None


def test_the_submitter_hears_of_verification_rejection_and_approval(world):
    Notification.objects.all().delete()
    review_services.review_verify(actor=_qa(world), review=world.review, password=PASSWORD, statement="checked")
    review_services.review_approve(actor=_admin(world), review=world.review, password=PASSWORD, statement="released")
    other = _submit(world)
    review_services.review_reject(actor=_qa(world), review=other, password=PASSWORD, statement="blank lane missing")
    told = list(Notification.objects.filter(recipient=_staff(world)).order_by("pk").values_list("kind", flat=True))
    assert told == [kinds.REVIEW_VERIFIED, kinds.REVIEW_APPROVED, kinds.REVIEW_REJECTED]
    rejected = Notification.objects.get(kind=kinds.REVIEW_REJECTED)
    assert "blank lane missing" in rejected.body
    assert any("blank lane missing" in message.body for message in mail.outbox)


def test_a_voided_approval_tells_the_lab_admins(world):
    review_services.review_verify(actor=_qa(world), review=world.review, password=PASSWORD, statement="checked")
    review_services.review_approve(actor=_admin(world), review=world.review, password=PASSWORD, statement="released")
    second_admin = member(world.lab, Role.LAB_ADMIN, username="ntf-admin-2")
    mail.outbox.clear()
    with transaction.atomic():
        review_services.void_approvals(
            actor=_staff(world), preparation_ids=[world.preparation.pk], reason="volume corrected"
        )
        assert mail.outbox == []  # nothing leaves before the change commits
    voided = Notification.objects.filter(kind=kinds.APPROVAL_VOIDED)
    assert set(voided.values_list("recipient", flat=True)) == {_admin(world).pk, second_admin.pk}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([_admin(world).email, second_admin.email])


def test_a_rolled_back_change_leaves_no_notification_and_sends_no_mail(world):
    Notification.objects.all().delete()
    mail.outbox.clear()
    with transaction.atomic():
        _submit(world)
        transaction.set_rollback(True)
    assert not Notification.objects.exists() and mail.outbox == []


def test_preferences_choose_in_app_and_e_mail_per_kind(world):
    services.notification_preferences_update(actor=_qa(world), changes={kinds.REVIEW_SUBMITTED: {"email": False}})
    Notification.objects.all().delete()
    mail.outbox.clear()
    _submit(world)
    notice = Notification.objects.get(kind=kinds.REVIEW_SUBMITTED)
    assert notice.in_app and not notice.email and mail.outbox == []
    services.notification_preferences_update(
        actor=_qa(world), changes={kinds.REVIEW_SUBMITTED: {"in_app": False, "email": False}}
    )
    assert services.preferences_of(_qa(world))[kinds.REVIEW_SUBMITTED] == {"in_app": False, "email": False}
    Notification.objects.all().delete()
    review_services.review_submit(actor=_staff(world), run=world.run, justification="as it is")
    assert not Notification.objects.filter(kind=kinds.REVIEW_SUBMITTED).exists()


def test_nobody_is_told_about_another_lab(world):
    other = build_lab("OTH")
    Notification.objects.all().delete()
    _submit(world)
    assert not Notification.objects.filter(recipient__in=other.users.values()).exists()
    # Even when named, a person outside the lab is left out.
    written = services.notify(
        lab=world.lab, kind=kinds.REVIEW_SUBMITTED, recipients=[other.users[Role.QA_MANAGER]], title="x"
    )
    assert written == []


def test_a_failing_mail_server_keeps_the_in_app_record(world, settings):
    settings.EMAIL_BACKEND = "tests.notifications.broken_mail.Backend"
    Notification.objects.all().delete()
    review = _submit(world)
    notice = Notification.objects.get(kind=kinds.REVIEW_SUBMITTED)
    assert notice.emailed_at is None and "refused" in notice.email_error
    assert review.pk  # the review stands


def test_a_broken_control_rule_tells_the_lab_admins_once(world):
    control = two_levels(world.lab, world.project, _staff(world))
    Notification.objects.filter(kind=kinds.CONTROL_RULE_BROKEN).delete()
    mail.outbox.clear()
    written = receivers.control_rules_check([world.lab.pk])
    notices = Notification.objects.filter(kind=kinds.CONTROL_RULE_BROKEN)
    assert written >= 1 and set(notices.values_list("recipient", flat=True)) == {_admin(world).pk}
    assert any("R-4s" in notice.title for notice in notices)
    assert any(control.last_low.barcode in notice.body for notice in notices)
    assert mail.outbox and all(m.to == [_admin(world).email] for m in mail.outbox)
    assert receivers.control_rules_check([world.lab.pk]) == 0  # told once


def test_a_failing_notification_never_breaks_the_review(world, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("notification store down")

    monkeypatch.setattr(receivers, "notify", broken)
    review = _submit(world)
    assert review.pk and review.state == review.State.SUBMITTED


def test_e_mails_are_sent_in_process_when_no_worker_can_be_reached(world, monkeypatch):
    def unreachable(ids):
        raise ConnectionError("broker down")

    monkeypatch.setattr(services.email_sender, "_implementation", unreachable)
    Notification.objects.all().delete()
    mail.outbox.clear()
    _submit(world)
    assert [m.to for m in mail.outbox] == [[_qa(world).email]]
    assert Notification.objects.get().emailed_at is not None
