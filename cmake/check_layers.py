#!/usr/bin/env python3
"""Fails the build when a file of core/src includes a layer it does not link.

core/CMakeLists.txt declares one static library per layer (berth_layer()) and
writes the layers to a manifest, one line each:

    <layer>\t<direct deps, comma separated>\t<owned dirs>\t<owned files>

A file belongs to the layer that lists it in its owned files (sources, and the
header of the same name), else to the layer owning its directory. Every
`#include "dir/file.h"` of core/src must resolve to the file's own layer or one
it links, directly or through the layers below.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def load(manifest):
    layers = {}
    for line in open(manifest):
        line = line.rstrip('\n')
        if not line:
            continue
        name, deps, dirs, files = (line.split('\t') + ['', '', ''])[:4]
        layers[name] = (
            [d for d in deps.split(',') if d],
            [d for d in dirs.split(',') if d],
            [f for f in files.split(',') if f],
        )
    return layers


def closure(layers, name, memo):
    if name in memo:
        return memo[name]
    memo[name] = set()  # a cycle in the link graph still terminates
    seen = set()
    for dep in layers[name][0]:
        if dep not in layers:
            continue  # a target outside core (berth_jose, ...)
        seen.add(dep)
        seen |= closure(layers, dep, memo)
    memo[name] = seen
    return seen


def main():
    manifest, src = sys.argv[1], sys.argv[2]
    layers = load(manifest)
    by_file, by_dir = {}, {}
    for name, (_, dirs, files) in layers.items():
        for d in dirs:
            by_dir[d] = name
        for f in files:
            stem = os.path.splitext(f)[0]
            for ext in ('.h', '.cc'):
                by_file[stem + ext] = name

    def layer_of(rel):
        if rel in by_file:
            return by_file[rel]
        return by_dir.get(os.path.dirname(rel) or '.')

    memo = {}
    errors = []
    for root, _, names in os.walk(src):
        for n in sorted(names):
            if not n.endswith(('.h', '.cc')):
                continue
            rel = os.path.relpath(os.path.join(root, n), src)
            mine = layer_of(rel)
            if mine is None:
                errors.append(f'{rel}: no layer owns this file (core/CMakeLists.txt)')
                continue
            allowed = closure(layers, mine, memo) | {mine}
            text = open(os.path.join(root, n), encoding='utf-8').read()
            for inc in INCLUDE.findall(text):
                if not os.path.exists(os.path.join(src, inc)):
                    continue  # not ours (plugin-api, a system header, ...)
                theirs = layer_of(inc)
                if theirs is not None and theirs not in allowed:
                    errors.append(f'{rel}: includes "{inc}" of layer {theirs}, '
                                  f'which layer {mine} does not link')
    for e in errors:
        print(f'layer check: {e}', file=sys.stderr)
    if errors:
        print(f'layer check: {len(errors)} upward include(s); see docs/layers.md',
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
