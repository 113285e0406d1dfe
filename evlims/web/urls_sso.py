"""Single sign-on: the round trip to the identity provider for signing in and for re-authenticating a signature
(404 while the site has not configured it; docs/sso.md)."""

from django.urls import path

from .views import reviews, sso

urlpatterns = [
    path("login/", sso.login_start, name="sso-login"),
    path("callback/", sso.login_callback, name="sso-callback"),
    path("sign/callback/", reviews.review_sign_return, name="sso-sign-callback"),
]
