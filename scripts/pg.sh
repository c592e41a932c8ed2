#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback, for the test command and the benchmarks.
#   scripts/pg.sh start DIR PORT [fsync]   initialise DIR if empty, start, print the URL
#   scripts/pg.sh stop DIR                 stop it (DIR stays; delete it to start afresh)
# Uses Debian's postgresql packages (scripts/setup.sh installs them). As root, the
# server runs as the postgres user, which PostgreSQL requires. Without "fsync" the
# server does not sync to disk: fine for tests, which throw the data away; the
# benchmarks pass "fsync" so their figures compare with SQLite's synchronous=FULL
# (and get 1 GB of shared buffers, as a county's server would).
set -euo pipefail
cmd=${1:?start or stop}
dir=${2:?data folder}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/pg_ctl" ] || { echo "PostgreSQL is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
  start)
    port=${3:?port}
    sync=${4:-nofsync}
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    chmod 700 "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
      as_pg "$bin/initdb" -D "$dir" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    fi
    opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200"
    if [ "$sync" != fsync ]; then opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"; fi
    # The benchmarks' server gets the memory a county's database server would be
    # given (PostgreSQL's default of 128 MB holds a twentieth of a county's
    # visits; DAOHU_PG_SHARED_BUFFERS=128MB measures that).
    if [ "$sync" = fsync ]; then opts="$opts -c shared_buffers=${DAOHU_PG_SHARED_BUFFERS:-1GB}"; fi
    if ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -o "$opts" -w -t 60 start >/dev/null
    fi
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    as_pg "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start DIR PORT [fsync] | stop DIR" >&2; exit 2 ;;
esac
