"""The e-signature form is not a password oracle: wrong signature passwords are counted, audited and locked out
like sign-ins (AXES_FAILURE_LIMIT, AXES_COOLOFF_TIME; 5 and a quarter of an hour without axes settings)."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from evlims.compliance.models import Review, Signature
from evlims.core.models import AuditEvent, Role
from evlims.review import services as review_services
from evlims.review import signatures
from tests.security.world import PASSWORD


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def qa(alpha):
    return alpha.users[Role.QA_MANAGER]


def sign(client, review, password, action="verify"):
    return client.post(
        reverse("evlims:review-sign", args=[review.pk, action]),
        {f"{action}-password": password, f"{action}-statement": "Checked the record"},
    )


def failures(user):
    return AuditEvent.objects.filter(action="signature.password_failed", actor=user).order_by("id")


def later(monkeypatch, delta):
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now + delta)


def test_six_wrong_passwords_lock_signing_until_the_cooloff(alpha, qa, client_for, monkeypatch, settings):
    settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME = 5, 0.25
    client = client_for(qa)
    answers = [sign(client, alpha.review, f"guess {n}") for n in range(6)]
    assert all(answer.status_code == 200 for answer in answers)
    assert "The password is not correct" in answers[0].content.decode()
    assert "After 5 wrong passwords, signing is locked until" in answers[4].content.decode()
    assert "Too many wrong passwords: signing is locked until" in answers[5].content.decode()
    events = list(failures(qa))
    assert [e.changes["failures"] for e in events] == [1, 2, 3, 4, 5]
    assert [e.changes["locked"] for e in events] == [False] * 4 + [True]
    assert all(e.object_id == str(alpha.review.pk) and e.lab_id == alpha.lab.pk for e in events)
    assert all("guess" not in str(e.changes) for e in events)  # the password tried is never written
    assert AuditEvent.objects.filter(action="signature.refused_locked", actor=qa).count() == 1

    # Locked: the right password is refused too, on the page and in the service, and nothing is signed.
    answer = sign(client, alpha.review, PASSWORD)
    assert "Too many wrong passwords" in answer.content.decode()
    with pytest.raises(ValidationError, match="Too many wrong passwords"):
        review_services.review_reject(actor=qa, review=alpha.review, password=PASSWORD, statement="No")
    later(monkeypatch, dt.timedelta(minutes=14))
    assert "Too many wrong passwords" in sign(client, alpha.review, PASSWORD).content.decode()
    assert not Signature.objects.exists()

    # After the cool-off the right password signs, and the count starts again from zero.
    later(monkeypatch, dt.timedelta(minutes=16))
    answer = sign(client, alpha.review, PASSWORD)
    assert answer.status_code == 302
    alpha.review.refresh_from_db()
    assert alpha.review.state == Review.State.VERIFIED
    assert signatures.signature_lockout(qa) is None


def test_the_limit_and_cooloff_follow_the_axes_settings(alpha, qa, settings, monkeypatch):
    settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME = 2, dt.timedelta(minutes=1)
    for _ in range(2):
        with pytest.raises(ValidationError, match="password is not correct"):
            review_services.review_verify(actor=qa, review=alpha.review, password="nope", statement="ok")
    with pytest.raises(ValidationError, match="Too many wrong passwords"):
        review_services.review_verify(actor=qa, review=alpha.review, password=PASSWORD, statement="ok")
    later(monkeypatch, dt.timedelta(minutes=2))
    assert review_services.review_verify(actor=qa, review=alpha.review, password=PASSWORD, statement="ok").state


def test_without_axes_settings_the_limit_is_five(alpha, qa, settings):
    del settings.AXES_FAILURE_LIMIT
    del settings.AXES_COOLOFF_TIME
    for _ in range(5):
        with pytest.raises(ValidationError, match="password is not correct"):
            review_services.review_verify(actor=qa, review=alpha.review, password="nope", statement="ok")
    lock = signatures.signature_lockout(qa)
    assert lock is not None and dt.timedelta(minutes=14) < lock - timezone.now() <= dt.timedelta(minutes=15)


def test_a_right_password_resets_the_count_and_one_signer_does_not_lock_another(alpha, qa, settings):
    settings.AXES_FAILURE_LIMIT = 3
    admin = alpha.users[Role.LAB_ADMIN]
    for _ in range(2):
        with pytest.raises(ValidationError, match="password is not correct"):
            review_services.review_verify(actor=qa, review=alpha.review, password="nope", statement="ok")
    with pytest.raises(ValidationError, match="statement|means"):  # right password, empty statement: count cleared
        review_services.review_verify(actor=qa, review=alpha.review, password=PASSWORD, statement=" ")
    for _ in range(2):
        with pytest.raises(ValidationError, match="password is not correct"):
            review_services.review_verify(actor=qa, review=alpha.review, password="nope", statement="ok")
    assert signatures.signature_lockout(qa) is None
    for _ in range(3):
        with pytest.raises(ValidationError, match="password is not correct"):
            review_services.review_verify(actor=admin, review=alpha.review, password="nope", statement="ok")
    assert signatures.signature_lockout(admin) is not None
    assert review_services.review_verify(actor=qa, review=alpha.review, password=PASSWORD, statement="ok").state
