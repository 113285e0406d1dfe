"""The provider's pages: its sign-in form and django-oauth-toolkit's OIDC endpoints under /o/, with the
authorization endpoint honouring ``max_age`` as well as ``prompt=login`` (the toolkit honours the latter)."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.urls import include, path
from django.utils import timezone
from oauth2_provider import views


class AuthorizationView(views.AuthorizationView):
    def get(self, request, *args, **kwargs):
        prompt = request.GET.get("prompt", "").split()
        max_age = request.GET.get("max_age", "")
        if request.user.is_authenticated and ("login" in prompt or max_age.isdigit()):
            last = request.user.last_login
            stale = "login" in prompt or last is None or (timezone.now() - last).total_seconds() > int(max_age)
            if stale:
                # Sign in again, then come back without the request to (so the fresh sign-in satisfies it).
                query = request.GET.copy()
                query.pop("max_age", None)
                rest = [value for value in prompt if value != "login"]
                query.pop("prompt", None)
                if rest:
                    query["prompt"] = " ".join(rest)
                return redirect_to_login(f"{request.path}?{query.urlencode()}", self.get_login_url())
        return super().get(request, *args, **kwargs)


urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("o/authorize/", AuthorizationView.as_view(), name="authorize"),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
