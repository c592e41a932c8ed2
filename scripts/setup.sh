#!/usr/bin/env bash
# Installs what building and testing Daohu needs on a fresh Debian machine with
# Rust (see README), skipping whatever is already there. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32 target"
  rustup target add wasm32-unknown-unknown
fi

# trunk 0.22 needs a newer rustc than these machines have.
if ! trunk --version 2>/dev/null | grep -q '^trunk 0\.21\.'; then
  log "installing trunk 0.21 (about 5-10 minutes)"
  cargo install trunk --version '^0.21' --locked
fi

# wasm-bindgen-cli must match the wasm-bindgen in Cargo.lock exactly, or trunk
# tries to download one (and there is no internet here).
wbg=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " ${wbg}$"; then
  log "installing wasm-bindgen-cli ${wbg} (about 4 minutes)"
  cargo install wasm-bindgen-cli --version "${wbg}"
fi

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need_apt+=(fonts-noto-cjk)
# Roster import and export tests open real spreadsheets with LibreOffice.
command -v soffice >/dev/null || need_apt+=(libreoffice-calc-nogui)
# The server suite runs a second time against a real PostgreSQL server (scripts/pg.sh).
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}"
fi

# playwright-core drives Debian's Chromium; binaryen gives trunk a wasm-opt new
# enough for the wasm features rustc emits (Debian's is too old); terser minifies
# the wasm-bindgen glue and names (scripts/shrink-bundle.py).
if [ ! -x tests/e2e/node_modules/.bin/wasm-opt ] || [ ! -d tests/e2e/node_modules/playwright-core ] || [ ! -x tests/e2e/node_modules/.bin/terser ]; then
  log "installing node packages for the browser tests and wasm-opt"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
# schemathesis tests the API against its own OpenAPI document.
if ! command -v st >/dev/null && [ ! -x "$(python3 -c 'import os, sys; print(os.path.join(os.path.dirname(sys.executable), "st"))')" ]; then
  log "installing schemathesis"
  python3 -m pip install --quiet 'schemathesis>=4,<5'
  command -v pyenv >/dev/null && pyenv rehash || true
fi
log "ready"
