"""datasets.load against the IDX files themselves, as Keras' load_data gives them."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

import mnist_burn
from conftest import MNIST


def idx(path):
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw[4 + 4 * dims :], np.uint8).reshape(shape)


def test_mnist_is_kerass_load_data():
    (x_train, y_train), (x_test, y_test) = mnist_burn.datasets.load("mnist")
    assert (x_train.shape, x_test.shape, y_train.shape, y_test.shape) == ((60000, 28, 28), (10000, 28, 28), (60000,), (10000,))
    assert x_train.dtype == y_train.dtype == np.uint8
    files = {p.name.split(".")[0]: p for p in MNIST.iterdir()}
    np.testing.assert_array_equal(x_train, idx(files["train-images-idx3-ubyte"]))
    np.testing.assert_array_equal(y_test, idx(files["t10k-labels-idx1-ubyte"]))
    assert x_train.flags.writeable and x_train.flags.c_contiguous


def test_unknown_and_missing_sets(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown data set"):
        mnist_burn.datasets.load("cifar10")
    # Nowhere on this machine (an empty data home, a folder without data/): FileNotFoundError
    # naming where it looked and the command that fetches it.
    monkeypatch.setenv("MNIST_BURN_DATA", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="kmnist is not on this machine"):
        mnist_burn.datasets.load("kmnist", download=False)
    assert "mnist" in mnist_burn.datasets.names()
