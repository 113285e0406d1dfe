"""Signatures and review states against the audit trail, for the audit verification.

A signature stores what was signed (``content``) and its hash; the audit event written with it (``review.verify``,
``review.approve``, ``review.reject``) holds the same hash, the signer and the signer's statement, under the
trail's key seal. A signature whose content no longer gives its hash, or that disagrees with its event, or that
has no event (or an event without its signature), was changed behind the application. Likewise a review's
state is the one its newest state-changing event records.

Read in chunks of ``CHUNK`` rows, a few queries per chunk, so memory stays flat.
"""

from collections import defaultdict

from ..compliance.models import Review, Signature
from ..compliance.services import canonical_hash
from ..core.models import AuditEvent

CHUNK = 1000
# The audit action written with each kind of signature, and the reverse.
SIGNING_ACTIONS = {
    Signature.Meaning.VERIFIED: "review.verify",
    Signature.Meaning.APPROVED: "review.approve",
    Signature.Meaning.REJECTED: "review.reject",
}
MEANING_OF_ACTION = {action: str(meaning) for meaning, action in SIGNING_ACTIONS.items()}
STATE_ACTIONS = ("review.submit", *SIGNING_ACTIONS.values(), "review.void")


def _chunks(queryset, fields, chunk: int):
    """Rows of ``queryset`` as dicts of ``fields``, in primary-key order, ``chunk`` at a time."""
    last = None
    while True:
        rows = queryset.order_by("pk")
        if last is not None:
            rows = rows.filter(pk__gt=last)
        page = list(rows.values("pk", *fields)[:chunk])
        if not page:
            return
        yield page
        last = page[-1]["pk"]
        if len(page) < chunk:
            return


def _review_name(review_id) -> str:
    review = Review.objects.select_related("preparation", "run").filter(pk=review_id).first()
    if review is None:
        return f"Review {review_id}"
    return f"Review {review_id} of {review.preparation or review.run}"


def _signature_name(signature: dict) -> str:
    return f"Signature {signature['pk']} ({signature['meaning']}) on {_review_name(signature['review_id'])}"


def _events(review_ids, actions, fields=("object_id", "action", "actor_id", "changes", "reason")):
    return AuditEvent.objects.filter(
        object_type="review", object_id__in=[str(pk) for pk in review_ids], action__in=actions
    ).values("pk", *fields)


def signature_problems(*, chunk: int = CHUNK) -> list[str]:
    """Signatures whose content, hash, signer or statement changed since they were signed, signatures without
    their audit event, and signing events without their signature."""
    problems = []
    fields = ("review_id", "signer_id", "meaning", "statement", "content", "content_hash")
    for page in _chunks(Signature.objects.all(), fields, chunk):
        events = defaultdict(list)
        for event in _events({s["review_id"] for s in page}, list(SIGNING_ACTIONS.values())):
            events[(event["object_id"], event["action"], event["actor_id"])].append(event)
        for signature in page:
            problems += _signature_problems(signature, events)
    return problems + _events_without_signature(chunk)


def _events_without_signature(chunk: int) -> list[str]:
    problems = []
    signing = AuditEvent.objects.filter(object_type="review", action__in=list(MEANING_OF_ACTION))
    for page in _chunks(signing, ("object_id", "action", "actor_id"), chunk):
        review_ids = {int(e["object_id"]) for e in page if e["object_id"].isdigit()}
        signed = {
            (str(review_id), meaning, signer_id)
            for review_id, meaning, signer_id in Signature.objects.filter(review_id__in=review_ids).values_list(
                "review_id", "meaning", "signer_id"
            )
        }
        for event in page:
            if (event["object_id"], MEANING_OF_ACTION[event["action"]], event["actor_id"]) not in signed:
                problems.append(
                    f"{_review_name(event['object_id'])}: audit event {event['pk']} ({event['action']}) has no "
                    "signature of its signer (the signature was deleted, or the event forged)."
                )
    return problems


def _signature_problems(signature: dict, events: dict) -> list[str]:
    name = _signature_name(signature)
    problems = []
    if canonical_hash(signature["content"]) != signature["content_hash"]:
        problems.append(f"{name}: the signed content no longer matches its hash (the content was edited).")
    action = SIGNING_ACTIONS.get(signature["meaning"])
    matching = events.get((str(signature["review_id"]), action, signature["signer_id"]), [])
    if not matching:
        return [*problems, f"{name}: no audit event records this signature (it was added or altered afterwards)."]
    event = matching[-1]
    if (event["changes"] or {}).get("content_hash") != signature["content_hash"]:
        problems.append(
            f"{name}: its hash differs from the one audit event {event['pk']} recorded (what was signed was changed)."
        )
    if (event["reason"] or "") != signature["statement"]:
        problems.append(
            f"{name}: its statement differs from the one audit event {event['pk']} recorded (the statement was edited)."
        )
    return problems


def _recorded_state(event: dict) -> str | None:
    if event["action"] == "review.submit":
        return str(Review.State.SUBMITTED)
    state = (event["changes"] or {}).get("state")
    if isinstance(state, list):
        return str(state[-1]) if state else None
    return str(state) if state else None


def review_state_problems(*, chunk: int = CHUNK) -> list[str]:
    """Reviews whose state is not the one their newest state-changing audit event records."""
    problems = []
    for page in _chunks(Review.objects.all(), ("state",), chunk):
        recorded = {}
        events = _events([r["pk"] for r in page], STATE_ACTIONS, fields=("object_id", "action", "changes"))
        for event in events.order_by("id"):
            state = _recorded_state(event)
            if state:
                recorded[event["object_id"]] = (state, event["pk"])
        for review in page:
            found = recorded.get(str(review["pk"]))
            if found is None:
                problems.append(
                    f"{_review_name(review['pk'])}: no audit event records its state ({review['state']}); "
                    "the review was written without the application."
                )
            elif found[0] != review["state"]:
                problems.append(
                    f"{_review_name(review['pk'])}: its state is {review['state']}, but the audit trail last "
                    f"recorded {found[0]} (event {found[1]}); the state was changed without the application."
                )
    return problems
