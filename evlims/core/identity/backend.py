"""Sign-in through the site's OpenID Connect provider (mozilla-django-oidc's backend, made stricter).

The library checks the ID token's signature (against the provider's published keys), its expiry and the nonce;
this backend also checks that the token was issued by the configured issuer for this site's client id, finds
the account by the provider's subject id (not by e-mail, which can change hands), and creates or updates it
through ``services.sso_account_sync`` (audited)."""

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from ..models import ExternalIdentity
from .services import sso_account_sync


def check_token_claims(payload: dict) -> dict:
    """Refuse an ID token not issued by the configured issuer to this site's client id."""
    sso = getattr(settings, "EVLIMS_SSO", None) or {}
    if payload.get("iss") != sso.get("ISSUER"):
        raise SuspiciousOperation(f"ID token issued by {payload.get('iss')!r}, not the configured issuer.")
    audience = payload.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if settings.OIDC_RP_CLIENT_ID not in audiences:
        raise SuspiciousOperation("ID token issued to another client.")
    if not payload.get("sub"):
        raise SuspiciousOperation("ID token names no subject.")
    return payload


class OIDCBackend(OIDCAuthenticationBackend):
    def verify_token(self, token, **kwargs):
        return check_token_claims(super().verify_token(token, **kwargs))

    def get_userinfo(self, access_token, id_token, payload):
        """The user info, with the ID token's issuer and subject (which the user info must repeat)."""
        info = super().get_userinfo(access_token, id_token, payload)
        if str(info.get("sub")) != str(payload["sub"]):
            raise SuspiciousOperation("The user info is about another subject than the ID token.")
        return {**info, "iss": payload["iss"], "sub": payload["sub"]}

    def verify_claims(self, claims):
        return bool(claims.get("sub"))

    def filter_users_by_claims(self, claims):
        return self.UserModel.objects.filter(
            evlims_identities__issuer=claims["iss"], evlims_identities__subject=str(claims["sub"])
        )

    def get_user(self, user_id):
        """The session's account, while it is active (the library's own lookup ignores ``is_active``)."""
        user = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def create_user(self, claims):
        return sso_account_sync(claims=claims, reason="first sign-in through single sign-on")

    def update_user(self, user, claims):
        return sso_account_sync(claims=claims, user=user, reason="sign-in through single sign-on")


def identity_of(user) -> ExternalIdentity | None:
    sso = getattr(settings, "EVLIMS_SSO", None) or {}
    return ExternalIdentity.objects.filter(user=user, issuer=sso.get("ISSUER")).first() if sso else None
