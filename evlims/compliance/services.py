"""Evaluating preparations against the rule sets and the QA review with electronic signatures."""

import datetime as dt

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..conf import evlims_settings
from ..core import canonical as core_canonical
from ..core.audit import record_event
from ..core.tenancy import REVIEWER_ROLES, WRITER_ROLES, ensure_role
from ..isolation.models import EVPreparation
from . import selectors
from .evaluator import MANDATORY_LEVELS as MANDATORY_LEVELS  # re-exported: callers read the levels here too
from .evaluator import evaluate_many
from .evidence import experiment_documents, preparations_with_evidence
from .models import ComplianceEvaluation, Review, Signature
from .rulesets import default_rulesets

OPEN_STATES = (Review.State.SUBMITTED, Review.State.VERIFIED, Review.State.APPROVED)


def canonical_hash(content) -> str:
    """The hash of an experiment document (an evaluation's evidence) or of what a signature covers."""
    return core_canonical.canonical_hash(content)


def _summary(report: dict) -> tuple[int | None, int, list[str]]:
    """(EV-METRIC %, mandatory MISEV failures, every failed rule or unmet EV-METRIC component as "set:id").

    "Mandatory MISEV failures" counts failed mandatory and mandatory-if-applicable rules of the two MISEV
    rule sets: the figure the QA queue shows at a glance.
    """
    ev_metric = report.get("ev_metric") or {}
    failed = [
        f"ev_metric:{key}" for key, c in (ev_metric.get("components") or {}).items() if c.get("state") == "not_met"
    ]
    for key, part in report.items():
        for rule in (part or {}).get("rules", []) if isinstance(part, dict) else []:
            if rule.get("status") == "fail":
                failed.append(f"{key}:{rule['id']}")
    mandatory_failed = len(selectors.mandatory_failures(report, selectors.MISEV_REPORT_KEYS))
    return ev_metric.get("score_pct"), mandatory_failed, failed


def evaluate_preparations(preparation_ids, *, force: bool = False) -> int:
    """Refresh stored evaluations; preparations whose evidence did not change are skipped. Returns the count
    re-evaluated. Queries: a fixed handful per call, however many preparations."""
    preparations = preparations_with_evidence(preparation_ids)
    documents = experiment_documents(preparations)
    hashes = {pk: canonical_hash(document) for pk, document in documents.items()}
    existing = {e.preparation_id: e for e in ComplianceEvaluation.objects.filter(preparation_id__in=list(documents))}
    stale = [p for p in preparations if force or p.pk not in existing or existing[p.pk].evidence_hash != hashes[p.pk]]
    if not stale:
        return 0
    reports = evaluate_many([documents[p.pk] for p in stale])
    versions = {ruleset.name: ruleset.version for ruleset in default_rulesets()}
    now = timezone.now()
    create, update = [], []
    for prep, report in zip(stale, reports, strict=True):
        data = report.to_dict()
        ev_metric, mandatory_failed, failed = _summary(data)
        fields = dict(
            lab_id=prep.lab_id,
            rulesets=versions,
            report=data,
            document=documents[prep.pk],
            evidence_hash=hashes[prep.pk],
            ev_metric_pct=ev_metric,
            mandatory_failed=mandatory_failed,
            failed_rules=failed,
            evaluated_at=now,
        )
        if prep.pk in existing:
            evaluation = existing[prep.pk]
            for name, value in fields.items():
                setattr(evaluation, name, value)
            update.append(evaluation)
        else:
            create.append(ComplianceEvaluation(preparation_id=prep.pk, **fields))
    with transaction.atomic():
        ComplianceEvaluation.objects.bulk_create(create, batch_size=500)
        ComplianceEvaluation.objects.bulk_update(update, list(fields), batch_size=500)
    return len(stale)


def is_locked(preparation) -> bool:
    return Review.objects.filter(preparation=preparation, state=Review.State.APPROVED).exists()


def _producers(review) -> set[int]:
    """Users who produced any part of the record under review (``selectors.review_producers``)."""
    return selectors.review_producers(review)


# Wrong signature passwords are throttled like sign-ins: the limit and cool-off of django-axes when the site
# sets them (AXES_FAILURE_LIMIT, AXES_COOLOFF_TIME in hours or a timedelta), else 5 and a quarter of an hour.
SIGNATURE_FAILURE_LIMIT = 5
SIGNATURE_COOLOFF = dt.timedelta(minutes=15)


def _signature_failure_limit() -> int:
    return int(getattr(settings, "AXES_FAILURE_LIMIT", SIGNATURE_FAILURE_LIMIT) or SIGNATURE_FAILURE_LIMIT)


def _signature_cooloff() -> dt.timedelta:
    value = getattr(settings, "AXES_COOLOFF_TIME", None)
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, int | float) and value > 0:
        return dt.timedelta(hours=value)
    return SIGNATURE_COOLOFF  # not set, or a callable / dotted path that needs a request


def _failures_key(user) -> str:
    # The account's creation time keeps a re-used id from inheriting another account's count.
    joined = getattr(user, "date_joined", None)
    return f"evlims:signature-failures:{user.pk}:{joined.timestamp() if joined else ''}"


def _signature_lockout(user) -> dt.datetime | None:
    """When signing opens again for ``user`` after too many wrong passwords, or None if it is open."""
    failures = cache.get(_failures_key(user))
    if not failures or failures["count"] < _signature_failure_limit():
        return None
    until = failures["last"] + _signature_cooloff()
    return until if until > timezone.now() else None


def _clock(moment: dt.datetime) -> str:
    return f"{timezone.localtime(moment):%H:%M} ({timezone.get_current_timezone_name()})"


def _audit_attempt(actor, review, action: str, *, meaning: str, **changes) -> None:
    """A refused signing attempt, audited in a transaction of its own: the refusal that follows keeps it."""
    with transaction.atomic():
        record_event(
            actor=actor, action=action, obj=review, lab=review.lab, changes={"meaning": str(meaning), **changes}
        )


def _check_signature_password(*, actor, review, password: str, meaning: str) -> None:
    """Re-authentication for a signature. Each wrong password is counted and audited (in its own transaction,
    so the refusal does not undo it); from the limit on, signing is refused, right password or not (and audited
    as ``signature.refused_locked``, the password unread), until the cool-off after the last wrong one has
    passed. A right password clears the count."""
    until = _signature_lockout(actor)
    if until is not None:
        _audit_attempt(actor, review, "signature.refused_locked", meaning=meaning, locked_until=until.isoformat())
        raise ValidationError(
            {"password": f"Too many wrong passwords: signing is locked until {_clock(until)}; nothing was signed."}
        )
    key = _failures_key(actor)
    if actor.check_password(password or ""):
        cache.delete(key)
        return
    now, limit = timezone.now(), _signature_failure_limit()
    count = (cache.get(key) or {"count": 0})["count"] + 1
    cache.set(key, {"count": count, "last": now}, timeout=int(_signature_cooloff().total_seconds()) + 60)
    _audit_attempt(
        actor, review, "signature.password_failed", meaning=meaning, failures=count, limit=limit, locked=count >= limit
    )
    message = "The password is not correct; nothing was signed."
    if count >= limit:
        message += f" After {limit} wrong passwords, signing is locked until {_clock(now + _signature_cooloff())}."
    elif limit - count <= 2:
        message += f" {limit - count} more wrong password(s) will lock signing for a while."
    raise ValidationError({"password": message})


def _signed_content(review) -> dict:
    if review.preparation_id:
        evaluation = ComplianceEvaluation.objects.filter(preparation_id=review.preparation_id).first()
        prep = review.preparation
        return {
            "preparation": prep.barcode,
            "version": prep.version,
            "evaluation": evaluation.report if evaluation else None,
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
def review_submit(*, actor, preparation=None, run=None, note: str = "", justification: str = "") -> Review:
    """Open a review of a preparation or a run. A preparation, or a run with a preparation, whose evaluation
    (refreshed first) has mandatory failures is submitted only with a justification, which the reviewers see
    and the signatures cover."""
    subject = preparation or run
    if (preparation is None) == (run is None):
        raise ValidationError({"subject": "Submit either a preparation or a run."})
    ensure_role(actor, subject.lab_id, WRITER_ROLES, "submit records for review")
    if Review.objects.filter(preparation=preparation, run=run, state__in=OPEN_STATES).exists():
        raise ValidationError({"subject": f"{subject} already has an open or approved review."})
    prep_ids = [preparation.pk] if preparation else list(run.preparations.values_list("pk", flat=True))
    evaluate_preparations(prep_ids)
    failures = selectors.mandatory_failures_of(prep_ids)
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
        note=note,
        justification=justification,
    )
    changes = {"subject": str(subject)}
    if justification:
        changes |= {"mandatory_failures": [failure["id"] for failure in failures], "justification": justification}
    record_event(actor=actor, action="review.submit", obj=review, lab=review.lab, reason=note, changes=changes)
    return review


def _sign(*, actor, review, statement: str, meaning: str) -> Signature:
    """Check who may sign and store the signature with the hash of what is signed (the password was checked
    before the transaction, by ``_check_signature_password``)."""
    if not (statement or "").strip():
        raise ValidationError({"statement": "State what your signature means."})
    ensure_role(actor, review.lab_id, REVIEWER_ROLES, "sign reviews")
    if actor.pk in _producers(review):
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
    )


def _locked_review(review) -> Review:
    return Review.objects.select_for_update(of=("self",)).select_related("preparation__run", "run").get(pk=review.pk)


def review_verify(*, actor, review, password: str, statement: str) -> Review:
    _check_signature_password(actor=actor, review=review, password=password, meaning=Signature.Meaning.VERIFIED)
    return _verify(actor=actor, review=review, statement=statement)


@transaction.atomic
def _verify(*, actor, review, statement: str) -> Review:
    review = _locked_review(review)
    if review.state != Review.State.SUBMITTED:
        raise ValidationError({"state": f"This review is {review.get_state_display().lower()}."})
    if review.signatures.filter(signer=actor, meaning=Signature.Meaning.VERIFIED).exists():
        raise ValidationError({"signer": "You have already verified this record."})
    signature = _sign(actor=actor, review=review, statement=statement, meaning=Signature.Meaning.VERIFIED)
    verifiers = review.signatures.filter(meaning=Signature.Meaning.VERIFIED).values("signer").distinct().count()
    if verifiers >= evlims_settings.REQUIRED_VERIFIERS:
        review.state = Review.State.VERIFIED
        review.save(update_fields=["state", "updated_at"])
    record_event(
        actor=actor,
        action="review.verify",
        obj=review,
        lab=review.lab,
        reason=statement,
        changes={"content_hash": signature.content_hash, "state": review.state},
    )
    return review


def _sign_and_close(*, actor, review, statement: str, meaning: str, state: str, action: str) -> Review:
    """Sign with ``meaning``, close the review in ``state`` and audit it (approve and reject end alike)."""
    signature = _sign(actor=actor, review=review, statement=statement, meaning=meaning)
    review.state, review.closed_at = state, timezone.now()
    review.save(update_fields=["state", "closed_at", "updated_at"])
    record_event(
        actor=actor,
        action=action,
        obj=review,
        lab=review.lab,
        reason=statement,
        changes={"content_hash": signature.content_hash, "state": str(state)},
    )
    return review


def review_approve(*, actor, review, password: str, statement: str) -> Review:
    _check_signature_password(actor=actor, review=review, password=password, meaning=Signature.Meaning.APPROVED)
    return _approve(actor=actor, review=review, statement=statement)


@transaction.atomic
def _approve(*, actor, review, statement: str) -> Review:
    review = _locked_review(review)
    if review.state != Review.State.VERIFIED:
        raise ValidationError({"state": "Only verified records can be approved."})
    if review.signatures.filter(signer=actor, meaning=Signature.Meaning.VERIFIED).exists():
        raise PermissionDenied("You verified this record; another QA manager must approve it.")
    return _sign_and_close(
        actor=actor,
        review=review,
        statement=statement,
        meaning=Signature.Meaning.APPROVED,
        state=Review.State.APPROVED,
        action="review.approve",
    )


def review_reject(*, actor, review, password: str, statement: str) -> Review:
    _check_signature_password(actor=actor, review=review, password=password, meaning=Signature.Meaning.REJECTED)
    return _reject(actor=actor, review=review, statement=statement)


@transaction.atomic
def _reject(*, actor, review, statement: str) -> Review:
    review = _locked_review(review)
    if review.state not in (Review.State.SUBMITTED, Review.State.VERIFIED):
        raise ValidationError({"state": f"This review is {review.get_state_display().lower()}."})
    return _sign_and_close(
        actor=actor,
        review=review,
        statement=statement,
        meaning=Signature.Meaning.REJECTED,
        state=Review.State.REJECTED,
        action="review.reject",
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
    return len(reviews)


def preparations_locked(preparation_ids) -> set[int]:
    direct = Review.objects.filter(state=Review.State.APPROVED, preparation_id__in=list(preparation_ids))
    by_run = EVPreparation.objects.filter(pk__in=list(preparation_ids), run__reviews__state=Review.State.APPROVED)
    return set(direct.values_list("preparation_id", flat=True)) | set(by_run.values_list("pk", flat=True))
