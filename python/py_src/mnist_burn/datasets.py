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
