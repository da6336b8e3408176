"""train() from Python against the `train` command: the same metrics, the same errors; the
callback, the progress, the interpreter released while training, Ctrl-C and resume."""

from __future__ import annotations

import csv
import json
import signal
from pathlib import Path

import pytest

import mnist_burn
from conftest import REPO, run_python

# Wall-clock columns differ between any two runs; every other column must be identical.
TIMED = {"seconds"}


def metrics(run_dir: Path) -> list[dict]:
    with open(Path(run_dir) / "metrics.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k not in TIMED} for row in csv.DictReader(f)]


def test_python_writes_the_same_metrics_as_the_cli(tmp_path, mlp_config, cli):
    run = mnist_burn.train(mlp_config, out=tmp_path / "py", progress=False)
    cli("train", "--config", mlp_config, "--out", tmp_path / "cli", "--no-progress")
    ours, theirs = metrics(run.dir), metrics(tmp_path / "cli")
    assert len(ours) == 4  # 2 epochs x (train, validation)
    assert ours == theirs
    ours_test, theirs_test = (json.loads((d / "test.json").read_text()) for d in (run.dir, tmp_path / "cli"))
    for result in (ours_test, theirs_test):
        del result["run"], result["checkpoint"]  # the two run directories
    assert ours_test == theirs_test


def test_overrides_epochs_and_seed_are_the_cli_flags(tmp_path, mlp_config, cli):
    run = mnist_burn.train(mlp_config, set={"model.hidden": [16], "training.learning_rate": 0.05}, epochs=1, seed=3, out=tmp_path / "py", progress=False)
    cli("train", "--config", mlp_config, "--set", "model.hidden=[16]", "--set", "training.learning_rate=0.05", "--epochs", 1, "--seed", 3, "--out", tmp_path / "cli", "--no-progress")
    assert metrics(run.dir) == metrics(tmp_path / "cli")
    assert run.config["model"]["hidden"] == [16]
    assert run.config["experiment"]["seed"] == 3


def test_on_epoch_gets_each_epoch_as_keras_logs(tmp_path, mlp_config):
    seen = []
    mnist_burn.train(mlp_config, out=tmp_path / "run", on_epoch=seen.append, progress=False)
    assert [logs["epoch"] for logs in seen] == [1, 2]
    rows = metrics(tmp_path / "run")
    for logs in seen:
        train_row = next(r for r in rows if r["epoch"] == str(logs["epoch"]) and r["split"] == "train")
        val_row = next(r for r in rows if r["epoch"] == str(logs["epoch"]) and r["split"] == "validation")
        assert logs["loss"] == float(train_row["loss"]) and logs["accuracy"] == float(train_row["accuracy"])
        assert logs["val_loss"] == float(val_row["loss"]) and logs["val_accuracy"] == float(val_row["accuracy"])
        assert "kl" not in logs  # empty metrics are left out


def test_an_exception_in_on_epoch_stops_training_and_propagates(tmp_path, mlp_config):
    class Enough(Exception):
        pass

    def stop(logs):
        raise Enough(logs["epoch"])

    with pytest.raises(Enough):
        mnist_burn.train(mlp_config, out=tmp_path / "run", on_epoch=stop, progress=False)
    # The first epoch was saved before the callback ran; the run resumes from it.
    run = mnist_burn.train(mlp_config, out=tmp_path / "run", resume=True, progress=False)
    assert run.epoch == 2


def test_progress_prints_the_runs_lines(tmp_path, mlp_config, capsys):
    mnist_burn.train(mlp_config, out=tmp_path / "run", progress="lines")
    out = capsys.readouterr().out
    assert "Training py_mlp: mlp" in out
    assert "epoch   2/2" in out
    assert out.strip().splitlines()[-1].startswith("test  loss")


INTERRUPTED = """
import json, os, signal, sys, threading, time
from pathlib import Path
import mnist_burn
marker = Path(os.environ["MNIST_BURN_TEST_MARKER_DIR"]) / "step@40"
counted = {"n": 0, "at_marker": None}
def other_thread():
    # Runs only if train() released the interpreter: training is paused at the hook until this
    # thread, which needs the interpreter, sees the marker and sends Ctrl-C.
    deadline = time.monotonic() + 600
    while not marker.exists():
        counted["n"] += 1
        if time.monotonic() > deadline:
            print("no marker after 600 s", file=sys.stderr); os._exit(3)
        time.sleep(0.001)
    counted["at_marker"] = counted["n"]
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=other_thread, daemon=True).start()
try:
    mnist_burn.train(sys.argv[1] if len(sys.argv) > 1 else os.environ["CONFIG"], out=os.environ["OUT"], progress=False)
    print(json.dumps({"interrupted": False}))
except KeyboardInterrupt as e:
    print(json.dumps({"interrupted": True, "message": str(e), "counted": counted}))
"""


def test_ctrl_c_stops_cleanly_while_another_thread_runs_and_resume_is_exact(tmp_path, mlp_config):
    markers = tmp_path / "markers"
    markers.mkdir()
    out = tmp_path / "interrupted"
    # 1,800 training images in batches of 64: 29 steps an epoch; step 40 is in epoch 2.
    p = run_python(INTERRUPTED, env={"MNIST_BURN_TEST_PAUSE_AT": "step@40", "MNIST_BURN_TEST_MARKER_DIR": str(markers), "CONFIG": str(mlp_config), "OUT": str(out)})
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout.strip().splitlines()[-1])
    assert result["interrupted"], p.stdout
    assert result["counted"]["at_marker"] > 0
    assert "the 1 completed epoch(s) are checkpointed" in result["message"] and "resume=True" in result["message"]
    assert len(metrics(out)) == 2  # epoch 1 only
    resumed = mnist_burn.train(mlp_config, out=out, resume=True, progress=False)
    reference = mnist_burn.train(mlp_config, out=tmp_path / "reference", progress=False)
    assert metrics(resumed.dir) == metrics(reference.dir)


def test_ctrl_c_that_lands_while_a_callback_runs_is_the_interrupt_with_its_message(tmp_path, mlp_config):
    # os.kill to this process from the main thread: the interpreter raises the KeyboardInterrupt
    # inside the callback, as it does when a real Ctrl-C arrives while Python code of a callback
    # (or of the progress display) runs. It stops training as the interrupt, not as a failure of
    # the callback, and says where the run stands.
    code = """
import json, os, signal, mnist_burn
def interrupt(logs):
    os.kill(os.getpid(), signal.SIGINT)
try:
    mnist_burn.train(os.environ["CONFIG"], out=os.environ["OUT"], on_epoch=interrupt, progress=False)
    print(json.dumps({"interrupted": False}))
except KeyboardInterrupt as e:
    print(json.dumps({"interrupted": True, "message": str(e)}))
"""
    p = run_python(code, env={"CONFIG": str(mlp_config), "OUT": str(tmp_path / "run")})
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout.strip().splitlines()[-1])
    assert result["interrupted"], p.stdout
    assert "interrupted during epoch 2; the 1 completed epoch(s) are checkpointed" in result["message"], result["message"]
    assert len(metrics(tmp_path / "run")) == 2  # epoch 1 only


def test_a_panic_in_the_engine_is_an_exception_not_a_crash(tmp_path, mlp_config):
    code = """
import os, sys, mnist_burn
try:
    mnist_burn.train(os.environ["CONFIG"], out=os.environ["OUT"], progress=False)
except mnist_burn.EngineError as e:
    print("EngineError:", e)
    # The interpreter goes on, and the module still works.
    print(mnist_burn.load_run(os.environ["OUT"]).epoch)
"""
    p = run_python(code, env={"MNIST_BURN_TEST_PANIC_AT": "step@40", "CONFIG": str(mlp_config), "OUT": str(tmp_path / "run")})
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert lines[0].startswith("EngineError: internal failure in the engine: test hook: panic at step@40"), p.stdout
    assert lines[-1] == "1"  # the run holds its first epoch


def test_a_second_call_after_an_interrupt_starts_clean(tmp_path, mlp_config):
    # A stop request from an earlier call (here raised directly) must not stop the next one.
    code = """
import os, signal, mnist_burn
from mnist_burn import _native
seen = []
def interrupt(logs):
    seen.append(logs["epoch"])
    os.kill(os.getpid(), signal.SIGINT)
try:
    mnist_burn.train(os.environ["CONFIG"], out=os.environ["OUT"], on_epoch=interrupt, progress=False)
except KeyboardInterrupt:
    pass
run = mnist_burn.train(os.environ["CONFIG"], out=os.environ["OUT"], resume=True, progress=False)
print(seen, run.epoch)
"""
    p = run_python(code, env={"CONFIG": str(mlp_config), "OUT": str(tmp_path / "run")})
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "[1] 2"
