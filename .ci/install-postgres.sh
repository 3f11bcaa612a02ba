#!/usr/bin/env bash
# Installs PostgreSQL (Debian's packages) for the tests of team mode's PostgreSQL state. The tests
# start their own throwaway cluster (scripts/pg-cluster.mjs: initdb + postgres on a free loopback
# port, as the `postgres` user when run as root), so no system cluster needs to run. Does nothing
# when initdb is there already. CI runs as root.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
elif command -v dnf >/dev/null 2>&1; then
  $SUDO dnf install -y -q postgresql-server
elif command -v apk >/dev/null 2>&1; then
  $SUDO apk add --no-cache postgresql
else
  echo "install-postgres: no supported package manager; install PostgreSQL yourself (or set PG_BIN)" >&2
  exit 1
fi
