#!/usr/bin/env python3
"""Prints the GPU check's table (Markdown) from the JSON lines scripts/gpu-check.sh wrote.

    python3 scripts/gpu_table.py gpu-check/

Throughput: training samples/s of `bench` on each GPU backend and of PyTorch on the same models
(scripts/bench_pytorch.py), and the ratio of our best backend to PyTorch (above 1: we are faster).
Start-up: seconds from process start to the first training step done, with an empty GPU cache
(cold) and with the cache the first process left (warm), and the kernels one step launches.
Trainings: wall time from process start to the printed test metric, and that metric, ours and
PyTorch's. Submission batch: the warm benchmark again with wgpu's CUBECL_WGPU_MAX_TASKS raised.
"""

import json
import sys
from pathlib import Path


def read_lines(path):
    rows = []
    if not path.is_file():
        return rows
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


def by_model(rows):
    return {r["model"]: r for r in rows if "model" in r}


def rate(row):
    if row is None:
        return None
    return row.get("samples_per_s")


def fmt(x):
    if x is None:
        return "–"
    return f"{x:,.0f}"


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "gpu-check")
    backends = sorted(p.stem[len("bench-"):] for p in out.glob("bench-*.jsonl") if p.stem != "bench-torch")
    cold = {b: by_model(read_lines(out / f"cold-{b}.jsonl")) for b in backends}
    ours = {b: by_model(read_lines(out / f"bench-{b}.jsonl")) for b in backends}
    torch_rows = by_model(read_lines(out / "bench-torch.jsonl"))
    models = []
    for table in list(ours.values()) + [torch_rows]:
        for m in table:
            if m not in models:
                models.append(m)

    adapter = next((r.get("adapter") for t in ours.values() for r in t.values() if r.get("adapter")), "?")
    torch_name = next((f'{r.get("device")} ({r.get("adapter")}, torch {r.get("torch_version")})' for r in torch_rows.values()), "PyTorch: no results")
    print(f"GPU check: ours on {adapter}; {torch_name}\n")
    header = ["model", "batch"] + [f"{b} samples/s" for b in backends] + ["PyTorch samples/s", "ours / PyTorch"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    slower = []
    for m in models:
        rates = [rate(ours[b].get(m)) for b in backends]
        errors = [ours[b].get(m, {}).get("error") for b in backends]
        theirs = rate(torch_rows.get(m))
        best = max((r for r in rates if r is not None), default=None)
        ratio = f"{best / theirs:.2f}" if best and theirs else "–"
        if best and theirs and best < theirs:
            slower.append(m)
        batch = next((t.get(m, {}).get("batch_size") for t in list(ours.values()) + [torch_rows] if t.get(m, {}).get("batch_size")), "")
        cells = [fmt(r) if r is not None else (f"failed ({e})" if e else "–") for r, e in zip(rates, errors)]
        print(f"| {m} | {batch} | " + " | ".join(cells) + f" | {fmt(theirs)} | {ratio} |")
    if slower:
        print(f"\nBelow PyTorch: {', '.join(slower)}")

    def seconds(row):
        v = (row or {}).get("first_step_s")
        return f"{v:.1f} s" if v is not None else ((row or {}).get("error") or "–")

    for b in backends:
        print(f"\nStart-up on {b}: process start to the first step done, empty cache (cold) and the cache the cold process left (warm); kernels launched per training step.\n")
        print("| model | cold | warm | kernels/step | cache entries after cold → warm |")
        print("|---|---:|---:|---:|---|")
        for m in models:
            warm = ours[b].get(m)
            k = (warm or {}).get("kernels_per_step")

            def entries(row):
                c = (row or {}).get("gpu_cache")
                return sum(c["namespaces"].values()) if c else None

            e0, e1 = entries(cold[b].get(m)), entries(warm)
            added = "–" if e0 is None or e1 is None else f"{e0} → {e1}" + (" (warm added nothing)" if e0 == e1 else "")
            print(f"| {m} | {seconds(cold[b].get(m))} | {seconds(warm)} | {f'{k:.0f}' if k is not None else '–'} | {added} |")

    trains = read_lines(out / "train.jsonl")
    if trains:
        print("\n| training | device | exit | wall time | test |")
        print("|---|---|---|---|---|")
        for t in trains:
            wall = t.get("wall_s")
            wall = f"{wall:.1f} s" if wall is not None else "–"
            print(f'| {t["model"]} | {t["device"]} | {t.get("exit", "–")} | {wall} | {t.get("test") or "–"} |')

    # Submission batching: the warm benchmark at CUBECL_WGPU_MAX_TASKS 32 (the default) beside 128, 512.
    for b in backends:
        tasks = read_lines(out / f"tasks-{b}.jsonl")
        if not tasks:
            continue
        sizes = sorted({t["tasks_max"] for t in tasks if "tasks_max" in t})
        print(f"\nSubmission batch on {b} (CUBECL_WGPU_MAX_TASKS): samples/s, warm cache.\n")
        print("| model | 32 (default) | " + " | ".join(str(n) for n in sizes) + " |")
        print("|---|---:|" + "---:|" * len(sizes))
        for m in models:
            rows = {t["tasks_max"]: t for t in tasks if t.get("model") == m and "tasks_max" in t}
            if rows:
                print(f"| {m} | {fmt(rate(ours[b].get(m)))} | " + " | ".join(fmt(rate(rows.get(n))) for n in sizes) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
