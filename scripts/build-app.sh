#!/usr/bin/env bash
# Builds the three web bundles (release, size profile, wasm-opt): the phone app
# into dist/, the coordinators' console into dist/admin/ and the volunteer
# activities into dist/activities/. The phone app goes
# first because trunk empties its dist directory on every build.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/tests/e2e/node_modules/.bin:$HOME/.cargo/bin:$PATH"
trunk build index.html --release --offline
trunk build console.html --release --offline --dist dist/admin --public-url /admin/
trunk build activities.html --release --offline --dist dist/activities --public-url /activities/
# Terser on each bundle's wasm-bindgen glue and short names for the calls between
# glue and wasm, with the integrity hashes updated.
python3 scripts/shrink-bundle.py dist dist/admin dist/activities
# The service worker caches both phone bundles: name its cache after both builds,
# so a change to either installs a new worker.
v=$(cat dist/index.html dist/activities/index.html | sha256sum | cut -c1-16)
sed -i "s/^const VERSION = .*/const VERSION = '$v';/" dist/sw.js
# Brotli 11 and gzip -9 copies beside each file, sent as they are by the server
# (on-the-fly compression is brotli 4: about a fifth larger on the phone's wasm).
if [ -n "${DAOHU_SERVER_BIN:-}" ]; then
  "$DAOHU_SERVER_BIN" --dist dist precompress
else
  cargo run -q -p daohu-server -- --dist dist precompress
fi
