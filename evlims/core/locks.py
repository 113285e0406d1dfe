"""Is a preparation locked by a signed approval, and voiding that approval when a locked record is changed.

Reviews and their signatures belong to the QA review (``evlims.review``), above the domains that change records
(isolation, characterization), so those ask here and ``EvlimsConfig.ready()`` registers the review services
as the provider. Without one, asking fails: a missing registration never reads as "not locked".
"""

from collections.abc import Iterable
from typing import Protocol

from .registry import Provider


class Locks(Protocol):
    def preparations_locked(self, preparation_ids: Iterable[int]) -> set[int]: ...

    def void_approvals(self, *, actor, preparation_ids: Iterable[int], reason: str) -> int: ...

    def approvals_affected(self, preparation_ids: Iterable[int]) -> list[dict]: ...


lock_provider = Provider("record locks (signed approvals)")


def preparations_locked(preparation_ids: Iterable[int]) -> set[int]:
    """The ids of these preparations that an approved review covers (directly or through its run)."""
    return lock_provider.get().preparations_locked(preparation_ids)


def void_approvals(*, actor, preparation_ids: Iterable[int], reason: str) -> int:
    """Void the approvals covering these preparations, audited with the reason; inside the change's transaction.
    Returns the number voided."""
    return lock_provider.get().void_approvals(actor=actor, preparation_ids=preparation_ids, reason=reason)


def approvals_affected(preparation_ids: Iterable[int]) -> list[dict]:
    """The approvals a change to these preparations (or to a record they rest on) would void, for the warning an
    edit page shows before saving: ``[{"review_id", "subject", "approved_at", "approved_by"}]``, oldest first."""
    return lock_provider.get().approvals_affected(preparation_ids)
