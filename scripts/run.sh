#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, and starts Daohu
# at http://localhost:8080 with the embedded SQLite database (./data) and the demo county (--demo).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
exec target/release/daohu-server --addr "${DAOHU_ADDR:-0.0.0.0:8080}" --data-dir "${DAOHU_DATA_DIR:-./data}" --dist ./dist --demo "$@"
