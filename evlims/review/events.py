"""The steps of a QA review, announced to whoever listens above the review domain (the notifications), without
the review knowing who: ``review_events.send(action=..., review=..., actor=...)`` runs inside the step's
transaction, after its audit event, with the action of that event (``review.submit``, ``review.verify``,
``review.approve``, ``review.reject``, ``review.void``). ``EvlimsConfig.ready()`` registers the receivers."""

from ..core.registry import Hook

review_events = Hook("a QA review submitted, signed, closed or voided")


def announce(action: str, review, actor) -> None:
    review_events.send(action=action, review=review, actor=actor)
