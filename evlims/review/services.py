"""QA review with electronic signatures: submit a preparation or a run, verify, approve or reject it (each
signature re-authenticated and covering the hash of what it signs), and void an approval when a locked record
changes."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..compliance.models import ComplianceEvaluation, Review, Signature
from ..compliance.selectors import mandatory_failures_of
from ..compliance.services import canonical_hash, evaluate_preparations
from ..conf import evlims_settings
from ..core.audit import record_event
from ..core.tenancy import REVIEWER_ROLES, WRITER_ROLES, ensure_role
from ..isolation.models import IsolationRun
from ..isolation.selectors import preparations_in_state
from . import selectors
from .duties import review_producers
from .events import announce
from .signatures import check_signer

OPEN_STATES = (Review.State.SUBMITTED, Review.State.VERIFIED, Review.State.APPROVED)


def is_locked(preparation) -> bool:
    return Review.objects.filter(preparation=preparation, state=Review.State.APPROVED).exists()


def _signed_content(review) -> dict:
    if review.preparation_id:
        evaluation = ComplianceEvaluation.objects.filter(preparation_id=review.preparation_id).first()
        prep = review.preparation
        return {
            "preparation": prep.barcode,
            "version": prep.version,
            "evaluation": evaluation.full_report if evaluation else None,
            "evidence_hash": evaluation.evidence_hash if evaluation else None,
        } | ({"justification": review.justification} if review.justification else {})
    run = review.run
    evaluations = ComplianceEvaluation.objects.filter(preparation__run=run).order_by("preparation_id")
    return {
        "run": run.code,
        "version": run.version,
        "evidence": {str(e.preparation_id): e.evidence_hash for e in evaluations},
    } | ({"justification": review.justification} if review.justification else {})


@transaction.atomic
def review_submit(*, actor, preparation=None, run=None, reason: str = "", justification: str = "") -> Review:
    """Open a review of a preparation or a run. A preparation, or a run with a preparation, whose evaluation
    (refreshed first) has mandatory failures is submitted only with a justification, which the reviewers see
    and the signatures cover. ``reason`` is the submitter's note to the reviewers (kept as ``Review.note``)."""
    subject = preparation or run
    if (preparation is None) == (run is None):
        raise ValidationError({"subject": "Submit either a preparation or a run."})
    ensure_role(actor, subject.lab_id, WRITER_ROLES, "submit records for review")
    if Review.objects.filter(preparation=preparation, run=run, state__in=OPEN_STATES).exists():
        raise ValidationError({"subject": f"{subject} already has an open or approved review."})
    prep_ids = _produced_ids(preparation=preparation, run=run)
    evaluate_preparations(prep_ids)
    failures = mandatory_failures_of(prep_ids)
    justification = (justification or "").strip()
    if failures and not justification:
        listed = "; ".join(f"{failure['title']} ({failure['id']})" for failure in failures)
        raise ValidationError(
            {
                "justification": f"{subject} fails {len(failures)} mandatory rule{'s' if len(failures) != 1 else ''}"
                f" ({listed}). Say why it should be reviewed as it is."
            }
        )
    review = Review.objects.create(
        lab_id=subject.lab_id,
        preparation=preparation,
        run=run,
        submitted_by=actor,
        submitted_at=timezone.now(),
        note=reason,
        justification=justification,
    )
    changes = {"subject": str(subject)}
    if justification:
        changes |= {"mandatory_failures": [failure["id"] for failure in failures], "justification": justification}
    record_event(actor=actor, action="review.submit", obj=review, lab=review.lab, reason=reason, changes=changes)
    announce("review.submit", review, actor)
    return review


def _produced_ids(*, preparation=None, run=None) -> list[int]:
    """The preparations a review covers: the preparation, or the run's. Refused while they are not produced: a
    planned or in-progress run's barcodes are labels, an aborted run produced nothing."""
    run = run or preparation.run
    if run.status == IsolationRun.Status.COMPLETED:
        if preparation is not None:
            return [preparation.pk]
        return list(preparations_in_state(run.preparations.all()).values_list("pk", flat=True))
    if run.status == IsolationRun.Status.ABORTED:
        why = f"run {run.code} was aborted: it produced nothing to review"
    else:
        why = f"run {run.code} is {run.get_status_display().lower()}: complete the run before submitting it for review"
    if preparation is not None:
        raise ValidationError({"preparation": f"{preparation.barcode} is not produced: its {why}."})
    raise ValidationError({"run": f"Run {why.removeprefix('run ')}."})


def _sign(*, actor, review, statement: str, meaning: str, method: str) -> Signature:
    """Check who may sign and store the signature with the hash of what is signed and how the signer proved who
    they were (checked before the transaction, by ``signatures.check_signer``)."""
    if not (statement or "").strip():
        raise ValidationError({"statement": "State what your signature means."})
    ensure_role(actor, review.lab_id, REVIEWER_ROLES, "sign reviews")
    if actor.pk in review_producers(review):
        raise PermissionDenied("You submitted or produced this record; someone else must review it.")
    content = _signed_content(review)
    return Signature.objects.create(
        review=review,
        signer=actor,
        meaning=meaning,
        statement=statement.strip(),
        signed_at=timezone.now(),
        content=content,
        content_hash=canonical_hash(content),
        method=method,
    )


def _locked_review(review) -> Review:
    return Review.objects.select_for_update(of=("self",)).select_related("preparation__run", "run").get(pk=review.pk)


def review_verify(
    *, actor, review, statement: str, password: str = "", reason: str = "", reauthentication: dict | None = None
) -> Review:
    method = check_signer(
        actor=actor,
        review=review,
        password=password,
        reauthentication=reauthentication,
        meaning=Signature.Meaning.VERIFIED,
    )
    return _verify(actor=actor, review=review, statement=statement, reason=reason, method=method)


@transaction.atomic
def _verify(*, actor, review, statement: str, reason: str, method: str) -> Review:
    review = _locked_review(review)
    if review.state != Review.State.SUBMITTED:
        raise ValidationError({"state": f"This review is {review.get_state_display().lower()}."})
    if review.signatures.filter(signer=actor, meaning=Signature.Meaning.VERIFIED).exists():
        raise ValidationError({"signer": "You have already verified this record."})
    signature = _sign(
        actor=actor, review=review, statement=statement, meaning=Signature.Meaning.VERIFIED, method=method
    )
    verifiers = review.signatures.filter(meaning=Signature.Meaning.VERIFIED).values("signer").distinct().count()
    if verifiers >= evlims_settings.REQUIRED_VERIFIERS:
        review.state = Review.State.VERIFIED
        review.save(update_fields=["state", "updated_at"])
    record_event(
        actor=actor,
        action="review.verify",
        obj=review,
        lab=review.lab,
        reason=_audit_reason(statement, reason),
        changes={"content_hash": signature.content_hash, "state": review.state, "method": method},
    )
    announce("review.verify", review, actor)
    return review


def _audit_reason(statement: str, reason: str) -> str:
    """The audit event's why for a signature: the reason given, or else the signed statement, which for a
    rejection is the rejection reason (kept once, on the signature; the event repeats it as it always has)."""
    return reason.strip() or statement


def _sign_and_close(
    *, actor, review, statement: str, reason: str, meaning: str, state: str, action: str, method: str
) -> Review:
    """Sign with ``meaning``, close the review in ``state`` and audit it (approve and reject end alike)."""
    signature = _sign(actor=actor, review=review, statement=statement, meaning=meaning, method=method)
    review.state, review.closed_at = state, timezone.now()
    review.save(update_fields=["state", "closed_at", "updated_at"])
    record_event(
        actor=actor,
        action=action,
        obj=review,
        lab=review.lab,
        reason=_audit_reason(statement, reason),
        changes={"content_hash": signature.content_hash, "state": str(state), "method": method},
    )
    announce(action, review, actor)
    return review


def review_approve(
    *, actor, review, statement: str, password: str = "", reason: str = "", reauthentication: dict | None = None
) -> Review:
    method = check_signer(
        actor=actor,
        review=review,
        password=password,
        reauthentication=reauthentication,
        meaning=Signature.Meaning.APPROVED,
    )
    return _approve(actor=actor, review=review, statement=statement, reason=reason, method=method)


@transaction.atomic
def _approve(*, actor, review, statement: str, reason: str, method: str) -> Review:
    review = _locked_review(review)
    if review.state != Review.State.VERIFIED:
        raise ValidationError({"state": "Only verified records can be approved."})
    if review.signatures.filter(signer=actor, meaning=Signature.Meaning.VERIFIED).exists():
        raise PermissionDenied("You verified this record; another QA manager must approve it.")
    return _sign_and_close(
        actor=actor,
        review=review,
        statement=statement,
        reason=reason,
        meaning=Signature.Meaning.APPROVED,
        state=Review.State.APPROVED,
        action="review.approve",
        method=method,
    )


def review_reject(
    *, actor, review, statement: str, password: str = "", reason: str = "", reauthentication: dict | None = None
) -> Review:
    method = check_signer(
        actor=actor,
        review=review,
        password=password,
        reauthentication=reauthentication,
        meaning=Signature.Meaning.REJECTED,
    )
    return _reject(actor=actor, review=review, statement=statement, reason=reason, method=method)


@transaction.atomic
def _reject(*, actor, review, statement: str, reason: str, method: str) -> Review:
    review = _locked_review(review)
    if review.state not in (Review.State.SUBMITTED, Review.State.VERIFIED):
        raise ValidationError({"state": f"This review is {review.get_state_display().lower()}."})
    return _sign_and_close(
        actor=actor,
        review=review,
        statement=statement,
        reason=reason,
        meaning=Signature.Meaning.REJECTED,
        state=Review.State.REJECTED,
        action="review.reject",
        method=method,
    )


def void_approvals(*, actor, preparation_ids, reason: str) -> int:
    """A change to an approved (locked) record voids its approval; the change and the voiding are audited.

    Must run inside the transaction of the change. Returns the number of approvals voided.
    """
    if not reason.strip():
        raise ValidationError({"reason": "Approved records are locked: say why this one is changed."})
    ids = list(preparation_ids)
    subject = Q(preparation_id__in=ids) | Q(run__preparations__in=ids)
    review_ids = set(Review.objects.filter(subject, state=Review.State.APPROVED).values_list("pk", flat=True))
    # Lock by primary key: PostgreSQL refuses FOR UPDATE together with the DISTINCT the join would need.
    reviews = list(Review.objects.select_for_update().filter(pk__in=review_ids, state=Review.State.APPROVED))
    for review in reviews:
        review.state = Review.State.VOIDED
        review.save(update_fields=["state", "updated_at"])
        record_event(
            actor=actor,
            action="review.void",
            obj=review,
            lab=review.lab,
            reason=reason,
            changes={"state": ["approved", "voided"]},
        )
        announce("review.void", review, actor)
    return len(reviews)


def preparations_locked(preparation_ids) -> set[int]:
    """The preparations approved directly or through their run (the record-lock provider's answer)."""
    return selectors.locked_preparation_ids(preparation_ids)


def approvals_affected(preparation_ids) -> list[dict]:
    """The approvals a change to these preparations would void (the record-lock provider's answer)."""
    return selectors.approvals_covering(preparation_ids)
