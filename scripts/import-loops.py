#!/usr/bin/env python3
"""Fails when two files of a crate use each other, directly or round a loop.

Usage: scripts/import-loops.py SRC_DIR [SRC_DIR ...]  (each a crate's src/)

A file's module uses another when its code (comments and `#[cfg(test)]` parts
left out) names it by a `crate::…` or `super::…` path, or in a
`use crate::{…}` group. The longest module a path names is the one used, so
`crate::store::units::unit` uses `store::units`. A module using one of its
own parents (a child reaching `super`) is not counted: parents declare their
children. Binaries in `src/bin/` are left out; they only start the crate.
"""
import re
import subprocess
import sys

PATH = r'[a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*'


def code_of(text):
    """The text without line comments and without the trailing test module."""
    lines = [line.split('//', 1)[0] for line in text.split('\n')]
    code = '\n'.join(lines)
    test = code.find('#[cfg(test)]')
    return code if test < 0 else code[:test]


def modules(root):
    """Module path (``store::units``; the crate root is '') -> file."""
    files = subprocess.check_output(['git', 'ls-files', root], text=True).split()
    found = {}
    for f in files:
        if not f.endswith('.rs'):
            continue
        rel = f[len(root):].lstrip('/')[:-3]
        if rel.startswith('bin/'):
            continue
        name = rel.removesuffix('/mod').replace('/', '::')
        found['' if name in ('lib', 'main') else name] = f
    return found


def uses(root):
    """Module -> {module it uses: the path that named it}."""
    mods = modules(root)
    graph = {m: {} for m in mods}
    for m, f in mods.items():
        code = code_of(open(f, encoding='utf-8').read())
        paths = re.findall(r'crate::(' + PATH + ')', code)
        parent = m.rsplit('::', 1)[0] if '::' in m else ''
        paths += [(parent + '::' if parent else '') + p for p in re.findall(r'super::(' + PATH + ')', code)]
        for group in re.findall(r'use crate::\{([^}]*)\}', code):
            paths += [item.split(' as ')[0].strip(' {') for item in group.split(',') if item.strip()]
        for path in paths:
            parts = path.split('::')
            for k in range(len(parts), 0, -1):
                used = '::'.join(parts[:k])
                if used in mods:
                    if used not in ('', m) and not m.startswith(used + '::'):
                        graph[m].setdefault(used, path)
                    break
    return graph


def loops(graph):
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            visit(v)
    return found


def main(roots):
    bad = 0
    for root in roots:
        graph = uses(root)
        for group in loops(graph):
            bad += 1
            print(f'{root}: files that use each other: {", ".join(group)}')
            for a in group:
                for b, path in sorted(graph[a].items()):
                    if b in group:
                        print(f'    {a} -> {b}  ({path})')
    if bad:
        sys.exit(1)
    print(f'no import loops in {", ".join(roots)}')


if __name__ == '__main__':
    main(sys.argv[1:] or ['src'])
