"""Shared fixtures of the package's tests: the repository, the MNIST files, small configs, and
the command-line binaries the package is compared with."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MNIST = REPO / "data" / "mnist"
#: Longest wait for a child process: generous, so a loaded machine passes; it fails naming what.
WAIT_BOUND = 600


def bin_dir() -> Path:
    """Where the command-line binaries are: $MNIST_BURN_BIN_DIR, else the cargo target dir's
    debug folder (the workspace's one profile)."""
    if os.environ.get("MNIST_BURN_BIN_DIR"):
        return Path(os.environ["MNIST_BURN_BIN_DIR"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug"


@pytest.fixture(scope="session")
def cli():
    """Runs a command-line binary (`train`, `eval`, ...) and returns the finished process."""

    def run(name: str, *args, check: bool = True) -> subprocess.CompletedProcess:
        exe = bin_dir() / name
        assert exe.is_file(), f"the {name} binary is not in {exe.parent}: build it with `cargo build --bins --features wgpu` (or set MNIST_BURN_BIN_DIR)"
        p = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=WAIT_BOUND, cwd=REPO)
        if check:
            assert p.returncode == 0, f"{name} {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stderr}"
        return p

    return run


SGD = 'loss = "cross_entropy"\nlearning_rate = 0.1\noptimizer = { kind = "sgd" }'
ADAM_BCE = 'loss = "bce"\nlearning_rate = 0.001\noptimizer = { kind = "adam" }'


def write_config(path: Path, name: str, model: str, training: str = SGD, *, epochs: int = 2, train_limit: int = 2000, test_limit: int = 500) -> Path:
    """A small, fast experiment on the repository's MNIST files, on the CPU."""
    text = f"""device = "flex"

[experiment]
name = "{name}"
seed = 7

[data]
set = "mnist"
dir = "{MNIST}"
normalization = "unit"
validation_fraction = 0.1
train_limit = {train_limit}
test_limit = {test_limit}

[model]
{model}

[training]
epochs = {epochs}
batch_size = 64
log_every = 5
{training}
"""
    path.write_text(text)
    return path


@pytest.fixture
def mlp_config(tmp_path) -> Path:
    return write_config(tmp_path / "mlp.toml", "py_mlp", 'kind = "mlp"\nhidden = [32]')


@pytest.fixture
def ae_config(tmp_path) -> Path:
    """A dense autoencoder with a code of 2, one epoch."""
    cfg = write_config(
        tmp_path / "ae.toml",
        "py_ae",
        'kind = "dense_autoencoder"\nencoder = [{ units = 64, activation = "relu" }, { units = 2, activation = "linear" }]\noutput_activation = "sigmoid"',
        ADAM_BCE,
        epochs=1,
    )
    return cfg


def run_python(code: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter (the one running the tests), bounded by WAIT_BOUND."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=WAIT_BOUND,
        env={**os.environ, **(env or {})},
        cwd=cwd or REPO,
    )
