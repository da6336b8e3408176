"""Checking the arrays users pass, before anything reaches the engine: every problem is a
ValueError that names the argument, what it got and what is expected."""

from __future__ import annotations

import numpy as np

_DTYPES = (np.dtype(np.uint8), np.dtype(np.float32))


def images(x, input_shape, name: str = "x") -> tuple[np.ndarray, int]:
    """``x`` as a C-contiguous uint8 or float32 array of ``n`` images of ``input_shape``
    ``(channels, height, width)``: accepted are ``(n, height, width)`` (one channel),
    ``(n, channels * height * width)`` and ``(n, channels, height, width)``. Returns the array
    and ``n``."""
    c, h, w = input_shape
    x = _array(x, name)
    if x.dtype not in _DTYPES:
        raise ValueError(
            f"{name} has dtype {x.dtype}; expected uint8 pixels (0..255, as datasets.load gives them) "
            f"or float32 grey levels in [0, 1] (e.g. {name}.astype(np.float32) / 255)"
        )
    shapes = [f"(n, {c * h * w})", f"(n, {c}, {h}, {w})"]
    if c == 1:
        shapes.insert(0, f"(n, {h}, {w})")
    ok = (
        (x.ndim == 2 and x.shape[1] == c * h * w)
        or (x.ndim == 3 and c == 1 and x.shape[1:] == (h, w))
        or (x.ndim == 4 and x.shape[1:] == (c, h, w))
    )
    if not ok:
        raise ValueError(f"{name} has shape {x.shape} (rank {x.ndim}); this run takes images of shape {' or '.join(shapes)}")
    if not x.flags.c_contiguous:
        raise ValueError(
            f"{name} is not C-contiguous (a strided view or Fortran order); pass np.ascontiguousarray({name})"
        )
    if x.dtype == np.float32 and x.size:
        bad = ~np.isfinite(x)
        if bad.any():
            at = np.unravel_index(int(np.argmax(bad)), x.shape)
            raise ValueError(f"{name} holds {int(bad.sum())} values that are NaN or infinite (the first at index {tuple(int(i) for i in at)})")
        lo, hi = float(x.min()), float(x.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"{name} holds values in [{lo}, {hi}]; float32 images are grey levels in [0, 1] "
                f"(divide pixels 0..255 by 255, or pass them as uint8)"
            )
    return x, int(x.shape[0])


def codes(z, dim, name: str = "z") -> tuple[np.ndarray, int]:
    """``z`` as a C-contiguous float32 array of shape ``(n, dim)`` with finite values."""
    z = _array(z, name)
    if z.dtype != np.float32:
        raise ValueError(f"{name} has dtype {z.dtype}; expected float32 codes (e.g. {name}.astype(np.float32))")
    if z.ndim != 2 or (dim is not None and z.shape[1] != dim):
        raise ValueError(f"{name} has shape {z.shape}; expected (n, {dim}): one code of {dim} values per row")
    if not z.flags.c_contiguous:
        raise ValueError(f"{name} is not C-contiguous; pass np.ascontiguousarray({name})")
    if z.size and not np.isfinite(z).all():
        raise ValueError(f"{name} holds NaN or infinite values; expected finite codes")
    return z, int(z.shape[0])


def _array(x, name: str) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    try:
        return np.asarray(x)
    except Exception as e:  # a ragged list, an object numpy cannot read
        raise ValueError(f"{name} is not an array: {e}") from None
