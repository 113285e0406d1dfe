"""The host site's settings as each environment loads them. Settings are evaluated at import, so every
case imports them in a fresh interpreter with exactly the environment under test."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LONG_SECRET = "s" * 20 + "-not-a-real-secret-but-long-enough-" + "k" * 20


def load_settings(module: str, names: list[str], **environment) -> dict:
    script = (
        "import importlib, json, sys\n"
        f"settings = importlib.import_module({module!r})\n"
        f"print(json.dumps({{name: getattr(settings, name) for name in {names!r}}}, default=str))\n"
    )
    # A bare environment: nothing from the developer's shell or from other tests in this process.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"} | environment
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1])
    return json.loads(result.stdout)


CELERY = ["CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL"]


def test_without_a_broker_tasks_run_in_process():
    values = load_settings("config.settings.local", CELERY)
    assert values == {"CELERY_TASK_ALWAYS_EAGER": True, "CELERY_BROKER_URL": "memory://"}


def test_with_redis_url_tasks_go_to_the_broker():
    values = load_settings("config.settings.local", CELERY, REDIS_URL="redis://cache:6379/2")
    assert values == {"CELERY_TASK_ALWAYS_EAGER": False, "CELERY_BROKER_URL": "redis://cache:6379/2"}


def test_the_embedded_demo_uses_a_sqlite_file_under_var():
    database = load_settings("config.settings.local", ["DATABASES"])["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(database["NAME"]) == ROOT / "var" / "evlims.sqlite3"


def test_database_url_selects_postgresql():
    database = load_settings(
        "config.settings.local", ["DATABASES"], DATABASE_URL="postgres://lab:pw@db.internal:5433/evlims"
    )["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"], database["USER"]) == (
        "db.internal",
        5433,
        "evlims",
        "lab",
    )


def test_test_settings_stay_in_memory_and_eager_even_with_a_broker_configured():
    values = load_settings("config.settings.test", ["DATABASES", *CELERY], REDIS_URL="redis://cache:6379/0")
    assert values["DATABASES"]["default"]["NAME"] == ":memory:"
    assert values["CELERY_TASK_ALWAYS_EAGER"] is True


def test_with_redis_url_web_and_workers_share_one_cache_that_tolerates_an_outage():
    caches = load_settings("config.settings.local", ["CACHES"], REDIS_URL="redis://cache:6379/2")["CACHES"]
    assert caches["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    assert caches["default"]["LOCATION"] == "redis://cache:6379/2"
    assert caches["default"]["OPTIONS"]["IGNORE_EXCEPTIONS"] is True


def test_cache_url_overrides_the_broker_for_the_cache_only():
    values = load_settings(
        "config.settings.local",
        ["CACHES", "CELERY_BROKER_URL"],
        REDIS_URL="redis://broker:6379/0",
        CACHE_URL="redis://cache:6379/3",
    )
    assert values["CACHES"]["default"]["LOCATION"] == "redis://cache:6379/3"
    assert values["CELERY_BROKER_URL"] == "redis://broker:6379/0"


def test_without_redis_the_cache_is_in_memory():
    caches = load_settings("config.settings.local", ["CACHES"])["CACHES"]
    assert caches["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_test_settings_keep_a_cache_of_their_own_even_with_redis_configured():
    caches = load_settings("config.settings.test", ["CACHES"], REDIS_URL="redis://cache:6379/0")["CACHES"]
    assert caches["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_an_unreachable_redis_cache_answers_misses_instead_of_errors(settings):
    from django.core.cache import caches

    # Port 1 refuses connections at once: the outage the production settings must survive.
    settings.CACHES = {
        **settings.CACHES,
        "outage": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        },
    }
    outage = caches["outage"]
    outage.set("dashboard", "figures")
    assert outage.get("dashboard") is None
    assert outage.get_or_set("progress", 5) == 5


def test_production_requires_a_secret_key_and_allowed_hosts():
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_settings("config.settings.production", ["DEBUG"], ALLOWED_HOSTS="lims.example.org")
    with pytest.raises(RuntimeError, match="ALLOWED_HOSTS"):
        load_settings("config.settings.production", ["DEBUG"], SECRET_KEY=LONG_SECRET)


def test_production_ignores_debug_from_the_environment():
    values = load_settings(
        "config.settings.production",
        ["DEBUG", "ALLOWED_HOSTS", "SESSION_COOKIE_SECURE"],
        SECRET_KEY=LONG_SECRET,
        ALLOWED_HOSTS="lims.example.org,localhost",
        DEBUG="true",
    )
    assert values == {"DEBUG": False, "ALLOWED_HOSTS": ["lims.example.org", "localhost"], "SESSION_COOKIE_SECURE": True}


def test_production_keeps_database_connections_and_checks_them_before_reuse():
    """Opening a PostgreSQL connection per request cost a result post over HTTP more than half its time
    (bench/bench_http.py): production keeps them, checked before each reuse; DATABASE_CONN_MAX_AGE changes it."""
    production = {"SECRET_KEY": LONG_SECRET, "ALLOWED_HOSTS": "lims.example.org"}
    kept = load_settings("config.settings.production", ["DATABASES"], **production)["DATABASES"]["default"]
    assert (kept["CONN_MAX_AGE"], kept["CONN_HEALTH_CHECKS"]) == (60, True)
    per_request = load_settings("config.settings.production", ["DATABASES"], DATABASE_CONN_MAX_AGE="0", **production)
    assert per_request["DATABASES"]["default"]["CONN_MAX_AGE"] == 0
    # The embedded demo and the tests open their connections as Django does by default.
    assert load_settings("config.settings.local", ["DATABASES"])["DATABASES"]["default"].get("CONN_MAX_AGE", 0) == 0


def test_plugin_settings_come_from_the_environment():
    values = load_settings("config.settings.local", ["EVLIMS"], EVLIMS_SAMPLE_BARCODE_PREFIX="UCL")
    assert values["EVLIMS"]["SAMPLE_BARCODE_PREFIX"] == "UCL"


# A host that never set Celery up: only the README's settings block, no Celery app, no broker.
BARE_HOST = """
SECRET_KEY = "bare-host-" + "k" * 50
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                  "django.contrib.messages", "django.contrib.staticfiles"]
MIDDLEWARE = []
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {"context_processors": []}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
from evlims import host
INSTALLED_APPS += host.INSTALLED_APPS
"""
CELERY_STATE = """
import json, django
django.setup()
from celery import Celery, current_app
from django.core.management import call_command
from evlims.tasks import verify_audit_trail
state = {
    "app": verify_audit_trail.app.main,
    "eager": current_app.conf.task_always_eager,
    "propagates": current_app.conf.task_eager_propagates,
}
later = Celery("created_later")  # a host app imported after start-up becomes the current app
later.finalize()
state["later_eager"] = later.conf.task_always_eager and verify_audit_trail.app is later
if state["eager"]:
    call_command("migrate", verbosity=0)
    state["problems"] = verify_audit_trail.delay().get()  # run here: an intact (empty) audit trail
print(json.dumps(state))
"""


def bare_host_celery(tmp_path, **environment) -> dict:
    (tmp_path / "barehost.py").write_text(BARE_HOST)
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    env |= {"DJANGO_SETTINGS_MODULE": "barehost", "PYTHONPATH": f"{tmp_path}:{ROOT}"} | environment
    result = subprocess.run(
        [sys.executable, "-c", CELERY_STATE], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_any_celery_app_or_broker_the_plugin_runs_tasks_in_process(tmp_path):
    """Celery's default app has no broker: evlims makes it eager, and any app that appears later too."""
    state = bare_host_celery(tmp_path)
    assert state == {"app": "default", "eager": True, "propagates": True, "later_eager": True, "problems": 0}


def test_a_broker_in_the_environment_is_left_to_the_worker(tmp_path):
    state = bare_host_celery(tmp_path, CELERY_BROKER_URL="memory://")
    assert (state["eager"], state["later_eager"]) == (False, False)


def test_the_demo_site_keeps_its_own_celery_decision():
    from celery import current_app

    from evlims.apps import run_tasks_in_process_without_broker

    assert current_app.main == "evlims_site" and current_app.conf.broker_url == "memory://"
    assert run_tasks_in_process_without_broker(current_app) is False


def test_the_demo_site_is_built_from_the_host_defaults():
    from django.conf import settings

    from evlims import host

    assert set(host.INSTALLED_APPS + host.BEAT_APPS) <= set(settings.INSTALLED_APPS)
    assert settings.MIDDLEWARE[-1 - len(host.MIDDLEWARE) : -1] == host.MIDDLEWARE
    assert settings.SPECTACULAR_SETTINGS is host.SPECTACULAR_SETTINGS
    assert {key: value for key, value in settings.REST_FRAMEWORK.items() if key != "DEFAULT_THROTTLE_RATES"} == {
        key: value for key, value in host.REST_FRAMEWORK.items() if key != "DEFAULT_THROTTLE_RATES"
    }
    assert (settings.LOGIN_URL, settings.LOGIN_REDIRECT_URL, settings.LOGOUT_REDIRECT_URL) == (
        host.LOGIN_URL,
        host.LOGIN_REDIRECT_URL,
        host.LOGOUT_REDIRECT_URL,
    )


def test_checks_name_each_missing_piece_of_the_host_settings(settings, monkeypatch):
    from types import SimpleNamespace

    from django.core import checks

    from evlims import checks as evlims_checks

    settings.REST_FRAMEWORK = {}
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if not name.startswith("evlims.")]
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "OPTIONS": {"context_processors": []}}]
    settings.LOGIN_REDIRECT_URL = "/accounts/profile/"
    settings.MEDIA_ROOT = ""
    found = {message.id for message in checks.run_checks() if message.id.startswith("evlims.")}
    assert found == {f"evlims.W00{n}" for n in (1, 2, 3, 4, 5, 7)}
    # Django's logged-out page comes with the admin, which the demo site has (changing INSTALLED_APPS here
    # would rebuild the app registry for every test that follows).
    host_without_admin = SimpleNamespace(LOGIN_REDIRECT_URL="evlims:home", LOGOUT_REDIRECT_URL=None, INSTALLED_APPS=[])
    monkeypatch.setattr(evlims_checks, "settings", host_without_admin)
    assert [message.id for message in evlims_checks.check_login_flow(None)] == ["evlims.W006"]


def test_the_demo_settings_pass_every_evlims_check():
    from django.core import checks

    assert [message for message in checks.run_checks() if message.id.startswith("evlims.")] == []


def test_trusted_proxy_count_defaults_to_direct_connections():
    for module in ("config.settings.local", "config.settings.test"):
        assert load_settings(module, ["TRUSTED_PROXY_COUNT"]) == {"TRUSTED_PROXY_COUNT": 0}


def test_trusted_proxy_count_is_read_from_the_environment():
    values = load_settings(
        "config.settings.production",
        ["TRUSTED_PROXY_COUNT", "AXES_CLIENT_IP_CALLABLE"],
        TRUSTED_PROXY_COUNT="1",
        SECRET_KEY=LONG_SECRET,
        ALLOWED_HOSTS="lims.example.org",
    )
    assert values["TRUSTED_PROXY_COUNT"] == 1
    assert "client_address" in values["AXES_CLIENT_IP_CALLABLE"]
