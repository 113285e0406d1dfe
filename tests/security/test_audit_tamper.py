"""Tampering by someone with write access to the database but neither the audit key nor the anchor folder.

Every attack is made below the application (raw SQL, queryset ``update()``/``delete()``/``bulk_create()``, which
skip the append-only guards of the models and django-simple-history) and must be reported by the verification
(``evlims.tasks.audit_trail_problems``, ``manage.py evlims_verify_audit``). The untampered world verifies clean,
so each detection is the attack's doing. docs/audit-trail.md points at these tests for each claim.
"""

import datetime as dt
import hashlib
import json
import stat
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from evlims import checks
from evlims.compliance import services as compliance
from evlims.compliance.models import Review, Signature
from evlims.core import audit_anchors, audit_keys
from evlims.core.audit import _entry_hash, hashed_payload
from evlims.core.models import AuditChainHead, AuditEvent, Role
from evlims.review import services as review_services
from evlims.samples import services as samples
from evlims.samples.models import Donor, Sample
from evlims.schedule import BEAT_SCHEDULE
from evlims.tasks import anchor_audit_trail, audit_trail_problems, verify_audit_trail
from tests.security.world import PASSWORD, build_lab

pytestmark = pytest.mark.django_db

TEST_KEY = "evlims-test-audit-key-0123456789abcdef0123456789abcdef"
NEW_KEY = "evlims-rotated-audit-key-fedcba9876543210fedcba9876543210"


@pytest.fixture(autouse=True)
def anchor_folder(settings, tmp_path):
    """Each test keeps its anchors in a folder of its own."""
    settings.EVLIMS_AUDIT_ANCHOR_DIR = tmp_path / "anchors"
    return settings.EVLIMS_AUDIT_ANCHOR_DIR


@pytest.fixture
def world(db):
    """A lab with a record of every kind; its review verified by the QA manager and approved by the lab admin."""
    world = build_lab("TAMPER")
    review = review_services.review_verify(
        actor=world.users[Role.QA_MANAGER], review=world.review, password=PASSWORD, statement="Checked the record"
    )
    world.review = review_services.review_approve(
        actor=world.users[Role.LAB_ADMIN], review=review, password=PASSWORD, statement="Released for use"
    )
    return world


def events() -> list[AuditEvent]:
    return list(AuditEvent.objects.order_by("id"))


def register_sample(world, barcode: str):
    return samples.sample_register(
        actor=world.staff, project=world.project, barcode=barcode, biofluid="serum", volume_ml=Decimal("1")
    )


def move_head():
    """What an attacker does after cutting the trail: point the chain head at the new newest event."""
    newest = AuditEvent.objects.order_by("-id").values_list("entry_hash", flat=True).first() or ""
    AuditChainHead.objects.filter(id=1).update(last_hash=newest)


def rechain(seal_for, start: int = 0):
    """Recompute the chain from the ``start``-th event with ``seal_for(event) -> (key_id, key or None)``
    (None: plain SHA-256, all an attacker without the key can compute), re-link it and move the head."""
    chain = events()
    previous = chain[start - 1].entry_hash if start else ""
    for event in chain[start:]:
        key_id, key = seal_for(event)
        event.key_id, event.previous_hash = key_id, previous
        event.entry_hash = _entry_hash(previous, hashed_payload(event), key)
        AuditEvent.objects.filter(pk=event.pk).update(
            key_id=key_id, previous_hash=previous, entry_hash=event.entry_hash
        )
        previous = event.entry_hash
    move_head()


def plain(event):
    """An attacker without the key: the event keeps its key id, the seal is a plain SHA-256."""
    return event.key_id, None


def unsealed(event):
    return "", None


def test_the_untampered_world_verifies_clean(world, anchor_folder):
    call_command("evlims_anchor_audit", stdout=StringIO())
    assert {event.key_id for event in events()} == {"test-1"}
    assert Signature.objects.count() == 2 and Review.objects.get().state == Review.State.APPROVED
    assert audit_trail_problems() == []
    out = StringIO()
    call_command("evlims_verify_audit", stdout=out, stderr=StringIO())
    assert f"intact: {AuditEvent.objects.count()} event(s)" in out.getvalue()
    assert f"1 anchor(s) in {anchor_folder} compared" in out.getvalue()


# The chain ---------------------------------------------------------------------------------------------------


def test_an_event_edited_with_raw_sql_and_rehashed_with_plain_sha256_is_reported(world):
    target = events()[5]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE evlims_auditevent SET reason = %s WHERE id = %s", ["Nothing to see here", target.pk])
    rechain(plain, start=5)  # every link and the head agree again; only the key is missing
    problems = audit_trail_problems()
    assert f"event {target.pk}: content does not match its hash (the event was edited)." in problems
    assert not any("link to the previous event" in p or p.startswith("chain head") for p in problems)


def test_an_edit_resealed_as_an_event_from_before_keying_is_reported(world):
    chain = events()
    AuditEvent.objects.filter(pk=chain[5].pk).update(reason="Nothing to see here")
    rechain(unsealed, start=5)
    problems = audit_trail_problems()
    assert problems[0] == (
        f"event {chain[5].pk}: carries no key seal although event {chain[0].pk} before it does "
        "(the event was forged or rewritten without the key)."
    )
    assert len([p for p in problems if "carries no key seal" in p]) == len(chain) - 5


def test_the_whole_chain_downgraded_to_plain_sha256_is_caught_by_an_anchor(world):
    call_command("evlims_anchor_audit", stdout=StringIO())
    newest = events()[-1]
    rechain(unsealed)  # no sealed event is left to compare with: the chain alone looks like one from before keying
    problems = audit_trail_problems()
    assert len(problems) == 1
    assert problems[0].endswith(f"event {newest.pk} no longer carries the seal it had (the event was rewritten).")


def test_the_whole_chain_downgraded_is_caught_where_the_site_names_its_last_unsealed_event(world, settings):
    settings.EVLIMS_AUDIT_UNKEYED_UNTIL = 0  # a site that was keyed from its first event
    first = events()[0]
    rechain(unsealed)
    problems = audit_trail_problems()
    assert problems[0].startswith(f"event {first.pk}: carries no key seal, but only events up to 0")
    assert len(problems) == AuditEvent.objects.count()


def test_tail_cut_back_with_the_chain_head_moved_is_caught_by_the_anchor(world):
    for n in range(3):
        register_sample(world, f"TAIL-{n}")
    call_command("evlims_anchor_audit", stdout=StringIO())
    chain = events()
    AuditEvent.objects.filter(pk__gt=chain[-4].pk).delete()
    move_head()
    assert audit_trail_problems() == [
        f"anchor of {anchor_line()['written_at']} (audit-anchors.jsonl line 1): event {chain[-1].pk} it recorded is "
        f"gone (the newest events were removed; the trail now ends at event {chain[-4].pk})."
    ]


def test_the_window_events_after_the_last_anchor_can_be_cut_unnoticed(world):
    """The documented limit: what was written after the newest anchor can be removed with the head moved."""
    call_command("evlims_anchor_audit", stdout=StringIO())
    anchored = AuditEvent.objects.count()
    for n in range(3):
        register_sample(world, f"LATE-{n}")
    AuditEvent.objects.filter(pk__gt=AuditEvent.objects.order_by("id")[anchored - 1].pk).delete()
    move_head()
    assert audit_trail_problems() == []
    # The next anchor makes the shortened trail the reference: the deletion stays unnoticed.
    call_command("evlims_anchor_audit", stdout=StringIO())
    assert audit_trail_problems() == []


def test_every_event_deleted_is_caught_by_the_anchor(world):
    call_command("evlims_anchor_audit", stdout=StringIO())
    count, newest = AuditEvent.objects.count(), events()[-1]
    AuditEvent.objects.all().delete()
    AuditChainHead.objects.update(last_hash="")
    problems = audit_trail_problems()
    assert problems[0] == (
        f"the audit trail is empty, but 1 anchor(s) recorded events, the newest (anchor of "
        f"{anchor_line()['written_at']} (audit-anchors.jsonl line 1)) {count} event(s) up to event {newest.pk} "
        "(every event was deleted)."
    )


def test_events_removed_in_the_middle_are_counted_against_the_anchor(world):
    call_command("evlims_anchor_audit", stdout=StringIO())
    chain = events()
    AuditEvent.objects.filter(pk__in=[chain[3].pk, chain[4].pk]).delete()
    rechain(plain, start=3)
    problems = audit_trail_problems()
    assert any(
        p.endswith(
            f"{len(chain)} event(s) up to event {chain[-1].pk} were recorded, {len(chain) - 2} remain "
            "(events were removed)."
        )
        for p in problems
    )
    assert any("no longer carries the seal it had" in p for p in problems)


def test_a_forged_review_approval_appended_to_the_chain_is_reported(db):
    world = build_lab("FORGE")
    review = review_services.review_verify(
        actor=world.users[Role.QA_MANAGER], review=world.review, password=PASSWORD, statement="Checked"
    )
    head = AuditChainHead.objects.get()
    forged = AuditEvent(
        lab=world.lab,
        occurred_at=timezone.now(),
        actor=world.users[Role.LAB_ADMIN],
        actor_label=world.users[Role.LAB_ADMIN].username,
        action="review.approve",
        object_type="review",
        object_id=str(review.pk),
        object_repr=str(review)[:200],
        changes={"content_hash": "0" * 64, "state": "approved"},
        reason="Released for use",
        previous_hash=head.last_hash,
        key_id="test-1",  # claims the key it does not hold
    )
    forged.entry_hash = _entry_hash(forged.previous_hash, hashed_payload(forged))
    AuditEvent.objects.bulk_create([forged])  # an INSERT below the model's guard
    forged = events()[-1]
    move_head()
    Review.objects.filter(pk=review.pk).update(state=Review.State.APPROVED, closed_at=timezone.now())
    problems = audit_trail_problems()
    assert f"event {forged.pk}: content does not match its hash (the event was edited)." in problems
    assert (
        f"Review {review.pk} of {world.preparation}: audit event {forged.pk} (review.approve) has no signature of "
        "its signer (the signature was deleted, or the event forged)."
    ) in problems
    # The review's state now agrees with the forged event, so only the chain and the signature tell.
    assert not any("its state is" in p for p in problems)


def test_an_event_sealed_with_a_key_that_is_not_configured_is_reported(world):
    target = events()[2]
    AuditEvent.objects.filter(pk=target.pk).update(key_id="k-unknown")
    assert audit_trail_problems() == [
        f"event {target.pk}: sealed with the key 'k-unknown', which is not configured "
        "(the event cannot be verified; configure the key, or the event was forged)."
    ]


# Records, history, signatures and reviews ----------------------------------------------------------------------


def test_a_record_row_edited_in_the_database_is_reported(world):
    Sample.objects.filter(pk=world.sample.pk).update(volume_ml=Decimal("9.5"))
    assert audit_trail_problems() == [
        "Sample TAMPER-S-0001: the stored row differs from its latest history entry (field volume_ml)."
    ]


def test_a_history_row_edited_in_the_database_is_reported(world):
    latest = world.aliquot.history.order_by("-history_id").first()
    type(latest).objects.filter(history_id=latest.history_id).update(volume_ul=Decimal("1.0"), status="consumed")
    assert audit_trail_problems() == [
        f"Aliquot {world.aliquot.barcode}: the stored row differs from its latest history entry "
        "(fields volume_ul, status)."
    ]


def test_a_record_row_deleted_in_the_database_is_reported(world):
    spare = samples.donor_create(actor=world.staff, lab=world.lab, code="TAMPER-SPARE")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM evlims_donor WHERE id = %s", [spare.pk])
    assert not Donor.objects.filter(pk=spare.pk).exists()
    assert audit_trail_problems() == [
        "Donor TAMPER-SPARE: the row is gone although its latest history entry records it as existing "
        "(it was deleted without the application)."
    ]


def test_signed_content_edited_in_the_database_is_reported(world):
    signature = Signature.objects.get(meaning=Signature.Meaning.APPROVED)
    content = signature.content | {"evidence_hash": "f" * 64}
    Signature.objects.filter(pk=signature.pk).update(content=content)
    name = f"Signature {signature.pk} (approved) on Review {world.review.pk} of {world.preparation}"
    assert audit_trail_problems() == [
        f"{name}: the signed content no longer matches its hash (the content was edited)."
    ]
    # Re-hashing the content is not enough: the audit event keeps the hash that was signed.
    Signature.objects.filter(pk=signature.pk).update(content_hash=compliance.canonical_hash(content))
    problems = audit_trail_problems()
    assert len(problems) == 1
    assert problems[0].startswith(f"{name}: its hash differs from the one audit event ")


def test_a_signature_statement_or_signer_edited_in_the_database_is_reported(world):
    signature = Signature.objects.get(meaning=Signature.Meaning.VERIFIED)
    Signature.objects.filter(pk=signature.pk).update(statement="I did not check anything")
    problems = audit_trail_problems()
    assert len(problems) == 1 and "its statement differs from the one audit event" in problems[0]
    Signature.objects.filter(pk=signature.pk).update(statement=signature.statement, signer=world.staff)
    problems = audit_trail_problems()
    assert any("no audit event records this signature" in p for p in problems)
    assert any("has no signature of its signer" in p for p in problems)


def test_a_review_state_edited_in_the_database_is_reported(world):
    Review.objects.filter(pk=world.review.pk).update(state=Review.State.SUBMITTED, closed_at=None)
    assert audit_trail_problems() == [
        f"Review {world.review.pk} of {world.preparation}: its state is submitted, but the audit trail last recorded "
        f"approved (event {AuditEvent.objects.filter(action='review.approve').get().pk}); the state was changed "
        "without the application."
    ]


# Anchors ---------------------------------------------------------------------------------------------------------


def anchor_line(number: int = 1) -> dict:
    path = audit_anchors.anchor_dir() / audit_anchors.ANCHOR_FILE
    return json.loads(path.read_text().splitlines()[number - 1])


def append_line(text: str):
    path = audit_anchors.anchor_dir() / audit_anchors.ANCHOR_FILE
    with path.open("a") as handle:
        handle.write(text + "\n")


def test_a_forged_anchor_line_is_reported_and_not_believed(world):
    call_command("evlims_anchor_audit", stdout=StringIO())
    genuine = anchor_line()
    # Someone who can write to the folder but lacks the key claims more events than there were.
    forged = genuine | {"count": genuine["count"] + 50, "written_at": "2030-01-01T00:00:00+00:00"}
    append_line(json.dumps(forged))
    append_line(json.dumps(genuine | {"key_id": "k-stolen"}))
    append_line("not json at all")
    assert audit_trail_problems() == [
        "anchor of 2030-01-01T00:00:00+00:00 (audit-anchors.jsonl line 2): its seal does not match "
        "(the line was forged or edited).",
        f"anchor of {genuine['written_at']} (audit-anchors.jsonl line 3): sealed with the key 'k-stolen', which is "
        "not configured (configure the key, or the line was forged).",
        "anchor file audit-anchors.jsonl line 4: not an anchor (the line was damaged or written by someone else).",
    ]


def test_anchoring_that_stopped_is_reported(world, settings):
    call_command("evlims_anchor_audit", stdout=StringIO())
    register_sample(world, "UNANCHORED-1")
    event = AuditEvent.objects.filter(pk__gt=anchor_line()["last_id"]).order_by("id").first()
    anchors, _ = audit_anchors.read_anchors()
    assert audit_anchors.unanchored_problems(anchors) == []  # a fresh event: the next anchor is due later
    tomorrow = timezone.now() + dt.timedelta(hours=25)
    problems = audit_anchors.unanchored_problems(anchors, now=tomorrow)
    assert len(problems) == 1 and problems[0].startswith(f"anchors: event {event.pk} of ")
    settings.EVLIMS_AUDIT_ANCHOR_MAX_AGE = None
    assert audit_anchors.unanchored_problems(anchors, now=tomorrow) == []


# Commands, task and schedule -----------------------------------------------------------------------------------


def test_the_verify_command_exits_with_status_1_and_lists_each_problem(world):
    Review.objects.filter(pk=world.review.pk).update(state=Review.State.VERIFIED)
    Sample.objects.filter(pk=world.sample.pk).update(remarks="rewritten")
    err = StringIO()
    with pytest.raises(CommandError, match=r"2 problem\(s\)") as raised:
        call_command("evlims_verify_audit", stdout=StringIO(), stderr=err)
    assert raised.value.returncode == 1  # what manage.py exits with
    assert "field remarks" in err.getvalue() and "its state is verified" in err.getvalue()
    assert verify_audit_trail.delay().get() == 2


def test_the_anchor_command_appends_a_sealed_line_readable_by_its_owner_only(world, anchor_folder):
    out = StringIO()
    call_command("evlims_anchor_audit", stdout=out)
    newest = events()[-1]
    path = anchor_folder / "audit-anchors.jsonl"
    assert out.getvalue().strip() == (
        f"Anchor written to {path}: {AuditEvent.objects.count()} event(s) up to event {newest.pk}, "
        "sealed with the key 'test-1'."
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    line = anchor_line()
    assert (line["last_id"], line["last_hash"], line["count"], line["key_id"]) == (
        newest.pk,
        newest.entry_hash,
        AuditEvent.objects.count(),
        "test-1",
    )
    assert anchor_audit_trail.delay().get() == AuditEvent.objects.count()
    assert len(path.read_text().splitlines()) == 2  # appended, never rewritten


def test_without_an_anchor_folder_the_command_refuses_and_the_task_skips(db, settings):
    settings.EVLIMS_AUDIT_ANCHOR_DIR = None
    with pytest.raises(CommandError, match="EVLIMS_AUDIT_ANCHOR_DIR is not set"):
        call_command("evlims_anchor_audit", stdout=StringIO())
    assert anchor_audit_trail.delay().get() is None
    out = StringIO()
    call_command("evlims_verify_audit", stdout=out)
    assert "No anchor folder is configured" in out.getvalue()


def test_an_empty_trail_can_be_anchored_and_still_verifies(db):
    call_command("evlims_anchor_audit", stdout=StringIO())
    assert anchor_line()["count"] == 0 and anchor_line()["last_id"] is None
    assert audit_trail_problems() == []


def test_the_anchor_task_runs_every_hour():
    entry = BEAT_SCHEDULE["evlims-anchor-audit-trail"]
    assert entry == {"task": "evlims.tasks.anchor_audit_trail", "schedule": 3600.0}
    assert anchor_audit_trail.name == entry["task"]


# Keys ------------------------------------------------------------------------------------------------------------


def test_after_rotation_old_events_verify_under_the_old_key_and_new_ones_are_sealed_with_the_new(world, settings):
    call_command("evlims_anchor_audit", stdout=StringIO())
    settings.EVLIMS_AUDIT_KEYS = {"test-1": TEST_KEY, "test-2": NEW_KEY}
    settings.EVLIMS_AUDIT_KEY_ID = "test-2"
    register_sample(world, "ROTATED-1")
    call_command("evlims_anchor_audit", stdout=StringIO())
    assert [e.key_id for e in events()][-2:] == ["test-1", "test-2"]
    assert anchor_line(2)["key_id"] == "test-2"
    assert audit_trail_problems() == []
    # Dropping the old key leaves its events (and anchors) unverifiable, which is reported.
    settings.EVLIMS_AUDIT_KEYS = {"test-2": NEW_KEY}
    problems = audit_trail_problems()
    assert (
        problems[0].startswith("anchor of ") and "sealed with the key 'test-1', which is not configured" in problems[0]
    )
    assert (
        sum("sealed with the key 'test-1', which is not configured" in p for p in problems)
        == AuditEvent.objects.count()
    )


def test_events_from_before_keying_still_verify_and_the_keyed_ones_follow_them(world):
    legacy = 4
    boundary = events()[legacy - 1].pk
    rechain(lambda event: ("", None) if event.pk <= boundary else ("test-1", TEST_KEY.encode()))
    assert [bool(e.key_id) for e in events()][: legacy + 1] == [False] * legacy + [True]
    assert audit_trail_problems() == []
    register_sample(world, "AFTER-KEYING")
    assert audit_trail_problems() == []


def test_without_configured_keys_the_key_is_derived_from_secret_key(settings, staff, project):
    settings.EVLIMS_AUDIT_KEYS, settings.EVLIMS_AUDIT_KEY_ID = {}, ""
    settings.SECRET_KEY = "derived-" + "x9" * 30
    first_id, _ = audit_keys.derived_key(settings.SECRET_KEY)
    samples.sample_register(actor=staff, project=project, biofluid="serum", volume_ml=Decimal("1"))
    assert first_id.startswith("sk-") and {e.key_id for e in events()} == {first_id}
    assert audit_trail_problems() == [] and checks.check_audit_key(None) == []
    # A new SECRET_KEY with the old one among the fallbacks (Django's rotation): both keep verifying.
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "rotated-" + "y8" * 30, [settings.SECRET_KEY]
    samples.sample_register(actor=staff, project=project, biofluid="serum", volume_ml=Decimal("2"))
    assert events()[-1].key_id not in ("", first_id)
    assert audit_trail_problems() == []
    settings.SECRET_KEY_FALLBACKS = []
    assert any(f"sealed with the key '{first_id}', which is not configured" in p for p in audit_trail_problems())


def test_a_missing_or_broken_key_is_a_system_check_message(settings):
    settings.EVLIMS_AUDIT_KEYS = {}
    settings.EVLIMS_AUDIT_KEY_ID = ""
    settings.SECRET_KEY = "insecure-local-development-key-change-me"  # the demo's public default
    assert [m.id for m in checks.check_audit_key(None)] == ["evlims.W008"]
    settings.SECRET_KEY = "strong-" + "q7" * 30  # a real SECRET_KEY: the key derived from it is a secret
    assert checks.check_audit_key(None) == []
    settings.EVLIMS_AUDIT_KEYS = {"k1": TEST_KEY}
    settings.EVLIMS_AUDIT_KEY_ID = "k2"
    messages = checks.check_audit_key(None)
    assert [m.id for m in messages] == ["evlims.E002"]
    assert "EVLIMS_AUDIT_KEY_ID is 'k2', but EVLIMS_AUDIT_KEYS holds no key of that id" in messages[0].msg
    settings.EVLIMS_AUDIT_KEYS = {"k1": TEST_KEY, "k2": NEW_KEY}
    settings.EVLIMS_AUDIT_KEY_ID = ""
    assert [m.id for m in checks.check_audit_key(None)] == ["evlims.E002"]
    settings.EVLIMS_AUDIT_KEYS = {"k1": "short"}
    assert [m.id for m in checks.check_audit_key(None)] == ["evlims.W009"]


def test_keys_come_from_the_environment_or_a_key_file(tmp_path):
    assert audit_keys.keys_from_environment({}) == ({}, "")
    assert audit_keys.keys_from_environment({"EVLIMS_AUDIT_KEY": "abc123"}) == ({"k1": "abc123"}, "k1")
    assert audit_keys.keys_from_environment({"EVLIMS_AUDIT_KEY": "abc123", "EVLIMS_AUDIT_KEY_ID": "2027"}) == (
        {"2027": "abc123"},
        "2027",
    )
    keyring = tmp_path / "audit-keys"
    keyring.write_text("# retired first, the current one last\nk1:old-secret\nk2:new-secret\n")
    assert audit_keys.keys_from_environment({"EVLIMS_AUDIT_KEY_FILE": str(keyring)}) == (
        {"k1": "old-secret", "k2": "new-secret"},
        "k2",
    )
    found = audit_keys.keys_from_environment({"EVLIMS_AUDIT_KEY_FILE": str(keyring), "EVLIMS_AUDIT_KEY_ID": "k1"})
    assert found[1] == "k1"


def test_the_demo_key_file_is_created_on_first_use_and_readable_by_its_owner_only(tmp_path, settings, staff, project):
    path = tmp_path / "var" / "audit-key"
    settings.EVLIMS_AUDIT_KEYS, settings.EVLIMS_AUDIT_KEY_ID = audit_keys.DemoKeyFile(path), ""
    assert not path.exists()  # loading the settings wrote nothing
    samples.sample_register(actor=staff, project=project, biofluid="serum", volume_ml=Decimal("1"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keys, key_id = audit_keys.demo_key_file(path)
    assert key_id == "demo" and len(keys["demo"]) == 64 and events()[-1].key_id == "demo"
    assert list(path.parent.iterdir()) == [path]
    assert audit_trail_problems() == [] and checks.check_audit_key(None) == []


def test_a_keyed_seal_is_not_a_plain_hash(world):
    event = events()[0]
    plain_hash = hashlib.sha256(
        (event.previous_hash + json.dumps(hashed_payload(event), sort_keys=True, separators=(",", ":"))).encode()
    ).hexdigest()
    assert event.entry_hash != plain_hash
    assert event.entry_hash == _entry_hash(event.previous_hash, hashed_payload(event), TEST_KEY.encode())


def test_the_site_settings_read_the_key_and_the_anchor_folder_from_the_environment(tmp_path):
    from tests.test_settings import LONG_SECRET, ROOT, load_settings

    names = ["EVLIMS_AUDIT_KEYS", "EVLIMS_AUDIT_KEY_ID", "EVLIMS_AUDIT_ANCHOR_DIR"]
    keyring = tmp_path / "audit-keys"
    keyring.write_text("k1:" + "a" * 64 + "\nk2:" + "b" * 64 + "\n")
    production = load_settings(
        "config.settings.production",
        names,
        SECRET_KEY=LONG_SECRET,
        ALLOWED_HOSTS="lims.example.org",
        EVLIMS_AUDIT_KEY_FILE=str(keyring),
        EVLIMS_AUDIT_ANCHOR_DIR="/mnt/worm/evlims-anchors",
    )
    assert production == {
        "EVLIMS_AUDIT_KEYS": {"k1": "a" * 64, "k2": "b" * 64},
        "EVLIMS_AUDIT_KEY_ID": "k2",
        "EVLIMS_AUDIT_ANCHOR_DIR": "/mnt/worm/evlims-anchors",
    }
    # Nothing configured: production derives the key from SECRET_KEY; the demo keeps a key file under var/.
    bare = load_settings("config.settings.production", names, SECRET_KEY=LONG_SECRET, ALLOWED_HOSTS="x.org")
    assert bare == {
        "EVLIMS_AUDIT_KEYS": {},
        "EVLIMS_AUDIT_KEY_ID": "",
        "EVLIMS_AUDIT_ANCHOR_DIR": str(ROOT / "var" / "audit-anchors"),
    }
    demo = load_settings("config.settings.local", names)
    assert demo["EVLIMS_AUDIT_KEYS"] == f"DemoKeyFile({str(ROOT / 'var' / 'audit-key')!r})"
