"""``sweep()`` and ``load_sweep()``: a sweep file's trials as run directories, through the same
planning, launching and summary as the ``sweep`` command, each trial in a process of its own."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional, Union

from . import _native
from ._run import Run, read_csv

PathLike = Union[str, "os.PathLike[str]"]


def sweep(
    spec: PathLike,
    *,
    jobs: int = 1,
    out: Optional[PathLike] = None,
    force: bool = False,
    max_trials: Optional[int] = None,
):
    """Run the sweep file ``spec`` (e.g. ``"configs/sweeps/l2.toml"``) and return its summary.

    Trials already finished in the sweep directory are kept, interrupted ones resume: calling it
    again after Ctrl-C goes on where it stopped.

    Args:
        spec: the sweep file: a base config, fixed overrides, grid axes and repeats.
        jobs: trials at once, the machine's cores split between them.
        out: the sweep directory (default ``artifacts/<sweep name>``).
        force: run this sweep in a directory that holds another (changed trials start over).
        max_trials: refuse a sweep of more trials (default: the file's, else 100,000).

    Returns:
        ``summary.csv``: one row per grid point, ``test.<metric>.{mean,std,min,max,n}`` over the
        repeats; a pandas DataFrame when pandas is installed, else a dict of numpy arrays.
        ``load_sweep(dir)`` gives the trials' runs.

    Raises:
        FileNotFoundError: ``spec`` does not exist.
        ConfigError: the sweep file or a trial's config is invalid.
        KeyboardInterrupt: Ctrl-C; the running trials stopped at their last checkpoint.
        EngineError: trials failed (their logs are in the sweep directory).
    """
    path = Path(os.fspath(spec))
    if not path.exists():
        raise FileNotFoundError(2, f"sweep file {path} does not exist; expected a TOML file such as configs/sweeps/l2.toml", str(path))
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs={jobs!r}: expected a whole number >= 1")
    directory = _native.sweep(
        str(path),
        sys.executable,
        out=None if out is None else os.fspath(out),
        jobs=jobs,
        force=bool(force),
        max_trials=max_trials,
    )
    return load_sweep(directory).summary


def load_sweep(dir: PathLike) -> "Sweep":
    """The sweep in ``dir`` (written by ``sweep()`` or the ``sweep`` command)."""
    return Sweep(dir)


class Sweep:
    """A sweep directory: its summary and its trials."""

    def __init__(self, dir: PathLike):
        path = Path(os.fspath(dir))
        if not (path / "sweep.toml").is_file():
            raise FileNotFoundError(2, f"{path} is not a sweep directory (no sweep.toml in it); expected a directory written by sweep()", str(path))
        self.dir: Path = path

    def __repr__(self) -> str:
        return f"Sweep({str(self.dir)!r}: {len(self.trials)} trials)"

    @property
    def summary(self):
        """``summary.csv``: per grid point, the mean, std, min, max and count of each metric."""
        return read_csv(self.dir / "summary.csv")

    @property
    def trials(self) -> List[str]:
        """The trials' names (their run directories' names), in the order the sweep lists them."""
        try:
            import tomllib  # Python 3.11+

            record = tomllib.loads((self.dir / "sweep.toml").read_text())
            return [t["name"] for t in record.get("trial", [])]
        except ImportError:
            return sorted(p.name for p in self.dir.iterdir() if (p / "config.toml").is_file())

    def run(self, trial: str) -> Run:
        """The run of one trial."""
        return Run(self.dir / trial)

    def results(self) -> Dict[str, Optional[dict]]:
        """Each trial's test result (``test.json``), None for one that has not finished."""
        out = {}
        for name in self.trials:
            path = self.dir / name / "test.json"
            out[name] = json.loads(path.read_text()) if path.is_file() else None
        return out
