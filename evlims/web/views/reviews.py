"""The QA review queue and the review page, where QA managers and lab admins verify, approve or reject
with their password and a statement of what the signature means."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ...compliance import selectors
from ...compliance.models import Review
from ...core.tenancy import REVIEWER_ROLES, labs_where, role_in
from ...review import selectors as review_selectors
from ...review import services as review_services
from ...review.signatures import signing_method
from ..forms.compliance import QueueFilterForm, SignatureForm
from ..reports import compliance as reports
from .common import add_service_errors, member_view, paginate, query_without_page, scoped
from .sso import (
    allow_forms_to_provider,
    provider_name,
    reauthentication_finish,
    reauthentication_start,
    require_sso,
)

SIGNING = {
    "verify": review_services.review_verify,
    "approve": review_services.review_approve,
    "reject": review_services.review_reject,
}
# Which actions a review's state allows, in the order the page offers them.
ACTIONS_BY_STATE = {
    Review.State.SUBMITTED: ("verify", "reject"),
    Review.State.VERIFIED: ("approve", "reject"),
}
ACTION_TEXT = {
    "verify": ("Verify", "Verified: the record is complete and correct", "btn-primary"),
    "approve": ("Approve", "Approved: released for use; the record is then locked", "btn-success"),
    "reject": ("Reject", "Rejected: the record goes back to the lab", "btn-outline-danger"),
}
STATE_BADGES = {
    Review.State.SUBMITTED: "text-bg-info",
    Review.State.VERIFIED: "text-bg-primary",
    Review.State.APPROVED: "text-bg-success",
    Review.State.REJECTED: "text-bg-danger",
    Review.State.VOIDED: "text-bg-secondary",
}


def _queue_row(review) -> dict:
    if review.preparation_id:
        failures = selectors.mandatory_misev_failures(review.failed_rules, review.evaluated_rulesets)
        return {
            "review": review,
            "subject": review.preparation,
            "project": review.preparation.run.project,
            "method": review.preparation.run.method,
            "biofluid": review.preparation.input_aliquot.sample.get_biofluid_display(),
            "score": review.ev_metric_pct,
            "evaluated": review.evaluated_rulesets is not None,
            "failures": failures,
        }
    evaluations = review.run_evaluations
    failures = set()
    for _score, failed, rulesets in evaluations:
        failures.update(selectors.mandatory_misev_failures(failed, rulesets))
    return {
        "review": review,
        "subject": review.run,
        "project": review.run.project,
        "method": review.run.method,
        "biofluid": "",
        "score": reports.shown_ev_metric(score for score, _failed, _rulesets in evaluations),
        "evaluated": bool(evaluations),
        "failures": sorted(failures),
        "preparations_evaluated": len(evaluations),
    }


@member_view
def queue(request):
    if not labs_where(request.user, REVIEWER_ROLES):
        raise PermissionDenied("The QA queue is for QA managers and lab admins.")
    form = QueueFilterForm(request.GET or None, user=request.user)
    page = None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        reviews = review_selectors.review_queue(
            request.user,
            project=data.get("project"),
            method=data.get("method", ""),
            biofluid=data.get("biofluid", ""),
            failing_rule=data.get("failing_rule", ""),
            older_than_days=data.get("age"),
        )
        page = paginate(request, reviews, decorate=review_selectors.attach_run_summaries)
        page.rows = [_queue_row(review) for review in page.object_list]
    return render(
        request,
        "evlims/compliance/queue.html",
        {"form": form, "page": page, "query": query_without_page(request)},
    )


def _signature_form(request, action, data=None) -> SignatureForm:
    """The signing form: a password for local accounts, a re-authentication at the provider for SSO accounts."""
    provider = provider_name() if signing_method(request.user) == "oidc" else ""
    return SignatureForm(data, action=action, provider=provider)


def _review_context(request, review, forms=None) -> dict:
    can_sign = role_in(request.user, review.lab_id) in REVIEWER_ROLES
    forms = forms or {}
    actions = ACTIONS_BY_STATE.get(review.state, ()) if can_sign else ()
    # A refused attempt keeps its form on the page, with the reason, whoever made it.
    actions = (*actions, *(action for action in forms if action not in actions))
    evaluation = selectors.evaluation_of(review.preparation) if review.preparation_id else None
    return {
        "review": review,
        "subject": review.preparation or review.run,
        "badge": STATE_BADGES.get(review.state, "text-bg-light"),
        "view": reports.evaluation_view(evaluation),
        "signatures": list(review.signatures.all()),
        "sign_forms": [
            {
                "action": action,
                "label": ACTION_TEXT[action][0],
                "meaning": ACTION_TEXT[action][1],
                "button": ACTION_TEXT[action][2],
                "form": forms.get(action) or _signature_form(request, action),
            }
            for action in actions
        ],
        "can_sign": can_sign,
        "locked": review.state == Review.State.APPROVED,
    }


@member_view
def review_detail(request, pk):
    review = scoped(review_selectors.review_get, request.user, pk)
    return _review_page(request, review)


def _review_page(request, review, forms=None):
    response = render(request, "evlims/compliance/review.html", _review_context(request, review, forms))
    if signing_method(request.user) == "oidc":
        allow_forms_to_provider(response)
    return response


@require_POST
@member_view
def review_sign(request, pk, action):
    if action not in SIGNING:
        raise Http404("No such signing action.")
    review = scoped(review_selectors.review_get, request.user, pk)
    form = _signature_form(request, action, request.POST)
    if form.is_valid() and form.provider:
        # The signature is recorded when the provider sends the signer back, freshly signed in (views/sso.py).
        purpose = {"review": review.pk, "action": action, "statement": form.cleaned_data["statement"]}
        return reauthentication_start(request, purpose=purpose)
    if form.is_valid():
        try:
            SIGNING[action](
                actor=request.user,
                review=review,
                password=form.cleaned_data["password"],
                statement=form.cleaned_data["statement"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except PermissionDenied as denied:
            # Shown on the form, not as a 403 page: the signer needs the reason next to what they tried.
            form.add_error(None, str(denied))
        else:
            messages.success(request, f"Signed: {ACTION_TEXT[action][1].split(':')[0].lower()} by you.")
            return redirect("evlims:review-detail", pk=pk)
    review = scoped(review_selectors.review_get, request.user, pk)
    return _review_page(request, review, {action: form})


@member_view
def review_sign_return(request):
    """Where the identity provider sends a single sign-on signer back: sign with the fresh re-authentication
    (``review_services`` checks it is theirs and fresh), or say why not; either way back to the review."""
    require_sso()
    purpose, claims = reauthentication_finish(request)
    if purpose is None:
        messages.error(request, "This sign-in does not answer a signature started here (or it is too old): sign again.")
        return redirect("evlims:qa-queue")
    review = scoped(review_selectors.review_get, request.user, purpose["review"])
    try:
        SIGNING[purpose["action"]](
            actor=request.user, review=review, statement=purpose["statement"], reauthentication=claims
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except PermissionDenied as denied:
        messages.error(request, str(denied))
    else:
        messages.success(request, f"Signed: {ACTION_TEXT[purpose['action']][1].split(':')[0].lower()} by you.")
    return redirect("evlims:review-detail", pk=review.pk)
