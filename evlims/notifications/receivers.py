"""Who is told what: the receivers ``EvlimsConfig.ready()`` connects to the review's steps and to the metric
figures stored, turning each event into notifications for the members of the event's own lab.

- a review submitted → the lab's QA managers (its admins when it has no QA manager), not the submitter;
- a review verified (fully: the state moved to verified), rejected or approved → the person who submitted it;
- an approval voided by a change → the lab's admins;
- a control chart of the lab breaking a Westgard rejection rule → the lab's admins, once per violation.

The acting person is never told of their own step. A receiver never breaks the change that announced it: its
writes run in a savepoint, and an error is logged and dropped with them."""

import hashlib
import logging

from django.db import transaction
from django.urls import reverse

from ..core.actors import actor_label
from ..core.models import Lab, Membership, Role
from ..metrics.control_charts import charts_for
from ..metrics.models import ControlMaterial
from . import kinds
from .services import notify

logger = logging.getLogger(__name__)


def _members(lab_id, roles) -> list[int]:
    return list(Membership.objects.filter(lab_id=lab_id, role__in=roles).values_list("user_id", flat=True))


def _subject(review) -> str:
    return review.preparation.barcode if review.preparation_id else f"run {review.run.code}"


def _review_notice(action: str, review, actor) -> tuple[str, list[int], str, str] | None:
    """(kind, recipients, title, body) for a review step, or None when nobody is to be told."""
    subject, who = _subject(review), actor_label(actor)
    if action == "review.submit":
        reviewers = _members(review.lab_id, [Role.QA_MANAGER]) or _members(review.lab_id, [Role.LAB_ADMIN])
        note = f"\n\nNote from {who}: {review.note}" if review.note else ""
        return (
            kinds.REVIEW_SUBMITTED,
            reviewers,
            f"{subject} submitted for review",
            f"{who} submitted {subject} for QA review.{note}",
        )
    submitter = [review.submitted_by_id] if review.submitted_by_id else []
    if action == "review.verify" and review.state == review.State.VERIFIED:
        return kinds.REVIEW_VERIFIED, submitter, f"{subject} verified", f"{who} verified {subject}; it awaits approval."
    if action == "review.approve":
        return kinds.REVIEW_APPROVED, submitter, f"{subject} approved", f"{who} approved {subject}."
    if action == "review.reject":
        signature = review.signatures.order_by("-signed_at", "-pk").first()
        why = f" Reason: {signature.statement}" if signature else ""
        return kinds.REVIEW_REJECTED, submitter, f"{subject} rejected", f"{who} rejected {subject}.{why}"
    if action == "review.void":
        admins = _members(review.lab_id, [Role.LAB_ADMIN])
        return (
            kinds.APPROVAL_VOIDED,
            admins,
            f"Approval of {subject} voided",
            f"{who} changed {subject} after it was approved, which voided its approval: it needs a new review.",
        )
    return None


def review_event(*, action: str, review, actor) -> None:
    """Receiver of ``review.events.review_events``: runs inside the review step's transaction."""
    try:
        notice = _review_notice(action, review, actor)
        if notice is None:
            return
        kind, recipients, title, body = notice
        recipients = [user for user in recipients if user != getattr(actor, "pk", None)]
        with transaction.atomic():
            notify(
                lab=review.lab,
                kind=kind,
                recipients=recipients,
                title=title,
                body=body,
                link=reverse("evlims:review-detail", args=[review.pk]),
            )
    except Exception:
        logger.exception("notifications of %s on review %s not written", action, review.pk)


def _violation_key(violation: dict, figure: str) -> str:
    named = f"{figure}|{violation['rule']}|{violation['scope_key']}|{','.join(sorted(violation['barcodes']))}"
    return "westgard:" + hashlib.sha256(named.encode()).hexdigest()[:48]


def control_rules_check(lab_ids) -> int:
    """Tell each lab's admins about every Westgard rejection its control charts show that they were not told
    about yet. Returns the notifications written."""
    written = 0
    for lab in Lab.objects.filter(pk__in=lab_ids):
        materials = list(ControlMaterial.objects.filter(lab=lab))
        if not materials:
            continue
        admins = _members(lab.pk, [Role.LAB_ADMIN])
        for chart in charts_for(materials):
            for violation in chart.violations:
                if violation["severity"] != "Reject":
                    continue
                body = (
                    f"{chart.material.name} ({chart.protocol}), {chart.figure_label}: rule {violation['rule']} "
                    f"broken ({violation['scope']}) in run {violation['run_code']}, preparations "
                    f"{violation['preparations']}. Hold the results of that run until the cause is found."
                )
                with transaction.atomic():
                    written += len(
                        notify(
                            lab=lab,
                            kind=kinds.CONTROL_RULE_BROKEN,
                            recipients=admins,
                            title=f"{chart.material.name}: Westgard rule {violation['rule']} broken",
                            body=body,
                            link=reverse("evlims:control-detail", args=[chart.material.pk]),
                            key=_violation_key(violation, chart.figure),
                        )
                    )
    return written
