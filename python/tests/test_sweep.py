"""sweep() from Python: the trials run through the package (no binary), the summary is the
sweep command's, and load_sweep reads it back."""

from __future__ import annotations

import csv

import numpy as np

import mnist_burn
from conftest import write_config


def test_a_sweep_runs_its_trials_and_summarizes_them(tmp_path, cli):
    base = write_config(tmp_path / "base.toml", "py_sweep_base", 'kind = "mlp"\nhidden = [16]', epochs=1, train_limit=1000, test_limit=200)
    spec = tmp_path / "sweep.toml"
    spec.write_text(
        '[sweep]\nname = "py_sweep"\nbase = "base.toml"\nrepeats = 2\nmetrics = ["test.accuracy", "test.loss"]\n\n'
        '[grid]\n"training.learning_rate" = [0.05, 0.1]\n'
    )
    summary = mnist_burn.sweep(spec, jobs=2, out=tmp_path / "out")
    assert list(summary["training.learning_rate"]) == [0.05, 0.1]
    assert list(summary["test.accuracy.n"]) == [2, 2]
    s = mnist_burn.load_sweep(tmp_path / "out")
    assert len(s.trials) == 4
    results = s.results()
    assert all(r is not None for r in results.values())
    # The mean over the repeats is that of the trials' own test results.
    for lr, mean in zip([0.05, 0.1], summary["test.accuracy.mean"]):
        accs = [r["accuracy"] for name, r in results.items() if s.run(name).config["training"]["learning_rate"] == lr]
        assert len(accs) == 2 and np.isclose(np.mean(accs), mean, rtol=0, atol=1e-12)
    # The same sweep through the command line gives the same numbers.
    cli("sweep", "--config", spec, "--out", tmp_path / "cli", "--jobs", 2)
    with open(tmp_path / "cli" / "summary.csv", newline="") as f:
        theirs = list(csv.DictReader(f))
    assert [float(r["test.accuracy.mean"]) for r in theirs] == list(summary["test.accuracy.mean"])
    # A second call finds every trial finished and runs nothing.
    again = mnist_burn.sweep(spec, jobs=2, out=tmp_path / "out")
    assert list(again["test.accuracy.mean"]) == list(summary["test.accuracy.mean"])
