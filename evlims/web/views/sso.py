"""Single sign-on pages (docs/sso.md): the sign-in page's "Sign in with …" button, the round trip to the
site's OpenID Connect provider (mozilla-django-oidc's views), and the re-authentication a signature asks of a
person who signs in there: the provider is asked to sign them in again (``prompt=login``, ``max_age=0``), and
the signature is recorded only when the ID token it returns is theirs and fresh (``review.signatures``).

Every page here answers 404 while single sign-on is not configured."""

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.crypto import get_random_string
from django.utils.http import urlencode

PENDING = "evlims_signature_reauthentication"
PENDING_LIMIT = 5  # signatures awaiting their re-authentication per session (the oldest is dropped)
PENDING_SECONDS = 15 * 60  # a round trip to the provider longer than this is started again


def sso_on() -> bool:
    return bool(getattr(settings, "EVLIMS_SSO", None)) and bool(getattr(settings, "OIDC_RP_CLIENT_ID", ""))


def provider_name() -> str:
    return settings.EVLIMS_SSO.get("PROVIDER_NAME") or "single sign-on" if sso_on() else ""


def allow_forms_to_provider(response):
    """A page whose signing form ends at the provider (the sign view redirects there) must allow that origin in
    its Content-Security-Policy's form-action, which browsers also apply to a form's redirects."""
    if sso_on():
        parts = urlsplit(settings.OIDC_OP_AUTHORIZATION_ENDPOINT)
        update = dict(getattr(response, "_csp_update", None) or {})
        update["form-action"] = [*update.get("form-action", []), f"{parts.scheme}://{parts.netloc}"]
        response._csp_update = update
    return response


def require_sso() -> None:
    if not sso_on():
        raise Http404("Single sign-on is not configured on this site.")


class LoginView(auth_views.LoginView):
    """The sign-in page, with a button for the site's identity provider when single sign-on is on."""

    template_name = "evlims/registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | {"sso_provider": provider_name()}


def login_start(request):
    require_sso()
    from mozilla_django_oidc.views import OIDCAuthenticationRequestView

    return OIDCAuthenticationRequestView.as_view()(request)


def login_callback(request):
    require_sso()
    from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

    class Callback(OIDCAuthenticationCallbackView):
        def login_failure(self):
            messages.error(
                self.request, f"{provider_name()} did not sign you in here; nothing changed. Try again or ask an admin."
            )
            return redirect("evlims:login")

    try:
        return Callback.as_view()(request)
    except (SuspiciousOperation, ValidationError, OSError) as error:
        messages.error(request, f"Signing in through {provider_name()} failed: {error}")
        return redirect("evlims:login")


def _callback_url(request) -> str:
    from mozilla_django_oidc.utils import absolutify

    return absolutify(request, reverse("evlims:sso-sign-callback"))


def reauthentication_start(request, *, purpose: dict) -> HttpResponseRedirect:
    """Send the signer to the provider to sign in again; ``purpose`` (the review, action and statement) waits
    in the session under a one-time state, with the nonce and PKCE verifier that bind the answer to it."""
    require_sso()
    from mozilla_django_oidc.utils import generate_code_challenge

    state, nonce, verifier = get_random_string(32), get_random_string(32), get_random_string(64)
    pending = {
        key: value
        for key, value in request.session.get(PENDING, {}).items()
        if time.time() - value["started"] < PENDING_SECONDS
    }
    while len(pending) >= PENDING_LIMIT:
        pending.pop(min(pending, key=lambda key: pending[key]["started"]))
    pending[state] = {"nonce": nonce, "verifier": verifier, "purpose": purpose, "started": time.time()}
    request.session[PENDING] = pending
    params = {
        "response_type": "code",
        "scope": "openid",
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "redirect_uri": _callback_url(request),
        "state": state,
        "nonce": nonce,
        "prompt": "login",
        "max_age": "0",
        "code_challenge": generate_code_challenge(verifier, "S256"),
        "code_challenge_method": "S256",
    }
    return HttpResponseRedirect(f"{settings.OIDC_OP_AUTHORIZATION_ENDPOINT}?{urlencode(params)}")


def reauthentication_finish(request) -> tuple[dict | None, dict | None]:
    """(purpose, claims) of the provider's answer: the verified ID token's claims, ``{"error": …}`` when the
    provider or the token was refused, or (None, None) for an answer to nothing this session started."""
    from ...core.identity.backend import OIDCBackend

    pending = request.session.get(PENDING, {})
    entry = pending.pop(request.GET.get("state", ""), None)
    request.session[PENDING] = pending
    if entry is None or time.time() - entry["started"] >= PENDING_SECONDS:
        return None, None
    if request.GET.get("error") or not request.GET.get("code"):
        return entry["purpose"], {
            "error": request.GET.get("error_description") or request.GET.get("error") or "no code"
        }
    backend = OIDCBackend()
    try:
        token = backend.get_token(
            {
                "client_id": settings.OIDC_RP_CLIENT_ID,
                "client_secret": settings.OIDC_RP_CLIENT_SECRET,
                "grant_type": "authorization_code",
                "code": request.GET["code"],
                "redirect_uri": _callback_url(request),
                "code_verifier": entry["verifier"],
            }
        )
        return entry["purpose"], backend.verify_token(token.get("id_token") or "", nonce=entry["nonce"])
    except (SuspiciousOperation, OSError, ValueError) as error:
        return entry["purpose"], {"error": f"its answer could not be verified: {error}"}
