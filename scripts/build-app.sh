#!/usr/bin/env bash
# Builds the two web bundles (release, size profile, wasm-opt): the phone app
# into dist/ and the coordinators' console into dist/admin/. The phone app goes
# first because trunk empties its dist directory on every build.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/tests/e2e/node_modules/.bin:$HOME/.cargo/bin:$PATH"
trunk build index.html --release --offline
trunk build console.html --release --offline --dist dist/admin --public-url /admin/
