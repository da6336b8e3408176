#!/usr/bin/env python3
"""The import graph of the workspace, drawn from the code: crates and the crates they depend on
(Cargo.toml), files per crate and the `crate::` modules each file names, and every circle among a
crate's files. Exits 1 when a crate has a circle or a library file is over the line limit.

    python3 scripts/import-graph.py [--max-lines 600] [--dot FILE]
"""
import argparse, re, sys, tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def crates():
    ws = tomllib.loads((ROOT / "Cargo.toml").read_text())
    for member in ws["workspace"]["members"]:
        d = (ROOT / member).resolve()
        manifest = tomllib.loads((d / "Cargo.toml").read_text())
        name = manifest["package"]["name"]
        deps = [k for k in manifest.get("dependencies", {}) if k.startswith("mnist-")]
        yield name, d, deps


def module_of(src: Path, f: Path) -> str:
    rel = f.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("lib", "main", "mod"):
        parts = parts[:-1]
    return "::".join(parts)


def files(src: Path):
    return sorted(p for p in src.rglob("*.rs"))




def edges(src: Path):
    mods = {module_of(src, f): f for f in files(src) if f.name != "main.rs" and "bin" not in f.relative_to(src).parts}
    graph = {m: set() for m in mods}
    for m, f in mods.items():
        # Test modules count too: a unit test that reaches into a module above its own closes a circle.
        text = f.read_text()
        names = set()
        for use in re.findall(r"crate::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)", text):
            names.add(use)
        # `use crate::{a, b::c}` groups
        for group in re.findall(r"crate::\{([^}]*)\}", text):
            for item in group.split(","):
                item = item.strip()
                if item:
                    names.add(item.split("::{")[0].strip())
        parent = m.rsplit("::", 1)[0] if "::" in m else ""
        for sup in re.findall(r"super::([a-z_][a-z0-9_]*)", text):
            names.add(f"{parent}::{sup}".strip(":") if parent else sup)
        for n in names:
            parts = n.split("::")
            # the longest module prefix that exists
            for k in range(len(parts), 0, -1):
                cand = "::".join(parts[:k])
                if cand in mods:
                    # a module does not depend on itself, nor on its own children through its parent
                    if cand != m and not cand.startswith(m + "::") and m != "" :
                        graph[m].add(cand)
                    break
    graph.pop("", None)
    for m in graph:
        graph[m].discard("")
    return mods, graph


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]; counter[0] += 1
        stack.append(v); on.add(v)
        for w in graph.get(v, ()):
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
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-lines", type=int, default=600)
    ap.add_argument("--dot", type=Path)
    a = ap.parse_args()
    bad = 0
    dot = ["digraph crates {", "  rankdir=BT; node [shape=box, fontname=Helvetica];"]
    for name, d, deps in crates():
        src = d / "src"
        mods, graph = edges(src)
        lines = sum(len(f.read_text().splitlines()) for f in files(src) if "bin" not in f.relative_to(src).parts)
        print(f"{name}: {len(mods)} files, {lines} lines; depends on {', '.join(deps) or 'no workspace crate'}")
        for dep in deps:
            dot.append(f'  "{name}" -> "{dep}";')
        for c in cycles(graph):
            bad += 1
            print(f"  CIRCLE: {' <-> '.join(c)}")
        if name != "mnist-burn":
            for f in files(src):
                n = len(f.read_text().splitlines())
                if n > a.max_lines:
                    bad += 1
                    print(f"  LONG: {f.relative_to(ROOT)} has {n} lines (limit {a.max_lines})")
    dot.append("}")
    if a.dot:
        a.dot.write_text("\n".join(dot) + "\n")
    print(f"{bad} problem(s)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
