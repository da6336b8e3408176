#!/usr/bin/env bash
# Loads a run's TensorBoard event file with TensorBoard's own reader and checks that every scalar
# of metrics.csv is there with the same value (needs `pip install tensorboard`).
# Usage: scripts/check-tensorboard.sh RUN_DIR   (after `report --run RUN_DIR`)
set -euo pipefail
run="${1:?usage: scripts/check-tensorboard.sh RUN_DIR}"
python3 - "$run" <<'PY'
import csv, math, sys, pathlib
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

run = pathlib.Path(sys.argv[1])
acc = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0})
acc.Reload()
tags = acc.Tags()["scalars"]
print(f"{len(tags)} scalar tags: {', '.join(sorted(tags))}")
checked = 0
with open(run / "metrics.csv") as f:
    for row in csv.DictReader(f):
        for column, text in row.items():
            if column in ("epoch", "split") or text == "":
                continue
            tag = f"{row['split']}/{column}"
            events = {e.step: e.value for e in acc.Scalars(tag)}
            got, want = events[int(row["epoch"])], float(text)
            if not math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12):
                sys.exit(f"{tag} at epoch {row['epoch']}: TensorBoard reads {got}, metrics.csv says {want}")
            checked += 1
print(f"ok: TensorBoard reads all {checked} values of metrics.csv")
PY
