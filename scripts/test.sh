#!/usr/bin/env bash
# The whole suite, as `make test` and CI run it:
#   1. the fast suite on in-memory SQLite (two processes with pytest-xdist);
#   2. the ORM service tests and the integration tests on real PostgreSQL, with a real Celery worker on Redis.
# With CI=true a server that is not reachable fails the run; otherwise its tests skip and say why.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
export PYTHONHASHSEED=0 DJANGO_SETTINGS_MODULE=config.settings.test

bash scripts/start-services.sh
eval "$("$PY" scripts/find_services.py)"

# whitenoise warns on every request when the static root does not exist yet.
mkdir -p var/static

# Both suites always run, so one report shows every failure; the exit status is the worse of the two.
echo "== fast suite (SQLite) =="
fast_status=0
"$PY" -m pytest -n 2 --dist loadfile --ignore=tests/integration "$@" || fast_status=$?

echo "== integration suite (PostgreSQL + Celery worker on Redis) =="
if [ -n "${EVLIMS_PG_URL:-}" ]; then
  # pytest-django creates (and drops) test_<name>; a name of this run's own keeps two runs on one
  # server from dropping each other's database. The server's own databases are never touched.
  export DATABASE_URL="${EVLIMS_PG_URL%/*}/evlims_run_$$"
  echo "server: $EVLIMS_PG_URL; test database: test_evlims_run_$$"
else
  unset DATABASE_URL
fi
if [ -n "${EVLIMS_REDIS_URL:-}" ]; then
  export REDIS_URL="$EVLIMS_REDIS_URL"
  echo "broker: $REDIS_URL"
else
  unset REDIS_URL
fi
integration_status=0
if [ -n "${DATABASE_URL:-}" ]; then
  # The ORM tests again, now against PostgreSQL's real locking, constraints and types, with the tests the
  # fast suite skips because they need PostgreSQL (COPY loading, concurrent bulk commits, the stored
  # evaluations' COPY and UPDATE).
  "$PY" -m pytest -p no:xdist tests/services tests/test_generate.py tests/imports/test_bulk_register.py \
    tests/compliance/test_evaluation_rows.py tests/integration "$@" || integration_status=$?
else
  # Without PostgreSQL only the integration tests run, to report (or, in CI, fail on) the missing server.
  "$PY" -m pytest -p no:xdist tests/integration "$@" || integration_status=$?
fi

echo "== fast suite: exit $fast_status; integration suite: exit $integration_status =="
[ "$fast_status" -eq 0 ] && [ "$integration_status" -eq 0 ]
