#!/usr/bin/env bash
# Start the servers the test suite uses when they are installed but stopped, and install Debian's
# chromium for the browser tests when it is missing and we may (root, apt-get present).
# Never fails on its own: scripts/find_services.py decides whether a missing server is fatal.
set -uo pipefail

say() { printf '[services] %s\n' "$*"; }

start_postgresql() {
  if command -v pg_lsclusters >/dev/null 2>&1; then
    # "ver cluster port status ..." per line; start every cluster that is down.
    while read -r version cluster _port status _rest; do
      if [ "$status" = "down" ]; then
        say "starting PostgreSQL cluster $version/$cluster"
        pg_ctlcluster "$version" "$cluster" start || say "could not start PostgreSQL $version/$cluster"
      fi
    done < <(pg_lsclusters --no-header 2>/dev/null)
  elif command -v service >/dev/null 2>&1 && service --status-all 2>/dev/null | grep -q postgresql; then
    service postgresql status >/dev/null 2>&1 || service postgresql start || say "could not start PostgreSQL"
  else
    say "PostgreSQL is not installed here"
  fi
}

start_redis() {
  if command -v redis-cli >/dev/null 2>&1 && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    return
  fi
  if command -v service >/dev/null 2>&1 && service --status-all 2>/dev/null | grep -q redis-server; then
    say "starting Redis (service)"
    service redis-server start >/dev/null 2>&1 && return
  fi
  if command -v redis-server >/dev/null 2>&1; then
    say "starting Redis (redis-server --daemonize yes)"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 >/dev/null || say "could not start Redis"
  else
    say "Redis is not installed here"
  fi
}

install_chromium() {
  if command -v chromium >/dev/null 2>&1; then
    return
  fi
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    say "chromium is missing and cannot be installed here (needs root and apt-get): browser tests will skip"
    return
  fi
  say "installing Debian's chromium for the browser tests"
  # Another apt run may hold the lock; wait for it rather than fail.
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 update -qq \
    && apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends chromium libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 >/dev/null \
    || say "chromium could not be installed: browser tests will skip"
}

start_postgresql
start_redis
install_chromium
exit 0
