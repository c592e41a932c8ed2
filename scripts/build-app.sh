#!/usr/bin/env bash
# Builds the four web bundles (release, size profile, wasm-opt): the phone app
# into dist/, the coordinators' console into dist/admin/, the volunteer
# activities into dist/activities/ and signing in and out into dist/account/. The phone app goes
# first because trunk empties its dist directory on every build.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/tests/e2e/node_modules/.bin:$HOME/.cargo/bin:$PATH"
trunk build index.html --release --offline
trunk build console.html --release --offline --dist dist/admin --public-url /admin/
trunk build activities.html --release --offline --dist dist/activities --public-url /activities/
trunk build account.html --release --offline --dist dist/account --public-url /account/
# Terser on each bundle's wasm-bindgen glue and short names for the calls between
# glue and wasm, with the integrity hashes updated.
python3 scripts/shrink-bundle.py dist dist/admin dist/activities dist/account
# The visit app's, the activities' and the console's pages load their code only on a signed-in
# phone; others go to /login first.
python3 scripts/sign-in-first.py dist/index.html dist/activities/index.html dist/admin/index.html
# The service worker caches the three phone bundles: name its cache after their
# builds, so a change to any installs a new worker.
v=$(cat dist/index.html dist/activities/index.html dist/account/index.html | sha256sum | cut -c1-16)
sed -i "s/^const VERSION = .*/const VERSION = '$v';/" dist/sw.js
# Brotli 11 and gzip -9 copies beside each file, sent as they are by the server
# (on-the-fly compression is brotli 4: about a fifth larger on the phone's wasm).
if [ -n "${DAOHU_SERVER_BIN:-}" ]; then
  "$DAOHU_SERVER_BIN" --dist dist precompress
else
  cargo run -q -p daohu-server -- --dist dist precompress
fi
