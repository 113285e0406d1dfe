"""The set-up contract a new user relies on: `make demo`, `make test`, CI's entry point, and the
Docker stack. Docker does not run here, so the compose file is checked for everything that can be
checked without it: its shape, that every command it runs exists, and that the settings accept it."""

import importlib.util
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.utils.module_loading import import_string

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
SERVICES = {"postgres", "redis", "web", "worker", "beat"}
APP_SERVICES = ("web", "worker", "beat")
LONG_SECRET = "evlims-contract-test-" + "x" * 40
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?::(?P<op>[-?])(?P<arg>[^}]*))?\}")
# Variables read by something other than config/settings: Django itself, and the image's entry point.
READ_OUTSIDE_SETTINGS = {"DJANGO_SETTINGS_MODULE": "django", "EVLIMS_MIGRATE": "scripts/docker-entrypoint.sh"}
# Single sign-on reads its variables where it checks them together (docs/sso.md), not in the settings modules.
READ_BY_PREFIX = {"EVLIMS_OIDC_": "evlims/core/identity/config.py", "EVLIMS_LDAP_": "evlims/core/identity/config.py"}


def interpolate(value: str, variables: dict) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} substitution."""

    def substitute(match):
        name, op, arg = match["name"], match["op"], match["arg"]
        if variables.get(name):
            return variables[name]
        if op == "?":
            raise KeyError(f"{name}: {arg}")
        return arg or ""

    return INTERPOLATION.sub(substitute, value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def app_environment(compose, service: str, **variables) -> dict[str, str]:
    return {
        key: interpolate(str(value), variables) for key, value in compose["services"][service]["environment"].items()
    }


def settings_source() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted((ROOT / "config" / "settings").glob("*.py")))


def test_compose_has_the_five_services_each_with_a_health_check(compose):
    services = compose["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert services["postgres"]["image"].split(":")[1].startswith("16")
    assert services["redis"]["image"].split(":")[1].startswith("7")
    assert all(services[name]["build"] == "." for name in APP_SERVICES)


def test_compose_keeps_data_in_named_volumes(compose):
    volumes = set(compose["volumes"])
    assert {"pgdata", "redisdata", "media"} <= volumes
    mounted = {entry.split(":")[0] for service in compose["services"].values() for entry in service.get("volumes", [])}
    assert volumes <= mounted


def test_web_worker_and_beat_share_the_audit_anchor_folder_on_a_volume(compose):
    """Beat writes the anchors, web and worker verify against them: one named volume at the folder the
    settings read, so anchors survive a rebuilt container."""
    for name in APP_SERVICES:
        folder = app_environment(compose, name, SECRET_KEY="k")["EVLIMS_AUDIT_ANCHOR_DIR"]
        assert f"audit-anchors:{folder}" in compose["services"][name]["volumes"], name
    assert 'env.path("EVLIMS_AUDIT_ANCHOR_DIR"' in settings_source()
    assert "EVLIMS_AUDIT_KEY" in app_environment(compose, "web", SECRET_KEY="k")


def test_app_services_wait_for_their_dependencies(compose):
    services = compose["services"]
    assert services["web"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    for name in ("worker", "beat"):
        # web applies the migrations, so the others start once it is healthy.
        assert services[name]["depends_on"] == {"web": {"condition": "service_healthy"}}
    assert app_environment(compose, "web", SECRET_KEY=LONG_SECRET)["EVLIMS_MIGRATE"] == "true"


def test_every_command_the_stack_runs_exists(compose):
    services = compose["services"]
    for name in APP_SERVICES:
        executable = services[name]["command"][0]
        assert (VENV_BIN / executable).exists(), f"{name}: {executable} is not installed"
    web = services["web"]["command"]
    assert importlib.util.find_spec(web[1]) is not None  # the WSGI module gunicorn loads
    for name in ("worker", "beat"):
        command = services[name]["command"]
        assert command[1:4] in (["-A", "config", "worker"], ["-A", "config", "beat"])
        assert importlib.util.find_spec("config.celery") is not None
    beat = services["beat"]["command"]
    import_string(beat[beat.index("--scheduler") + 1].replace(":", "."))
    entrypoint = ROOT / "scripts" / "docker-entrypoint.sh"
    assert entrypoint.stat().st_mode & stat.S_IXUSR
    assert '"/app/scripts/docker-entrypoint.sh"' in (ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_the_web_command_is_one_gunicorn_accepts_and_the_one_the_http_bench_measures(compose):
    """gunicorn's own parser reads the web command; the Dockerfile runs the same; bench/bench_http.py measures the
    worker class it names (its figures are those of the deployed server)."""
    import json

    from gunicorn.config import Config

    command = compose["services"]["web"]["command"]
    parsed = Config().parser().parse_args(command[1:])
    assert (parsed.args, parsed.bind, parsed.worker_class, parsed.threads) == (
        ["config.wsgi"],
        ["0.0.0.0:8000"],
        "gthread",
        4,
    )
    cmd_line = next(
        line for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines() if line.startswith("CMD ")
    )
    assert json.loads(cmd_line.removeprefix("CMD ")) == command
    from tests.bench_scripts import load_bench

    assert load_bench("bench_http").WORKER_CLASS == parsed.worker_class


def test_every_variable_the_stack_sets_is_read(compose):
    source = settings_source()
    for name in APP_SERVICES:
        for variable in app_environment(compose, name, SECRET_KEY=LONG_SECRET):
            prefixed = [reader for prefix, reader in READ_BY_PREFIX.items() if variable.startswith(prefix)]
            if variable in READ_OUTSIDE_SETTINGS or prefixed:
                reader = READ_OUTSIDE_SETTINGS.get(variable) or prefixed[0]
                assert reader == "django" or variable in (ROOT / reader).read_text(encoding="utf-8")
                continue
            assert re.search(rf'env(\.\w+)?\(\s*"{variable}"', source), f"{name}: {variable} is not read by settings"


def test_compose_refuses_to_start_without_a_secret_key(compose):
    with pytest.raises(KeyError, match="SECRET_KEY"):
        app_environment(compose, "web")


def manage(*args, environment: dict) -> subprocess.CompletedProcess:
    # Only what a container would have: variables other tests set in this process (for example
    # DJANGO_ALLOW_ASYNC_UNSAFE for the browser tests) must not leak into the checked settings.
    bare = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=bare | environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deployment_checks():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        environment={
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": LONG_SECRET,
            "ALLOWED_HOSTS": "lims.example.org",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_the_stack_environment_loads_the_settings_it_names(compose):
    environment = app_environment(compose, "web", SECRET_KEY=LONG_SECRET, SECURE_SSL_REDIRECT="true")
    assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    result = manage("check", "--deploy", "--fail-level", "WARNING", environment=environment)
    assert result.returncode == 0, result.stdout + result.stderr


def make_dry_run(target: str) -> str:
    result = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_demo_migrates_loads_and_serves_locally():
    steps = make_dry_run("demo")
    order = [
        steps.index("manage.py migrate"),
        steps.index("help evlims_load_protocols"),
        steps.index("manage.py evlims_demo"),
        steps.index("manage.py runserver 127.0.0.1:8000"),
    ]
    assert order == sorted(order)
    assert "var/evlims.sqlite3" in steps


def test_make_test_runs_the_test_script():
    assert "bash scripts/test.sh" in make_dry_run("test")
    script = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert script.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in script
    assert "--ignore=tests/integration" in script
    postgres_run = next(line for line in script.splitlines() if "tests/services" in line)
    assert "tests/integration" in script.split("tests/services", 1)[1].split("||", 1)[0]
    assert postgres_run.lstrip().startswith('"$PY" -m pytest -p no:xdist')


def test_tests_the_fast_suite_skips_without_postgresql_run_in_the_postgresql_stage():
    """A test that skips on SQLite must run somewhere: the integration stage, against PostgreSQL."""
    script = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    postgres_stage = script.split("tests/services", 1)[1].split("||", 1)[0]
    needs_postgres = re.compile(r"skipif\([^)]{0,200}?postgresql", re.IGNORECASE | re.DOTALL)
    skipped_elsewhere = sorted(
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "tests").rglob("test_*.py")
        if path.parts[len(ROOT.parts) + 1] not in ("integration", "services")
        and needs_postgres.search(path.read_text(encoding="utf-8"))
    )
    assert skipped_elsewhere, "the pattern no longer finds the PostgreSQL-only tests"
    assert [path for path in skipped_elsewhere if path not in postgres_stage] == []


def test_makefile_creates_the_venv_with_python3_and_installs_the_pins():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^PYTHON \?= python3$", makefile, re.M)
    assert "-m venv" in makefile
    assert "install --quiet -r requirements.txt" in makefile
    assert "install --quiet --no-deps -e ." in makefile
    assert "PIP_DISABLE_PIP_VERSION_CHECK" in makefile


def test_ci_entry_point_runs_make_test():
    ci = ROOT / ".ci" / "run"
    assert ci.stat().st_mode & stat.S_IXUSR
    lines = [line.strip() for line in ci.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines
    assert "make test" in lines


def test_the_image_has_what_weasyprint_draws_pdf_reports_with():
    """Without Pango and HarfBuzz (and a font) a compliance report's PDF answers 503 in the compose stack."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    install = next(block for block in dockerfile.split("\nRUN ") if "apt-get install" in block)
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz0b", "libharfbuzz-subset0", "fonts-dejavu"):
        assert package in install, package
    assert "weasyprint==" in (ROOT / "requirements.txt").read_text(encoding="utf-8")


def test_the_package_declares_its_optional_features_and_licence():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    assert {"pdf", "beat", "postgres", "redis", "demo"} <= set(extras)
    assert any(requirement.startswith("weasyprint") for requirement in extras["pdf"])
    assert any(requirement.startswith("django-celery-beat") for requirement in extras["beat"])
    assert project["license"] == "BSD-3-Clause"
    assert "Copyright (c) 2026, the evlims authors" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    for pattern in project["license-files"]:
        assert list(ROOT.glob(pattern)), pattern
