#!/usr/bin/env python3
"""Shrinks what each built bundle sends besides its own code: the wasm-bindgen
JS glue, and the names by which the glue and the wasm call each other. Keeps the
page's subresource-integrity hashes true.

Why:
- Trunk ships the glue as wasm-bindgen writes it (comments, indentation, long
  local names): terser takes about 1.8 KB brotli off each first screen.
- wasm-bindgen names each import `__wbg_<method>_<16 hex digits>`. Those names
  sit in both the wasm and the glue, and the random digits do not compress:
  binaryen's `--minify-imports-and-exports-and-modules` renames them to one or two
  letters and prints the old and new names, and the glue is rewritten to match.
  About 2.9 KB brotli off the members' first screen. The `producers` and
  `target_features` sections, read by no browser, go too.

The files keep their hashed names; only the `integrity` attributes in the
bundle's index.html change, to the new files' sha384. A name the glue does not
use exactly as expected stops the build instead of shipping a broken bundle.

Usage: scripts/shrink-bundle.py DIST_DIR...
(terser and wasm-opt from tests/e2e/node_modules)
"""
import base64
import glob
import hashlib
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "tests", "e2e", "node_modules", ".bin")
NOT_GLUE = ("sw.js", "register-sw.js", "password.js")


def sri(data):
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def set_integrity(page, page_path, name, before, after):
    old, new = sri(before), sri(after)
    if old in page:
        return page.replace(old, new)
    if new in page:
        return page
    sys.exit(f"{page_path}: no integrity attribute for {name} to update")


def import_modules(wasm):
    """The distinct module names of a wasm binary's imports."""
    def leb(i):
        value = shift = 0
        while True:
            byte = wasm[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, i

    def name(i):
        n, i = leb(i)
        return wasm[i:i + n].decode(), i + n

    i = 8
    while i < len(wasm):
        section, i = wasm[i], i + 1
        size, i = leb(i)
        end = i + size
        if section == 2:
            count, j = leb(i)
            modules = set()
            for _ in range(count):
                module, j = name(j)
                _, j = name(j)
                kind, j = wasm[j], j + 1
                if kind == 0:  # function: type index
                    _, j = leb(j)
                elif kind == 1:  # table: element type, limits
                    flags = wasm[j + 1]
                    _, j = leb(j + 2)
                    if flags & 1:
                        _, j = leb(j)
                elif kind == 2:  # memory: limits
                    flags = wasm[j]
                    _, j = leb(j + 1)
                    if flags & 1:
                        _, j = leb(j)
                elif kind == 3:  # global: value type, mutability
                    j += 2
                else:
                    sys.exit(f"unknown import kind {kind}")
                modules.add(module)
            return modules
        i = end
    return set()


def shorten_names(wasm_path, glue):
    """Renames the wasm's imports, exports and import module; returns the glue to match."""
    old_modules = import_modules(read(wasm_path))
    out = subprocess.run(
        [os.path.join(BIN, "wasm-opt"), wasm_path, "--minify-imports-and-exports-and-modules",
         # Sections for tools, not browsers.
         "--strip-producers", "--strip-target-features", "-o", wasm_path],
        check=True, capture_output=True, text=True,
    ).stdout
    names = json.loads(out)
    new_modules = import_modules(read(wasm_path))
    if len(old_modules) != 1 or len(new_modules) != 1:
        sys.exit(f"{wasm_path}: expected one import module, found {old_modules} -> {new_modules}")
    (old_module,), (new_module,) = old_modules, new_modules
    # The glue hands its imports over as {"<module>": {name: function, ...}}.
    quoted = json.dumps(old_module)
    if glue.count(quoted) != 1:
        sys.exit(f"{wasm_path}: the glue names module {quoted} {glue.count(quoted)} times, not once")
    glue = glue.replace(quoted, json.dumps(new_module))
    for _, old, new in names["imports"]:
        key = re.compile(r"(?<![\w$])" + re.escape(old) + r"(?=:)")
        glue, n = key.subn(new, glue)
        if n != 1:
            sys.exit(f"{wasm_path}: import {old} is defined {n} times in the glue, not once")
        if re.search(r"(?<![\w$])" + re.escape(old) + r"(?![\w$])", glue):
            sys.exit(f"{wasm_path}: the glue uses import {old} other than as its key")
    # Exports are read as properties of the instance's exports (`x.name`); the
    # unminified glue also has local functions of the same names, left to terser.
    for old, new in names["exports"]:
        glue = re.sub(r"\." + re.escape(old) + r"(?![\w$])", "." + new, glue)
        if re.search(r"[\"'`]" + re.escape(old) + r"[\"'`]", glue):
            sys.exit(f"{wasm_path}: the glue names export {old} in a string")
    return glue


def shrink_bundle(dist):
    page_path = os.path.join(dist, "index.html")
    with open(page_path, encoding="utf-8") as f:
        page = f.read()
    for js in sorted(glob.glob(os.path.join(dist, "*.js"))):
        name = os.path.basename(js)
        # Only the glue the page names (the service worker and password page are not Trunk's).
        if name not in page or name in NOT_GLUE:
            continue
        wasm = js[: -len(".js")] + "_bg.wasm"
        js_before, wasm_before = read(js), read(wasm)
        glue = shorten_names(wasm, js_before.decode("utf-8"))
        with open(js, "w", encoding="utf-8") as f:
            f.write(glue)
        subprocess.run([os.path.join(BIN, "terser"), js, "--module", "--compress", "--mangle", "--output", js], check=True)
        js_after, wasm_after = read(js), read(wasm)
        page = set_integrity(page, page_path, name, js_before, js_after)
        page = set_integrity(page, page_path, os.path.basename(wasm), wasm_before, wasm_after)
        print(f"{js}: {len(js_before)} -> {len(js_after)} bytes; {wasm}: {len(wasm_before)} -> {len(wasm_after)} bytes")
    with open(page_path, "w", encoding="utf-8") as f:
        f.write(page)


if __name__ == "__main__":
    for folder in sys.argv[1:]:
        shrink_bundle(folder)
