#!/usr/bin/env bash
# Prints the app's budgets: gzipped first-screen bytes (build report) and, in
# headless Chromium at 4x CPU slowdown, warm offline start and save time.
# Expects `scripts/build.sh` (or the test command) to have run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/size-report.sh
[ -x target/release/daohu-server ] && export DAOHU_SERVER_BIN="$PWD/target/release/daohu-server"
(cd tests/e2e && node budget.mjs)
