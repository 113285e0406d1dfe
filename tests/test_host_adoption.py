"""A Django developer adopts evlims by the README alone, as this test does it: the wheel built from this
tree, installed into a fresh virtual environment next to a project ``django-admin startproject`` made, the
README's settings and URL blocks appended as they are printed (read from README.md, so the two cannot
drift), evlims mounted under /lims/, and no broker. Then the documented commands, a sign-in, a sample
registered through the intake page and through the API, a manifest import run to its end, and the schema.

Slow (a minute or two, most of it pip), so it is one test: run it alone with ``pytest -m adoption``.
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.adoption

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "adoption-test-password-1"
# What a host sets for a deployment (the check --deploy step); the README leaves these to the host.
DEPLOYMENT = """
import os

if os.environ.get("HOST_DEPLOY"):
    SECRET_KEY = os.environ["HOST_SECRET_KEY"]
    DEBUG = False
    ALLOWED_HOSTS = ["lims.example.org"]
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
"""
# Files of the checkout that are not part of the package, nor needed to build it.
NOT_BUILT = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", "test-results"
)

DRIVE = r"""
import json, os, sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostsite.settings")
django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from evlims.core.models import Project

out = {}
client = Client(SERVER_NAME="localhost")  # ALLOWED_HOSTS of a new project with DEBUG on
out["login_page"] = client.get("/lims/login/").status_code
signed_in = client.post("/lims/login/", {"username": "alice", "password": sys.argv[1]})
out["login"] = [signed_in.status_code, signed_in.get("Location")]
out["home"] = client.get(signed_in["Location"]).status_code
project = Project.objects.get(code="PLASMA-01")

intake = client.get("/lims/samples/new/")
out["intake_page"] = intake.status_code
registered = client.post("/lims/samples/new/", {"project": project.pk, "biofluid": "blood_plasma", "volume_ml": "3"})
out["intake_post"] = [registered.status_code, registered.get("Location", "")]

created = client.post(
    "/lims/api/v1/samples/",
    {"project": project.pk, "biofluid": "serum", "volume_ml": "2.5"},
    content_type="application/json",
)
out["api_post"] = [created.status_code, created.json().get("barcode")]
sample = created.json()
stale = client.patch(
    f"/lims/api/v1/samples/{sample['id']}/",
    {"volume_ml": "2.0", "reason": "re-measured", "version": sample["version"] + 5},
    content_type="application/json",
)
out["stale_patch"] = stale.status_code
out["api_list"] = client.get("/lims/api/v1/samples/").json()["count"]

csv = SimpleUploadedFile("manifest.csv", b"barcode,biofluid,volume_ml\r\nMAN-1,urine,4\r\n", "text/csv")
manifest = client.post("/lims/imports/new/", {"project": project.pk, "file": csv})
detail = manifest.get("Location", "")
out["import_upload"] = [manifest.status_code, detail]
if detail:
    from evlims.samples.models import ManifestImport

    pk = int(detail.rstrip("/").rsplit("/", 1)[1])
    out["import_checked"] = ManifestImport.objects.get(pk=pk).status
    client.post(f"/lims/imports/{pk}/commit/")
    out["import_committed"] = ManifestImport.objects.get(pk=pk).status

schema = client.get("/lims/api/v1/schema/")
out["schema"] = [schema.status_code, schema.content[:200].decode()]
swagger = client.get("/lims/api/v1/schema/swagger/")
out["swagger"] = [swagger.status_code, "cdn.jsdelivr.net" in swagger.content.decode()]
signed_out = client.post("/lims/logout/")
out["logout"] = [signed_out.status_code, signed_out.get("Location")]
print(json.dumps(out))
"""


def readme_block(marker: str) -> str:
    """The fenced code between ``<!-- marker -->`` and ``<!-- /marker -->`` in README.md."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(rf"<!-- {marker} -->(.*?)<!-- /{marker} -->", readme, re.DOTALL)
    assert section, f"README.md has no <!-- {marker} --> block"
    code = re.search(r"```\w*\n(.*?)```", section.group(1), re.DOTALL)
    assert code, f"the <!-- {marker} --> block of README.md holds no code"
    return code.group(1)


def run(*command, cwd, env=None, timeout=600) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{' '.join(map(str, command))}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def host_environment(**extra) -> dict:
    """Nothing of this checkout: no DJANGO_SETTINGS_MODULE, PYTHONPATH or broker from the test process."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "PIP_CONFIG_FILE", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")
    return {name: os.environ[name] for name in keep if name in os.environ} | {"PIP_NO_INPUT": "1"} | extra


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source") / "evlims"
    shutil.copytree(ROOT, source, ignore=NOT_BUILT)
    dist = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", str(source), "-w", str(dist)],
        env=host_environment(PIP_DISABLE_PIP_VERSION_CHECK="1"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        reason = f"the wheel could not be built: {result.stderr.strip().splitlines()[-1:]}"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    (built,) = dist.glob("evlims-*.whl")
    return built


def test_the_wheel_carries_the_licences(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for vendored in ("bootstrap", "htmx"):
        assert f"evlims/static/evlims/vendor/{vendored}/LICENSE" in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)


def test_a_new_host_project_runs_evlims_by_the_readme(wheel, tmp_path):
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    env = host_environment(PIP_DISABLE_PIP_VERSION_CHECK="1")
    # The pins of this repository as constraints: the versions the suite runs with, nothing extra installed.
    # Byte-compiling a few thousand modules at install time is most of an install's time; Python does it on use.
    install = ["install", "--quiet", "--no-compile", wheel, "-c", ROOT / "requirements.txt"]
    run(python, "-m", "pip", *install, cwd=tmp_path, env=env)

    site = tmp_path / "site"
    site.mkdir()
    run(venv / "bin" / "django-admin", "startproject", "hostsite", site, cwd=tmp_path, env=env)
    settings, urls = site / "hostsite" / "settings.py", site / "hostsite" / "urls.py"
    settings.write_text(settings.read_text() + "\n" + readme_block("host-settings") + DEPLOYMENT)
    urls.write_text(urls.read_text() + "\n" + readme_block("host-urls"))

    def manage(*args, **extra):
        return run(python, "manage.py", *args, cwd=site, env=env | extra)

    secret = "host-" + secrets.token_urlsafe(50)
    deploy = manage("check", "--deploy", HOST_DEPLOY="1", HOST_SECRET_KEY=secret)
    # Warnings are written to stderr. The host's own deployment settings are its business; evlims's are ours.
    assert not re.findall(r"\(evlims\.\w+\)", deploy.stdout + deploy.stderr), deploy.stderr

    manage("migrate", "--noinput")
    assert "Protocol library:" in manage("evlims_load_protocols").stdout
    # Accounts are the host's own (its admin, createsuperuser, single sign-on); a plain one here.
    new_account = "from django.contrib.auth.models import User; User.objects.create_user('alice', '', {!r})"
    manage("shell", "-c", new_account.format(PASSWORD))
    manage("evlims_lab", "create", "Vesicle Biology Lab", "--slug", "vesicle")
    manage("evlims_lab", "project", "vesicle", "PLASMA-01", "Plasma EV cohort")
    assert "alice is Lab staff in Vesicle Biology Lab" in manage("evlims_lab", "member", "vesicle", "alice").stdout

    (site / "drive.py").write_text(textwrap.dedent(DRIVE))
    result = run(python, site / "drive.py", PASSWORD, cwd=site, env=env)
    seen = json.loads(result.stdout.strip().splitlines()[-1])

    assert seen["login_page"] == 200
    assert seen["login"] == [302, "/lims/"] and seen["home"] == 200
    assert seen["intake_page"] == 200
    assert seen["intake_post"][0] == 302 and re.fullmatch(r"/lims/samples/\d+/", seen["intake_post"][1])
    assert seen["api_post"][0] == 201 and seen["api_post"][1].startswith("UCL-")
    assert seen["stale_patch"] == 409
    assert seen["api_list"] == 2
    # No broker: the import's check and commit ran in the request instead of waiting for a worker.
    assert seen["import_upload"][0] == 302
    assert (seen["import_checked"], seen["import_committed"]) == ("valid", "committed")
    assert seen["schema"][0] == 200 and "openapi" in seen["schema"][1]
    assert seen["swagger"] == [200, False]  # Swagger UI from the sidecar's static files, not a CDN
    assert seen["logout"] == [302, "/lims/login/"]
