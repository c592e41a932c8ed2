#!/usr/bin/env bash
# The README's test command: installs what is missing, then runs every test —
# domain and server (in-process, real SQLite, then real PostgreSQL), the release build of the app with
# its size budget, and the browser tests in headless Chromium against the real server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/tests/e2e/node_modules/.bin:$HOME/.cargo/bin:$PATH"

echo "== no import loops between files"
python3 scripts/import-loops.py src crates/server/src crates/domain/src

echo "== domain and server tests (SQLite)"
cargo test -p daohu-domain -p daohu-server
cargo test -p daohu --lib

echo "== server tests again, on PostgreSQL (a throwaway server on loopback)"
pg_dir=$(mktemp -d /tmp/daohu-test-pg.XXXXXX)
trap 'scripts/pg.sh stop "$pg_dir"; rm -rf "$pg_dir"' EXIT
pg_url=$(scripts/pg.sh start "$pg_dir" "${DAOHU_TEST_PG_PORT:-54330}")
# PostgreSQL-only tests are #[ignore]d (so the SQLite pass shows them as ignored) and
# run here; SQLite-only tests are named sqlite_only_* and left out here, by name.
DAOHU_TEST_POSTGRES="$pg_url" cargo test -p daohu-server -- --include-ignored --skip sqlite_only

echo "== the domain crate builds for the phone (wasm32)"
cargo build -p daohu-domain --target wasm32-unknown-unknown

echo "== release build of the app"
cargo build -p daohu-server
DAOHU_SERVER_BIN="$PWD/target/debug/daohu-server" scripts/build-app.sh
DAOHU_SERVER_BIN="$PWD/target/debug/daohu-server" scripts/size-report.sh

echo "== schemathesis against /api/openapi.json (no 5xx)"
scripts/schemathesis.sh

echo "== browser tests (headless Chromium, real server)"
(cd tests/e2e && node --test --test-concurrency=1 --test-reporter=spec .)
