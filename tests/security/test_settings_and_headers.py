"""Deployment settings, response headers, the Content Security Policy, cookies, passwords and login throttling."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from evlims.core.models import Role
from evlims.core.security import INLINE_HANDLERS, csp_hash, inline_script_hashes
from evlims.samples.models import ManifestImport
from tests.factories import LabFactory, UserFactory, member

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "evlims" / "templates"
SECRET = "k7#Qm2!vXz9@Lp4$Rt8^Wn1&Bc6*Hd3(Fg5)Js0-Ty" + "u" * 12
PASSWORD = "correct horse battery"


def bare_environment(**variables) -> dict:
    """Nothing from the developer's shell or from other tests: only what the case sets."""
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"} | variables


def load_settings(module: str, names: list[str], **variables) -> dict:
    """Settings as a fresh interpreter imports them (settings are evaluated at import)."""
    script = (
        "import importlib, json\n"
        f"settings = importlib.import_module({module!r})\n"
        f"print(json.dumps({{name: getattr(settings, name) for name in {names!r}}}, default=str))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=bare_environment(**variables),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_check_deploy_passes_clean_with_production_settings():
    env = bare_environment(
        DJANGO_SETTINGS_MODULE="config.settings.production", SECRET_KEY=SECRET, ALLOWED_HOSTS="lims.example.org"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_production_cookies_are_secure_httponly_and_same_site():
    values = load_settings(
        "config.settings.production",
        [
            "SESSION_COOKIE_SECURE",
            "SESSION_COOKIE_HTTPONLY",
            "SESSION_COOKIE_SAMESITE",
            "CSRF_COOKIE_SECURE",
            "CSRF_COOKIE_HTTPONLY",
            "CSRF_COOKIE_SAMESITE",
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
        ],
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS="lims.example.org",
    )
    assert values == {
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
    }


@pytest.fixture
def staff(db):
    return member(LabFactory(), Role.LAB_STAFF, username="header-staff")


def _csp(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def test_pages_carry_the_security_headers(client, staff):
    client.force_login(staff)
    for url in (reverse("evlims:login"), reverse("evlims:sample-list"), "/api/v1/samples/"):
        response = client.get(url)
        assert response.status_code in (200, 302), url
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        policy = _csp(response)
        assert policy["default-src"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["object-src"] == ["'none'"]
        assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
        assert not any(source.startswith(("http:", "https:", "*")) for values in policy.values() for source in values)


def test_inline_script_runs_only_with_the_nonce_of_its_response(client, db):
    lab = LabFactory()
    user = member(lab, Role.LAB_STAFF)
    from tests.factories import ProjectFactory

    project = ProjectFactory(lab=lab)
    manifest = ManifestImport.objects.create(
        lab=lab, project=project, uploaded_by=user, original_name="m.csv", sha256="0" * 64
    )
    client.force_login(user)
    first = client.get(reverse("evlims:import-detail", args=[manifest.pk]))
    second = client.get(reverse("evlims:import-detail", args=[manifest.pk]))
    nonces = []
    for response in (first, second):
        found = re.findall(r'<script nonce="([^"]+)">', response.content.decode())
        assert len(found) == 1, "the progress poller is the page's inline script"
        assert f"'nonce-{found[0]}'" in _csp(response)["script-src"]
        nonces.append(found[0])
    assert nonces[0] != nonces[1], "a nonce is never reused"


def _template_files():
    return sorted(TEMPLATES.rglob("*.html"))


def test_templates_have_no_inline_script_without_nonce_and_no_unknown_handler():
    assert len(_template_files()) > 20
    problems = []
    for path in _template_files():
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text, flags=re.IGNORECASE):
            if "src=" not in tag and 'nonce="{{ request.csp_nonce }}"' not in tag:
                problems.append(f"{path.relative_to(ROOT)}: inline script without nonce: {tag}")
        for handler in re.findall(r"""\son[a-z]+\s*=\s*["']([^"']*)["']""", text, flags=re.IGNORECASE):
            if handler not in INLINE_HANDLERS:
                problems.append(f"{path.relative_to(ROOT)}: inline handler {handler!r} (browsers refuse it)")
        if re.search(r"""(?:href|src)\s*=\s*["']\s*javascript:""", text, flags=re.IGNORECASE):
            problems.append(f"{path.relative_to(ROOT)}: javascript: URL")
    assert not problems, "\n".join(problems)


def test_allowed_handlers_are_allowed_by_exact_hash_only(client, staff):
    client.force_login(staff)
    script_src = _csp(client.get(reverse("evlims:sample-list")))["script-src"]
    assert "'unsafe-hashes'" in script_src
    assert {csp_hash(handler) for handler in INLINE_HANDLERS} <= set(script_src)
    assert csp_hash("alert(1)") not in script_src


def test_swagger_page_allows_exactly_its_own_inline_script(client, staff):
    client.force_login(staff)
    response = client.get(reverse("evlims:api:swagger-ui"))
    assert response.status_code == 200
    hashes = inline_script_hashes(response.content)
    assert hashes, "Swagger UI bootstraps with an inline script"
    assert set(hashes) <= set(_csp(response)["script-src"])
    # Other pages do not get those hashes.
    assert not set(hashes) & set(_csp(client.get(reverse("evlims:sample-list")))["script-src"])


def test_inline_script_hashes_ignore_scripts_with_src():
    html = b'<script src="/static/a.js"></script><SCRIPT type="module">go()</SCRIPT><script>\nx=1</script >'
    assert inline_script_hashes(html) == sorted([csp_hash("go()"), csp_hash("\nx=1")])


def test_session_and_csrf_cookies_are_httponly_and_same_site(db):
    user = UserFactory(username="cookie-user")
    client = Client()
    page = client.get(reverse("evlims:login"))
    csrf = page.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["httponly"] and csrf["samesite"] == "Lax"
    response = client.post(
        reverse("evlims:login"), {"username": user.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 302
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["samesite"] == "Lax"
    assert session["max-age"] == "" or int(session["max-age"]) <= 12 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


@pytest.mark.parametrize("weak", ["short1", "password123", "1234567890123", "cookie-user1"])
def test_weak_passwords_are_refused(db, weak):
    user = UserFactory.build(username="cookie-user", email="cookie@example.org")
    with pytest.raises(ValidationError):
        validate_password(weak, user)


def test_a_strong_password_passes(db):
    validate_password("vesicle-Membrane-42-pellet", UserFactory.build(username="x"))


def _login(client, username, password, address="10.0.0.7"):
    return client.post(reverse("evlims:login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_repeated_wrong_passwords_lock_the_account_from_that_address(db):
    user = UserFactory(username="target")
    bystander = UserFactory(username="bystander")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "target", "wrong password").status_code == 200
    assert _login(client, "target", "wrong password").status_code == 429
    # Locked now: even the right password is refused, from that address.
    locked = _login(client, "target", PASSWORD)
    assert locked.status_code == 429 and "_auth_user_id" not in client.session
    # Another account, or the same account from another address, is not locked.
    assert _login(Client(), bystander.username, PASSWORD).status_code == 302
    assert _login(Client(), user.username, PASSWORD, address="10.0.0.8").status_code == 302


def test_a_successful_login_resets_the_failure_count(db):
    UserFactory(username="forgetful")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "forgetful", "wrong password")
    assert _login(client, "forgetful", PASSWORD).status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(Client(), "forgetful", "wrong password").status_code == 200
    assert _login(Client(), "forgetful", PASSWORD).status_code == 302


def test_api_basic_authentication_is_throttled_too(db):
    user = member(LabFactory(), Role.LAB_STAFF, username="api-target")
    client = Client()
    import base64

    def call(password):
        token = base64.b64encode(f"{user.username}:{password}".encode()).decode()
        return client.get("/api/v1/samples/", HTTP_AUTHORIZATION=f"Basic {token}", REMOTE_ADDR="10.0.0.9")

    assert call(PASSWORD).status_code == 200
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert call("wrong password").status_code in (401, 403)
    assert call(PASSWORD).status_code in (401, 403, 429)
