#!/usr/bin/env bash
# Build report: each bundle's first-screen bytes as the server sends them (raw,
# gzip, brotli), from a server started over dist/; fails over a budget.
# The measuring is in size-report.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/size-report.py "$@"
