"""A larger fuzz of the API than the fast suite runs: every operation of the OpenAPI schema, every kind of
client, many more generated requests.

    .venv/bin/python bench/fuzz_api.py                 # 200 examples per operation
    .venv/bin/python bench/fuzz_api.py --examples 1000 -k "results or files"

Runs tests/fuzz/test_schemathesis.py with EVLIMS_FUZZ_EXAMPLES on in-memory
SQLite and prints pytest's report, one line per operation (-rA). The exit status is pytest's.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200, help="generated requests per operation (default 200)")
    parser.add_argument("-k", dest="keyword", default="", help="only operations matching this pytest -k expression")
    args = parser.parse_args()
    if args.examples < 1:
        parser.error("--examples must be at least 1")
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "EVLIMS_FUZZ_EXAMPLES": str(args.examples),
        "PYTHONHASHSEED": "0",
    }
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-rA", "-q",
               "tests/fuzz/test_schemathesis.py"]  # fmt: skip
    if args.keyword:
        command += ["-k", args.keyword]
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
