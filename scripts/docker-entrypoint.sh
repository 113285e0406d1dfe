#!/bin/sh
# Container entry point: apply migrations when asked (the web service does; worker and beat wait for
# web to be healthy instead), then run the service's command.
set -eu
if [ "${EVLIMS_MIGRATE:-false}" = "true" ]; then
  python manage.py migrate --noinput
fi
exec "$@"
