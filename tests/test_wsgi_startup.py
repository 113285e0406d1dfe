"""The demo site's WSGI start-up moves what it loaded out of the cyclic collector's reach (docs/deployment.md)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wsgi_start_up_freezes_the_loaded_objects():
    script = (
        "import gc, os\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings.test'\n"
        "before = gc.get_freeze_count()\n"
        "import config.wsgi\n"
        "print(before, gc.get_freeze_count())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    before, after = (int(number) for number in result.stdout.split()[-2:])
    assert before == 0
    assert after > 10_000  # Django and the apps at least, not a handful of objects
