#!/usr/bin/env bash
# County-scale benchmark on SQLite and on PostgreSQL, one after the other, on this
# machine: generates the county (245,641 households, a year of visits), then
# ingest over HTTP vs straight into the database, sync-down, dashboard and
# visit-log queries with their plans. Figures go to docs/performance.md ("County scale").
#   scripts/scale-bench.sh [flags for examples/scale_bench.rs, e.g. --visits 200000]
# PostgreSQL runs with fsync on, like SQLite's synchronous=FULL, so the two compare.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p daohu-server --features testkit --example scale_bench
bench=target/release/examples/scale_bench
echo "===== SQLite"
"$bench" "$@"
pg_dir=$(mktemp -d /tmp/daohu-bench-pg.XXXXXX)
trap 'scripts/pg.sh stop "$pg_dir"; rm -rf "$pg_dir"' EXIT
url=$(scripts/pg.sh start "$pg_dir" "${DAOHU_BENCH_PG_PORT:-54331}" fsync)
echo "===== PostgreSQL"
"$bench" --database-url "$url" "$@"
