"""``Run``: a run directory written by ``train``, its model loaded once, answering numpy arrays."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np

from . import _arrays, _native

PathLike = Union[str, "os.PathLike[str]"]


def load_run(dir: PathLike, *, checkpoint: str = "last", device: Optional[str] = None) -> "Run":
    """Load the run in ``dir`` (written by ``train``, from Python or the command line).

    Args:
        dir: the run directory, e.g. ``"artifacts/mlp"``.
        checkpoint: ``"last"``, ``"best"`` or the path of a checkpoint directory.
        device: the backend to run the model on (default: the run's, else the best compiled).

    Raises:
        FileNotFoundError: ``dir`` is not a run directory (no ``config.toml``, or never started).
        EngineError: its files are corrupt, or its checkpoint does not fit its config.
    """
    return Run(dir, checkpoint=checkpoint, device=device)


class Run:
    """A trained run: its config, history and test result, and its model.

    The model methods take images as numpy arrays of ``uint8`` pixels (0..255, as
    ``datasets.load`` gives them) or ``float32`` grey levels in [0, 1], of shape ``(n, 28, 28)``,
    ``(n, 784)`` or ``(n, *input_shape)``, and normalize them exactly as the run's training data.
    They run in batches of 500 with the interpreter released.
    """

    def __init__(self, dir: PathLike, *, checkpoint: str = "last", device: Optional[str] = None):
        try:
            path = Path(os.fspath(dir))
        except TypeError:
            raise TypeError(f"dir must be the path of a run directory (str or pathlib.Path), not {type(dir).__name__}") from None
        if path.is_file():
            raise FileNotFoundError(2, f"{path} is a file, not a run directory; expected a directory written by train", str(path))
        if not path.is_dir():
            raise FileNotFoundError(2, f"run directory {path} does not exist; expected a directory written by train", str(path))
        if not isinstance(checkpoint, str):
            raise ValueError(f"checkpoint={checkpoint!r}: expected \"last\", \"best\" or the path of a checkpoint directory")
        self._native = _native.load_run(str(path), checkpoint, device)
        info = json.loads(self._native.info_json())
        self.dir: Path = path
        #: The run's resolved config (``config.toml``) as a dict.
        self.config: Dict[str, Any] = info["config"]
        #: ``(channels, height, width)`` of the images the model takes.
        self.input_shape = tuple(info["input_shape"])
        #: ``"classifier"`` or ``"autoencoder"``.
        self.task: str = info["task"]
        #: The model kind, e.g. ``"mlp"``, ``"vae"``.
        self.kind: str = info["kind"]
        #: Class names by label (the digits for MNIST).
        self.classes: List[str] = info["classes"]
        #: Values per code (autoencoders), else None.
        self.latent_dim: Optional[int] = info["latent_dim"]
        #: The normalization fitted on the training split: ``{"kind", "offset", "scale"}``, the
        #: model's inputs being ``(pixel - offset) / scale`` for pixels 0..255.
        self.normalization: Dict[str, Any] = info["norm_stats"]
        #: The checkpoint directory the weights came from, and its epoch.
        self.checkpoint: Path = Path(info["checkpoint"])
        self.epoch: int = info["epoch"]

    def __repr__(self) -> str:
        return f"Run({str(self.dir)!r}: {self.kind}, epoch {self.epoch})"

    # The record of the run.

    @property
    def history(self):
        """``metrics.csv``: one row per epoch and split (``train``, ``validation``). A pandas
        DataFrame when pandas is installed, else a dict of numpy arrays (empty metrics NaN)."""
        return read_csv(self.dir / "metrics.csv")

    @property
    def test(self) -> Optional[dict]:
        """The test metrics ``train`` saved when it finished (``test.json``), or None."""
        path = self.dir / "test.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def evaluate(self, split: str = "test", *, mean_code: bool = False) -> dict:
        """The metrics of the model on ``split`` (``"test"`` or ``"validation"``), exactly as
        the ``eval`` command computes them: ``{"loss": ..., "accuracy": ..., "samples": ...}``.
        ``mean_code=True``: a VAE decodes the mean of its code instead of a sample."""
        if split not in ("test", "validation"):
            raise ValueError(f"split={split!r}: expected \"test\" or \"validation\"")
        metrics = json.loads(self._native.evaluate(split, bool(mean_code)))
        return {name: value for name, value in metrics.items() if value is not None}

    # The model.

    def predict(self, x) -> np.ndarray:
        """Classifiers: the probability of each class, ``(n, classes)`` float32 (``argmax(1)``
        is the predicted label). Autoencoders: the reconstruction (see ``reconstruct``)."""
        if self.task != "classifier":
            return self.reconstruct(x)
        x, n = _arrays.images(x, self.input_shape)
        data, classes = self._native.probabilities(x.tobytes(), n, x.dtype.name)
        return np.frombuffer(data, dtype=np.float32).reshape(n, classes).copy()

    def encode(self, x) -> np.ndarray:
        """Autoencoders: the code of each image, ``(n, latent_dim)`` float32 (a VAE: the mean)."""
        self._needs_autoencoder("encode")
        x, n = _arrays.images(x, self.input_shape)
        data, dim = self._native.encode(x.tobytes(), n, x.dtype.name)
        return np.frombuffer(data, dtype=np.float32).reshape(n, dim).copy()

    def decode(self, z) -> np.ndarray:
        """Autoencoders: images from codes ``z`` ``(n, latent_dim)`` float32, as grey levels in
        [0, 1] of shape ``(n, height, width)`` (``(n, channels, height, width)`` for colour)."""
        self._needs_autoencoder("decode")
        z, n = _arrays.codes(z, self.latent_dim)
        data = self._native.decode(z.tobytes(), n, z.shape[1])
        return self._images(data, n)

    def reconstruct(self, x) -> np.ndarray:
        """Autoencoders: each image through the code and back (a VAE: through its mean), grey
        levels in [0, 1], in the shape ``x`` was given in."""
        self._needs_autoencoder("reconstruct")
        x, n = _arrays.images(x, self.input_shape)
        data = self._native.reconstruct(x.tobytes(), n, x.dtype.name)
        return np.frombuffer(data, dtype=np.float32).reshape(x.shape).copy()

    def weights(self) -> Dict[str, np.ndarray]:
        """The model's parameters by name, in the PyTorch layout of ``export`` (dense weights
        ``[out, in]``, convolutions ``[out, in, kh, kw]``), ready for ``torch.from_numpy``."""
        with tempfile.TemporaryDirectory(prefix="mnist-burn-weights-") as tmp:
            path = Path(tmp) / "model.safetensors"
            self._native.export(str(path))
            return read_safetensors(path)

    def export(self, out: PathLike) -> Path:
        """Write the weights as the ``export`` command does: ``out`` (safetensors, PyTorch's
        layout) and the JSON beside it (config, normalization, tensor list)."""
        self._native.export(os.fspath(out))
        return Path(os.fspath(out))

    def report(self, *, manifold_range: float = 4.0, html: bool = True, tensorboard: bool = True) -> List[Path]:
        """Draw every figure that applies to the run into ``<run>/plots/``, as the ``report``
        command does (and ``report.html``, TensorBoard's event file); returns the paths written."""
        return [Path(p) for p in self._native.report(float(manifold_range), bool(html), bool(tensorboard))]

    def _needs_autoencoder(self, what: str) -> None:
        if self.task == "classifier":
            raise ValueError(f"{what} applies to autoencoders; {self.dir} is a {self.kind} classifier (use predict)")

    def _images(self, data: bytes, n: int) -> np.ndarray:
        c, h, w = self.input_shape
        shape = (n, h, w) if c == 1 else (n, c, h, w)
        return np.frombuffer(data, dtype=np.float32).reshape(shape).copy()


def read_csv(path: Path):
    """A CSV file of numbers (and text columns) as a pandas DataFrame, else a dict of numpy
    arrays: numeric columns float64 (empty cells NaN), others strings."""
    try:
        import pandas as pd
    except ImportError:
        pd = None
    if pd is not None:
        return pd.read_csv(path)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    columns: Dict[str, np.ndarray] = {}
    for i, name in enumerate(header):
        cells = [r[i] if i < len(r) else "" for r in body]
        try:
            columns[name] = np.array([float(c) if c != "" else np.nan for c in cells])
        except ValueError:
            columns[name] = np.array(cells)
    return columns


_SAFETENSORS_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8, "F16": np.float16}


def read_safetensors(path: Path) -> Dict[str, np.ndarray]:
    """The tensors of a safetensors file (8-byte header length, JSON header, raw data)."""
    raw = Path(path).read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    data = raw[8 + size :]
    out = {}
    for name, t in sorted(header.items()):
        if name == "__metadata__":
            continue
        start, end = t["data_offsets"]
        dtype = np.dtype(_SAFETENSORS_DTYPES[t["dtype"]]).newbyteorder("<")
        out[name] = np.frombuffer(data[start:end], dtype=dtype).reshape(t["shape"]).astype(dtype.newbyteorder("="))
    return out
