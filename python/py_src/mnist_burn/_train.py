"""``train()``: one experiment from a TOML config into a run directory, as the ``train`` command
runs it, with a progress display for notebooks and a callback per epoch."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Union

from . import _native
from ._run import Run

PathLike = Union[str, "os.PathLike[str]"]

#: Seconds between two plain progress lines when tqdm is not installed.
LINE_SECONDS = 10.0


def train(
    config: PathLike,
    *,
    set: Optional[Mapping[str, Any]] = None,
    out: Optional[PathLike] = None,
    epochs: Optional[int] = None,
    seed: Optional[int] = None,
    device: Optional[str] = None,
    resume: bool = False,
    force: bool = False,
    on_epoch: Optional[Callable[[dict], Any]] = None,
    progress: Union[bool, str] = True,
) -> Run:
    """Train the experiment of the TOML file ``config`` and return its run.

    Args:
        config: the experiment's TOML file, e.g. ``"configs/vae.toml"``.
        set: keys of the config to change, by dotted path, as ``train --set`` does:
            ``{"training.learning_rate": 0.01, "model.hidden": [128, 64]}``. Values are Python
            numbers, strings, booleans, lists and dicts (a dict is a TOML table).
        out: the run directory (default ``artifacts/<experiment name>``).
        epochs: the number of epochs (``training.epochs``); with ``resume=True``, more than
            the run was given extends it.
        seed: the seed (``experiment.seed``).
        device: the backend: ``"flex"`` (CPU), ``"ndarray"``, ``"wgpu"`` or ``"vulkan"`` (those
            the package was built with); default: the config's, else the best compiled.
        resume: continue the run in ``out`` from its last checkpoint.
        force: delete an existing run in ``out`` and start over.
        on_epoch: called after each saved epoch with its metrics as a dict, as Keras' logs:
            ``{"epoch": 3, "loss": ..., "accuracy": ..., "val_loss": ..., "val_accuracy": ...,
            "learning_rate": ..., "seconds": ...}``. Raising in it stops training (the run stays
            resumable) and the exception propagates.
        progress: show progress: a tqdm bar per epoch when tqdm is installed (a widget in
            Jupyter with ipywidgets), else a plain line every 10 seconds; and the run's lines
            (header, each epoch, the test result). ``"lines"``: plain lines even with tqdm (for
            log files); ``False``: nothing.

    Returns:
        The finished run (``Run``), loaded from its last checkpoint.

    Raises:
        FileNotFoundError: ``config`` does not exist, or the data set is not on this machine.
        ConfigError: the config or an override is invalid (the ``train`` command's message).
        KeyboardInterrupt: Ctrl-C, or Jupyter's interrupt; training stopped before its next step
            and every completed epoch is checkpointed: ``resume=True`` continues it exactly.
        EngineError: training failed (e.g. the loss became NaN); the message says what to do.
    """
    path = _existing_file(config)
    if set is not None and not isinstance(set, Mapping):
        raise TypeError(f"set must be a dict of dotted config keys to values, e.g. {{'training.epochs': 3}}, not {type(set).__name__}")
    if device is not None and not isinstance(device, str):
        raise ValueError(f"device={device!r}: expected a backend name such as \"flex\" or \"wgpu\"")
    overrides = [(f"set[{key!r}]={value!r}", f"{_key(key)}={_toml(value, key)}") for key, value in (set or {}).items()]
    display = _Display(progress)
    try:
        run_dir = _native.train(
            str(path),
            overrides,
            out=None if out is None else os.fspath(out),
            epochs=_count(epochs, "epochs"),
            seed=_count(seed, "seed"),
            device=device,
            resume=bool(resume),
            force=bool(force),
            on_event=lambda kind, text: display.event(kind, text, on_epoch),
        )
    finally:
        display.close()
    return Run(run_dir)


def _existing_file(config: PathLike) -> Path:
    try:
        path = Path(os.fspath(config))
    except TypeError:
        raise TypeError(f"config must be the path of a TOML file (str or pathlib.Path), not {type(config).__name__}") from None
    if not path.exists():
        raise FileNotFoundError(2, f"config {path} does not exist; expected a TOML file such as configs/mlp.toml", str(path))
    return path


def _key(key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise ValueError(f"set: key {key!r} is not a dotted config key such as 'training.learning_rate'")
    return key


def _count(value: Optional[int], name: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}={value!r}: expected a whole number >= 0")
    return value


def _toml(value: Any, key: str) -> str:
    """A Python value as TOML text, as ``--set KEY=VALUE`` takes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, (str, os.PathLike)):
        return json.dumps(os.fspath(value))  # a TOML basic string: JSON's escapes are TOML's
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v, key) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml(v, key)}" for k, v in value.items()) + " }"
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _toml(value.item(), key)
    raise ValueError(f"set[{key!r}] = {value!r}: a {type(value).__name__} is not a config value; expected a number, string, boolean, list or dict")


def keras_logs(rows: list) -> dict:
    """An epoch's ``metrics.csv`` rows (train, validation) as one dict, Keras' way: the training
    metrics by name, the validation ones prefixed ``val_``; empty metrics left out."""
    logs: dict = {}
    for row in rows:
        prefix = "" if row.get("split") == "train" else "val_"
        logs.setdefault("epoch", row.get("epoch"))
        for name, value in row.items():
            if name in ("epoch", "split", "time") or value is None:
                continue
            if name == "learning_rate":
                logs.setdefault(name, value)
            else:
                logs[prefix + name] = value
    return logs


class _Display:
    """Progress on the notebook's (or terminal's) output: the run's lines through ``print``, a
    tqdm bar per epoch when tqdm is installed, else a plain line every ``LINE_SECONDS``."""

    def __init__(self, show: Union[bool, str]):
        self.show = bool(show)
        self.bar = None
        self.bar_epoch = None
        self.last_line = time.monotonic()
        self.tqdm = None
        if show is True:
            try:
                from tqdm.auto import tqdm

                self.tqdm = tqdm
            except ImportError:
                pass

    def event(self, kind: str, text: str, on_epoch) -> None:
        if kind == "line":
            if self.show:
                self._write(text)
        elif kind == "step":
            if self.show:
                self._step(json.loads(text))
        elif kind == "epoch":
            self._close_bar()
            if on_epoch is not None:
                on_epoch(keras_logs(json.loads(text)))

    def _step(self, s: dict) -> None:
        if self.tqdm is not None:
            if self.bar is None or self.bar_epoch != s["epoch"]:
                self._close_bar()
                self.bar = self.tqdm(total=s["steps"], desc=f"epoch {s['epoch']}/{s['epochs']}", unit="step", leave=False, file=sys.stderr)
                self.bar_epoch = s["epoch"]
            self.bar.set_postfix_str(s["message"], refresh=False)
            self.bar.update(s["step"] - self.bar.n)
        elif time.monotonic() - self.last_line >= LINE_SECONDS:
            self.last_line = time.monotonic()
            left = "" if s.get("eta") is None else f", about {s['eta']:.0f} s left"
            print(f"progress: epoch {s['epoch']}/{s['epochs']}, step {s['step']}/{s['steps']}{left} · {s['message']}", file=sys.stderr, flush=True)

    def _write(self, text: str) -> None:
        if self.bar is not None and self.tqdm is not None:
            self.tqdm.write(text, file=sys.stdout)
        else:
            print(text, flush=True)

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def close(self) -> None:
        self._close_bar()
