"""mnist_burn: the mnist-burn engine (Rust, Burn) from Python and Jupyter.

Train the classic MNIST model family from the project's TOML configs, load saved runs, predict on
numpy arrays, run sweeps and draw the figures, as the command-line tools do::

    import mnist_burn
    (x_train, y_train), (x_test, y_test) = mnist_burn.datasets.load("mnist")
    run = mnist_burn.train("configs/mlp.toml", set={"training.epochs": 3})
    run.history                                  # metrics.csv, a DataFrame with pandas
    probabilities = run.predict(x_test)          # (10000, 10) float32
    run.report()                                 # the figures of `report`, their paths

Errors: a bad config raises ``ConfigError`` (a ``ValueError``) with the CLI's message; a missing
config, run or data set ``FileNotFoundError``; a bad array ``ValueError``; Ctrl-C (Jupyter's
interrupt) ``KeyboardInterrupt`` after training stopped cleanly (``resume=True`` continues it).
"""

from . import datasets
from ._native import ConfigError, EngineError, __version__
from ._run import Run, load_run
from ._sweep import Sweep, load_sweep, sweep
from ._train import train

__all__ = [
    "ConfigError",
    "EngineError",
    "Run",
    "Sweep",
    "__version__",
    "datasets",
    "load_run",
    "load_sweep",
    "sweep",
    "train",
]
