#!/usr/bin/env bash
# Builds the web app (release, size-optimised, wasm-opt) into dist/ and the server.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/tests/e2e/node_modules/.bin:$HOME/.cargo/bin:$PATH"
scripts/build-app.sh
cargo build --release -p daohu-server
