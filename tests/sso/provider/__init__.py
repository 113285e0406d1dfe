"""A real OpenID Connect provider for the single sign-on tests: django-oauth-toolkit's OIDC provider served by a
small Django site of its own, started by tests/sso/conftest.py in a separate process on a free localhost port.

It signs ID tokens with an RSA key made for the run (RS256, published at its JWKS endpoint), puts the time of
the person's last sign-in there in ``auth_time``, and asks them to sign in again on ``prompt=login`` or when
their sign-in is older than ``max_age``."""
