#!/usr/bin/env bash
# Builds the server and the web app (release, size-optimised, wasm-opt, precompressed) into dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/tests/e2e/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cargo build --release -p daohu-server
DAOHU_SERVER_BIN="$PWD/target/release/daohu-server" scripts/build-app.sh
