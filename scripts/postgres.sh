#!/usr/bin/env bash
# Starts (or stops) a throw-away PostgreSQL cluster on loopback for tests and prints the
# variable that points the tests at it: eval "$(scripts/postgres.sh start)".
set -euo pipefail
dir=${WITNESS_PG_DIR:-/tmp/witness-pg}
port=${WITNESS_PG_PORT:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_postgres() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
case "${1:-start}" in
  start)
    if [ ! -f "$dir/PG_VERSION" ]; then
      mkdir -p "$dir" && { [ "$(id -u)" -ne 0 ] || chown postgres "$dir"; }
      as_postgres "$bin/initdb -D $dir -U postgres -A trust" >/dev/null
    fi
    if ! as_postgres "$bin/pg_ctl -D $dir status" >/dev/null 2>&1; then
      as_postgres "$bin/pg_ctl -D $dir -l $dir/log -w -o \"-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off\" start" >/dev/null
    fi
    echo "export WITNESS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    as_postgres "$bin/pg_ctl -D $dir -m fast stop" >/dev/null 2>&1 || true
    ;;
esac
