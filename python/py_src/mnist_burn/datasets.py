"""The named data sets as numpy arrays, as Keras' ``load_data`` gives them."""

from __future__ import annotations

from typing import List, Tuple

import numpy as np

from . import _native

Split = Tuple[np.ndarray, np.ndarray]


def load(name: str = "mnist", *, download: bool = True) -> Tuple[Split, Split]:
    """``(x_train, y_train), (x_test, y_test)`` of the named set, like
    ``keras.datasets.mnist.load_data()``: images ``uint8`` of shape ``(n, 28, 28)`` (pixels
    0..255), labels ``uint8`` of shape ``(n,)``.

    The set is read from where ``train`` finds it (the data home ``$MNIST_BURN_DATA``, else
    ``~/.cache/mnist-burn/data``; then ``data/<name>`` from the working directory up), and
    downloaded into the data home when it is nowhere (``download=False`` raises instead). Its
    files are checked against their published sha256 either way.

    Args:
        name: ``"mnist"``, ``"fashion-mnist"`` or ``"kmnist"``.

    Raises:
        ValueError: an unknown name.
        FileNotFoundError: the set is not on this machine and ``download=False``.
        EngineError: the download failed, or a file does not match its checksum.
    """
    if not isinstance(name, str):
        raise ValueError(f"unknown data set {name!r}; expected one of {', '.join(names())}")
    (train_x, train_y), (test_x, test_y), (c, h, w), _dir = _native.load_named_set(name, bool(download))
    shape = (h, w) if c == 1 else (c, h, w)

    def split(x: bytes, y: bytes) -> Split:
        labels = np.frombuffer(y, dtype=np.uint8).copy()
        return np.frombuffer(x, dtype=np.uint8).reshape((len(labels),) + shape).copy(), labels

    return split(train_x, train_y), split(test_x, test_y)


def names() -> List[str]:
    """The names ``load`` takes."""
    return list(_native.named_sets())


def prepare_digits(images, *, invert=None) -> np.ndarray:
    """Pictures of digits (photos, scans, drawings) made MNIST-like, by the one preparation the
    playground uses: light paper is inverted (``invert=None`` decides from each picture's border;
    True or False forces it), the paper's grey level and uneven light are removed and the ink is
    stretched to full contrast, then the ink is cropped, fitted into 20 × 20 keeping its aspect
    ratio and centred by mass in 28 × 28, as MNIST was made.

    Args:
        images: one picture ``(height, width)`` or several ``(n, height, width)``, uint8 pixels or
            float32 grey levels in [0, 1] (convert colour pictures to grey first).

    Returns:
        ``(n, 28, 28)`` float32 grey levels in [0, 1] (``(28, 28)`` for one picture), ready for
        ``Run.predict``.
    """
    x = np.asarray(images)
    if x.dtype not in (np.dtype(np.uint8), np.dtype(np.float32)):
        raise ValueError(f"images has dtype {x.dtype}; expected uint8 pixels or float32 grey levels in [0, 1]")
    if x.ndim not in (2, 3):
        raise ValueError(f"images has shape {x.shape}; expected one grey picture (height, width) or several (n, height, width)")
    single = x.ndim == 2
    x = np.ascontiguousarray(x[None] if single else x)
    if x.dtype == np.float32 and x.size and not np.isfinite(x).all():
        raise ValueError("images holds NaN or infinite values")
    n, h, w = x.shape
    data = _native.prepare_digits(x.tobytes(), n, h, w, x.dtype.name, None if invert is None else bool(invert))
    out = np.frombuffer(data, dtype=np.float32).reshape(n, 28, 28).copy()
    return out[0] if single else out
