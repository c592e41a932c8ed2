#!/usr/bin/env python3
"""Minifies the wasm-bindgen JS glue of each built bundle and keeps its page's
subresource-integrity hash true.

Why: Trunk ships the glue as wasm-bindgen writes it (comments, indentation, long
local names): about 1.8 KB more brotli on each first screen than after terser.
The file keeps its hashed name; only the `integrity` attribute in the bundle's
index.html changes, to the minified file's sha384.

Usage: scripts/minify-js.py DIST_DIR...   (terser from tests/e2e/node_modules)
"""
import base64
import glob
import hashlib
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TERSER = os.path.join(ROOT, "tests", "e2e", "node_modules", ".bin", "terser")


def sri(data):
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def minify_bundle(dist):
    page_path = os.path.join(dist, "index.html")
    with open(page_path, encoding="utf-8") as f:
        page = f.read()
    for js in sorted(glob.glob(os.path.join(dist, "*.js"))):
        name = os.path.basename(js)
        # Only the glue the page names (sw.js, register-sw.js and the password page are not Trunk's).
        if name not in page or name in ("sw.js", "register-sw.js", "password.js"):
            continue
        with open(js, "rb") as f:
            before = f.read()
        subprocess.run([TERSER, js, "--module", "--compress", "--mangle", "--output", js], check=True)
        with open(js, "rb") as f:
            after = f.read()
        old, new = sri(before), sri(after)
        if old in page:
            page = page.replace(old, new)
        elif new not in page:
            sys.exit(f"{page_path}: no integrity attribute for {name} to update")
        print(f"{js}: {len(before)} -> {len(after)} bytes")
    with open(page_path, "w", encoding="utf-8") as f:
        f.write(page)


if __name__ == "__main__":
    for folder in sys.argv[1:]:
        minify_bundle(folder)
