#!/usr/bin/env python3
"""The module graph of src/: which top-level module imports which (from every `crate::<module>`
path outside comments and `#[cfg(test)]` code), checked against the declared floors.

    python3 scripts/module-graph.py          # prints the edges; exit 1 on a cycle or a layer break

A module may import only modules on floors below its own. `metadata` (the pure parsers) may
reach only its vocabulary: `vocab`, `compression`, `identity`.
"""
import os
import re
import sys

# Bottom to top. Modules on one floor do not import each other.
FLOORS = [
    ["vocab"],
    ["compression"],
    ["identity"],
    ["template"],
    ["metadata"],
    ["package"],
    ["unpack"],
    ["config"],
    ["fetch"],
    ["catalog"],
    ["source"],
    ["tier"],
    ["resolver"],
    ["serve", "interop"],
]
METADATA_MAY_REACH = {"vocab", "compression", "identity"}

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")
floor_of = {m: i for i, ms in enumerate(FLOORS) for m in ms}
edges, where = {}, {}
for dirpath, _, files in os.walk(root):
    for f in sorted(files):
        if not f.endswith(".rs"):
            continue
        rel = os.path.relpath(os.path.join(dirpath, f), root)
        parts = rel.split(os.sep)
        if parts[0] == "bin" or rel == "lib.rs":
            continue
        top = parts[0][:-3] if len(parts) == 1 else parts[0]
        in_test = False
        for n, line in enumerate(open(os.path.join(dirpath, f), encoding="utf-8"), 1):
            s = line.strip()
            if s.startswith("//"):
                continue
            if s.startswith("#[cfg(test)]"):
                in_test = True  # test modules sit at the end of a file
            if in_test:
                continue
            targets = re.findall(r"\bcrate::(\w+)", line)
            for group in re.findall(r"\bcrate::\{([^}]*)\}", line):
                targets += re.findall(r"(?:^|,)\s*(\w+)", group)
            for t in targets:
                if t != top:
                    edges.setdefault(top, set()).add(t)
                    where.setdefault((top, t), f"{rel}:{n}")

problems = []
for a in sorted(edges):
    print(f"{a} -> {', '.join(sorted(edges[a]))}")
    for b in sorted(edges[a]):
        if a not in floor_of or b not in floor_of:
            problems.append(f"{a} -> {b} ({where[(a, b)]}): module not on a declared floor")
        elif floor_of[b] >= floor_of[a]:
            problems.append(f"{a} -> {b} ({where[(a, b)]}): imports a floor not below its own")
for b in sorted(edges.get("metadata", ())):
    if b not in METADATA_MAY_REACH:
        problems.append(f"metadata -> {b} ({where[('metadata', b)]}): beyond its vocabulary")

# Cycles (Tarjan's strongly connected components), reported even if the floors were wrong.
index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        comps.append(comp)
for v in sorted(set(edges) | {t for ts in edges.values() for t in ts}):
    if v not in index:
        visit(v)
for c in comps:
    if len(c) > 1:
        problems.append("cycle: " + " <-> ".join(sorted(c)))

for p in problems:
    print("PROBLEM:", p)
print("ok: no cycle, every import points to a lower floor" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
