"""Four eyes, derived from the whole record: whoever wrote any part of what is reviewed or approved does not sign it.

A review's producers are its submitter, the run's operator and step recorders, the authors and editors of the
run's protocol version, whoever recorded a result on its preparations, and whoever changed its preparations,
aliquots, samples or donors (from the audit trail). A protocol version's authors are its creator and everyone
who saved a draft over it. See docs/qa-review.md, "Separation of duties".
"""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from evlims.characterization.services import record_results
from evlims.compliance.models import Review, Signature
from evlims.core.models import AuditEvent, Role
from evlims.isolation import services as isolation
from evlims.isolation.models import ProtocolVersion
from evlims.review import services as review_services
from evlims.samples import services as samples
from tests.security.world import PASSWORD, lab_protocol_yaml


def draft_text(marker: str, version: str, title: str) -> str:
    return lab_protocol_yaml(marker, title).replace("version: 1.0.0", f"version: {version}", 1)


@pytest.fixture
def admin(alpha):
    return alpha.users[Role.LAB_ADMIN]


@pytest.fixture
def qa(alpha):
    return alpha.users[Role.QA_MANAGER]


# ---------------------------------------------------------------- protocol versions


def test_reposting_a_staff_draft_makes_the_admin_an_author_who_cannot_approve(alpha, admin, qa):
    draft = isolation.protocol_version_save_draft(
        actor=alpha.staff, lab=alpha.lab, source_text=draft_text("ALPHA", "2.0.0", "Staff wording")
    )
    reposted = isolation.protocol_version_save_draft(
        actor=admin, lab=alpha.lab, source_text=draft_text("ALPHA", "2.0.0", "Admin wording")
    )
    assert reposted.pk == draft.pk and reposted.created_by == alpha.staff  # the content changed, the creator stayed
    assert "Admin wording" in reposted.source_text
    with pytest.raises(ValidationError, match="wrote or changed this version"):
        isolation.protocol_version_approve(actor=admin, version=reposted)
    reposted.refresh_from_db()
    assert reposted.status == ProtocolVersion.Status.DRAFT and reposted.approved_by is None
    assert AuditEvent.objects.filter(
        action="protocol_version.update_draft", object_id=str(draft.pk), actor=admin
    ).exists()
    # Someone who wrote none of it may approve.
    approved = isolation.protocol_version_approve(actor=qa, version=reposted)
    assert approved.status == ProtocolVersion.Status.APPROVED and approved.approved_by == qa


@pytest.mark.parametrize("status", [ProtocolVersion.Status.APPROVED, ProtocolVersion.Status.RETIRED])
def test_a_published_version_number_is_never_reposted_with_other_content(alpha, admin, qa, status):
    version = alpha.protocol_version  # approved by the lab's QA manager in build_lab
    if status == ProtocolVersion.Status.RETIRED:
        version = isolation.protocol_version_retire(actor=qa, version=version, reason="Superseded")
    before = (version.source_text, version.content_hash, version.status)
    for actor in (alpha.staff, admin):
        with pytest.raises(ValidationError, match="cannot change; save it as a new version"):
            isolation.protocol_version_save_draft(
                actor=actor, lab=alpha.lab, source_text=lab_protocol_yaml("ALPHA", "Rewritten after the fact")
            )
    version.refresh_from_db()
    assert (version.source_text, version.content_hash, version.status) == before
    assert not AuditEvent.objects.filter(action="protocol_version.update_draft", object_id=str(version.pk)).exists()


# ---------------------------------------------------------------- reviews


TSG101 = {"kind": "marker", "method": "western_blot", "marker": {"protein": "TSG101", "detected": True}}


def record_a_result(actor, lab, preparation):
    record_results(actor=actor, lab=lab, documents=[dict(TSG101, preparation=preparation.barcode)])


def edit_the_preparation(actor, world):
    prep = world.preparation
    prep.refresh_from_db()
    isolation.preparation_update(
        prep=prep, actor=actor, reason="Buffer corrected", expected_version=prep.version, changes={"buffer": "PBS"}
    )


def edit_the_sample(actor, world):
    sample = world.sample
    sample.refresh_from_db()
    samples.sample_update(
        sample=sample,
        actor=actor,
        reason="Volume corrected",
        expected_version=sample.version,
        changes={"volume_ml": Decimal("3.5")},
    )


def write_the_protocol(actor, world):
    """The run follows a version the actor re-saved as a draft before the QA manager approved it."""
    isolation.protocol_version_save_draft(
        actor=world.staff, lab=world.lab, source_text=draft_text(world.marker, "3.0.0", "Staff wording")
    )
    version = isolation.protocol_version_save_draft(
        actor=actor, lab=world.lab, source_text=draft_text(world.marker, "3.0.0", "Admin wording")
    )
    version = isolation.protocol_version_approve(actor=world.users[Role.QA_MANAGER], version=version)
    world.run.protocol_version = version
    world.run.save(update_fields=["protocol_version"])


PRODUCTIONS = {
    "records a result": lambda actor, world: record_a_result(actor, world.lab, world.preparation),
    "edits the preparation": edit_the_preparation,
    "edits the input sample": edit_the_sample,
    "re-saved the run's protocol draft": write_the_protocol,
}


@pytest.mark.parametrize("production", sorted(PRODUCTIONS))
def test_a_lab_admin_who_produced_part_of_the_record_cannot_verify_it(alpha, admin, production):
    PRODUCTIONS[production](admin, alpha)
    with pytest.raises(PermissionDenied, match="someone else must review it"):
        review_services.review_verify(actor=admin, review=alpha.review, password=PASSWORD, statement="Looks right")
    assert not Signature.objects.filter(review=alpha.review).exists()
    alpha.review.refresh_from_db()
    assert alpha.review.state == Review.State.SUBMITTED


def test_a_result_recorder_cannot_approve_either(alpha, admin, qa):
    record_a_result(admin, alpha.lab, alpha.preparation)
    review = review_services.review_verify(actor=qa, review=alpha.review, password=PASSWORD, statement="Checked")
    assert review.state == Review.State.VERIFIED
    with pytest.raises(PermissionDenied, match="someone else must review it"):
        review_services.review_approve(actor=admin, review=review, password=PASSWORD, statement="Released")
    review.refresh_from_db()
    assert review.state == Review.State.VERIFIED
    assert not Signature.objects.filter(review=review, meaning=Signature.Meaning.APPROVED).exists()


def test_a_result_on_one_preparation_makes_its_recorder_a_producer_of_the_run_review(alpha, admin):
    other = alpha.run.preparations.exclude(pk=alpha.preparation.pk).first()
    record_a_result(admin, alpha.lab, other)
    review_services.review_reject(
        actor=alpha.users[Role.QA_MANAGER], review=alpha.review, password=PASSWORD, statement="x"
    )
    run_review = review_services.review_submit(actor=alpha.staff, run=alpha.run, justification="Pilot run, as it is")
    with pytest.raises(PermissionDenied, match="someone else must review it"):
        review_services.review_verify(actor=admin, review=run_review, password=PASSWORD, statement="ok")


def test_a_lab_admin_who_produced_nothing_still_verifies(alpha, admin):
    # The control: the rule does not refuse every lab admin, so the tests above can fail.
    record_a_result(admin, alpha.lab, alpha.run.preparations.exclude(pk=alpha.preparation.pk).first())
    review = review_services.review_verify(actor=admin, review=alpha.review, password=PASSWORD, statement="Checked")
    assert review.state == Review.State.VERIFIED
