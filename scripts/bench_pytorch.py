#!/usr/bin/env python3
"""PyTorch (CPU) side of the Burn-vs-PyTorch training-throughput comparison.

Mirrors `target/debug/bench` (src/bin/bench.rs, crates/trainer/src/bench.rs) for PyTorch 2.x: for
every seed model (one per configs/*.toml except smoke.toml) it builds the same network from the
same TOML config (architecture, parameter count, Keras-style "same"/"valid" padding and glorot-uniform
init, batch size, loss, optimizer and learning rate, input normalization and fixed input noise),
then times `--steps` optimizer steps (forward, loss, backward, update) after `--warmup` untimed
ones, on the real MNIST training images held in memory as float32 tensors. It prints one JSON line
per model with the keys of our bench plus `torch_version` and `threads`; each model runs in its own
child process so `peak_rss_mb` (VmHWM) is that model's alone.

Run from the repository root (needs `pip install torch`; Python 3.11+ for tomllib):
    python3 scripts/bench_pytorch.py                          # every seed model, 50 steps, 5 warm-up
    python3 scripts/bench_pytorch.py --model cnn --steps 20 --warmup 3 --threads 2
    python3 scripts/bench_pytorch.py --params                 # parameter counts only, no training
scripts/bench-vs-pytorch.sh runs this beside our bench and prints the ratio per model.
"""

import argparse
import gzip
import json
import math
import os
import resource
import struct
import subprocess
import sys
import time

# When this process started (before torch is imported): `--train` times from here.
PROCESS_START = time.time()

import tomllib
from pathlib import Path

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as err:  # pragma: no cover - depends on the machine
    sys.exit(
        f"bench_pytorch.py: cannot import torch ({err}).\n"
        "Install the CPU build with\n"
        "    pip install torch --index-url https://download.pytorch.org/whl/cpu\n"
        "or, where that index is unreachable, `pip install torch` from PyPI."
    )

def _vm(key):
    """A /proc/self/status memory line (VmRSS, VmHWM) in MiB; None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


# Resident memory right after `import torch`: the framework's own share of `peak_rss_mb` (much
# larger for the CUDA wheels from PyPI than for the CPU wheels).
IMPORT_RSS_MB = _vm("VmRSS")

IMAGE_SHAPE = (1, 28, 28)
PIXELS = 28 * 28
NUM_CLASSES = 10
FILE_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


# --------------------------------------------------------------------------------------------
# Data: IDX files → float32 tensors, normalization fitted on the training split, fixed noise.
# --------------------------------------------------------------------------------------------

def _open_maybe_gzip(path):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


def _read_exact(f, buf):
    view = memoryview(buf)
    while len(view):
        n = f.readinto(view)
        if not n:
            raise ValueError("truncated IDX file")
        view = view[n:]


def read_idx(path, magic, dims):
    """`uint8` tensor of an IDX file (images: [n, rows, cols], labels: [n]), read without copies."""
    with _open_maybe_gzip(path) as f:
        head = f.read(4 + 4 * dims)
        got = struct.unpack(">I", head[:4])[0]
        if got != magic:
            raise ValueError(f"{path}: magic {got:#x}, expected {magic:#x}")
        shape = struct.unpack(">" + "I" * dims, head[4:])
        buf = bytearray(math.prod(shape))
        _read_exact(f, buf)
    return torch.frombuffer(buf, dtype=torch.uint8).reshape(shape)


def fit_normalization(kind, train_u8):
    """(offset, scale) with normalized = (raw - offset) / scale, as mnist_data::NormStats::fit."""
    if kind == "unit":
        return 0.0, 255.0
    if kind == "min_max":
        lo, hi = float(train_u8.min()), float(train_u8.max())
        return lo, (hi - lo) if hi > lo else 1.0
    if kind == "standardize":
        # Exact f64 mean and population std from the 256-bin histogram (no float64 copy of the
        # 47 million pixels, which would inflate the peak RSS).
        counts = torch.bincount(train_u8.reshape(-1), minlength=256).to(torch.float64)
        values = torch.arange(256, dtype=torch.float64)
        n = counts.sum()
        mean = (counts * values).sum() / n
        var = (counts * (values - mean) ** 2).sum() / n
        std = float(var.sqrt())
        return float(mean), std if std > 0 else 1.0
    raise ValueError(f"unknown normalization {kind!r}")


def normalized_images(u8, offset, scale):
    """[n, rows, cols] uint8 → [n, 1, rows, cols] float32 `(raw - offset) / scale`, in place."""
    x = u8.to(torch.float32)
    if offset:
        x.sub_(offset)
    x.div_(scale)
    return x.unsqueeze(1)


def apply_noise(clean, noise, low, high, seed, chunk=4096):
    """A corrupted copy of `clean` (mnist_data::Noise::apply semantics), drawn once from `seed`.
    Chunked so the temporaries stay small. The random stream differs from Rust's StdRng; the
    distribution is the same."""
    g = torch.Generator().manual_seed(seed)
    noisy = clean.clone()
    kind = noise["kind"]
    for start in range(0, noisy.shape[0], chunk):
        part = noisy[start:start + chunk]
        if kind == "gaussian":
            factor = float(noise.get("factor", 1.0))
            mean = float(noise.get("mean", 0.0))
            std = float(noise.get("std", 1.0))
            draw = torch.empty_like(part).normal_(mean, std, generator=g)
            part.add_(draw.mul_(factor))
            if noise.get("clip", False):
                part.clamp_(low, high)
        elif kind == "salt_and_pepper":
            level = float(noise["level"])
            hit = torch.rand(part.shape, generator=g) < level
            salt = torch.rand(part.shape, generator=g) < 0.5
            part[hit & salt] = high
            part[hit & ~salt] = low
        else:
            raise ValueError(f"unknown noise kind {kind!r}")
    return noisy


class Split:
    """One split in memory: clean normalized images, model inputs (noisy or clean), labels."""

    def __init__(self, clean, noisy, labels):
        self.clean, self.noisy, self.labels = clean, noisy, labels

    def __len__(self):
        return self.labels.shape[0]


def prepare_data(config, data_dir):
    """What crates/runs/src/data.rs `prepare` holds for a run: the training split (clean,
    fixed-noise inputs, labels; its raw bytes are kept too, as Rust keeps `train_host`) and the
    test split with the evaluation noise. Only the training split is used by the benchmark; the
    rest mirrors our bench's resident memory so the peak RSS compare like for like."""
    d = config.get("data", {})
    seed = int(config["experiment"]["seed"])
    train_u8 = read_idx(data_dir / FILE_NAMES[0], 0x803, 3)
    train_labels = read_idx(data_dir / FILE_NAMES[1], 0x801, 1).to(torch.int64)
    test_u8 = read_idx(data_dir / FILE_NAMES[2], 0x803, 3)
    test_labels = read_idx(data_dir / FILE_NAMES[3], 0x801, 1).to(torch.int64)
    if "train_limit" in d:
        train_u8, train_labels = train_u8[: d["train_limit"]], train_labels[: d["train_limit"]]
    if "test_limit" in d:
        test_u8, test_labels = test_u8[: d["test_limit"]], test_labels[: d["test_limit"]]
    if d.get("validation_fraction"):
        # Same size as Rust's held-out split; which rows differs (another random stream).
        n = train_u8.shape[0]
        n_val = round(n * float(d["validation_fraction"]))
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        keep = order[n_val:].sort().values
        train_u8, train_labels = train_u8[keep], train_labels[keep]
    offset, scale = fit_normalization(d.get("normalization", "unit"), train_u8)
    low, high = (0.0 - offset) / scale, (255.0 - offset) / scale
    train_noise = d.get("train_noise") if d.get("noise_mode", "fixed") == "fixed" else None
    eval_noise = d.get("eval_noise", d.get("train_noise"))

    def split(u8, labels, noise, stream):
        clean = normalized_images(u8, offset, scale)
        noisy = apply_noise(clean, noise, low, high, seed * 1000 + stream) if noise else None
        return Split(clean, noisy, labels)

    train = split(train_u8, train_labels, train_noise, 1)
    test = split(test_u8, test_labels, eval_noise, 2)
    return train, test, train_u8


# --------------------------------------------------------------------------------------------
# Layers (crates/models/src/layers.rs): Keras init and padding semantics.
# --------------------------------------------------------------------------------------------

ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
}


def keras_init(module):
    """Glorot-uniform kernel, zero bias (Keras' Dense/Conv2D/Conv2DTranspose defaults). PyTorch's
    fans for a transposed kernel [in, out, k, k] are out·k² and in·k²: the same sum as Keras'."""
    nn.init.xavier_uniform_(module.weight)
    nn.init.zeros_(module.bias)
    return module


def same_padding(size, kernel, stride):
    """TensorFlow 'same': output ceil(size / stride); the odd extra row/column at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv_layer(spec):
    """A config conv layer with the Rust defaults: 3×3, stride 1, 'same', relu."""
    return {
        "filters": int(spec["filters"]),
        "kernel_size": int(spec.get("kernel_size", 3)),
        "stride": int(spec.get("stride", 1)),
        "padding": spec.get("padding", "same"),
        "activation": spec.get("activation", "relu"),
    }


def dense_layer(spec):
    """A config dense layer with the Rust defaults: relu, no dropout."""
    return {
        "units": int(spec["units"]),
        "activation": spec.get("activation", "relu"),
        "dropout": float(spec.get("dropout", 0.0)),
    }


class DenseBlock(nn.Module):
    """Dense → activation → dropout (when > 0)."""

    def __init__(self, d_in, units, activation="relu", dropout=0.0):
        super().__init__()
        self.linear = keras_init(nn.Linear(d_in, units))
        self.act = ACTIVATIONS[activation]
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None

    def forward(self, x):
        x = self.act(self.linear(x))
        return self.dropout(x) if self.dropout is not None else x


def dense_stack(d_in, specs):
    blocks = []
    for spec in specs:
        s = dense_layer(spec)
        blocks.append(DenseBlock(d_in, s["units"], s["activation"], s["dropout"]))
        d_in = s["units"]
    return nn.Sequential(*blocks), d_in


class ConvBlock(nn.Module):
    """Conv2d (Keras padding) → activation. Symmetric 'same' padding goes into the convolution;
    TensorFlow's asymmetric one (strided layers: one extra row/column at the bottom/right) is an
    explicit zero pad."""

    def __init__(self, shape, spec):
        super().__init__()
        c, h, w = shape
        k, s, f = spec["kernel_size"], spec["stride"], spec["filters"]
        self.pad = None
        padding = 0
        if spec["padding"] == "same":
            (pt, pb), (pl, pr) = same_padding(h, k, s), same_padding(w, k, s)
            if pt == pb and pl == pr:
                padding = (pt, pl)
            else:
                self.pad = (pl, pr, pt, pb)
            self.out_shape = (f, -(-h // s), -(-w // s))
        elif spec["padding"] == "valid":
            self.out_shape = (f, (h - k) // s + 1, (w - k) // s + 1)
        else:
            raise ValueError(f"unknown padding {spec['padding']!r}")
        self.conv = keras_init(nn.Conv2d(c, f, k, stride=s, padding=padding))
        self.activation = spec["activation"]
        self.act = ACTIVATIONS[spec["activation"]]

    def forward_linear(self, x):
        if self.pad is not None:
            x = F.pad(x, self.pad)
        return self.conv(x)

    def forward(self, x):
        return self.act(self.forward_linear(x))


class ConvTransposeBlock(nn.Module):
    """Conv2DTranspose with Keras' output size ('same': input × stride): the k - s extra rows of
    the full output are cropped, half at the start (PyTorch's padding), the odd one at the end."""

    def __init__(self, shape, spec):
        super().__init__()
        c, h, w = shape
        k, s, f = spec["kernel_size"], spec["stride"], spec["filters"]
        excess = max(k - s, 0) if spec["padding"] == "same" else 0
        self.conv = keras_init(nn.ConvTranspose2d(c, f, k, stride=s, padding=excess // 2))
        self.crop_end = excess % 2
        if spec["padding"] == "same":
            self.out_shape = (f, h * s, w * s)
        else:
            self.out_shape = (f, (h - 1) * s + k, (w - 1) * s + k)
        self.activation = spec["activation"]
        self.act = ACTIVATIONS[spec["activation"]]

    def forward_linear(self, x):
        y = self.conv(x)
        if self.crop_end:
            y = y[:, :, : y.shape[2] - self.crop_end, : y.shape[3] - self.crop_end]
        return y

    def forward(self, x):
        return self.act(self.forward_linear(x))


class MaxPool(nn.Module):
    """size×size max pooling, stride size, Keras padding ('same' pads the end with -inf, which is
    what PyTorch's ceil_mode does when no padding is needed at the start)."""

    def __init__(self, shape, size, padding):
        super().__init__()
        c, h, w = shape
        self.pad = None
        ceil = False
        if padding == "same":
            (pt, pb), (pl, pr) = same_padding(h, size, size), same_padding(w, size, size)
            if pt or pl:
                self.pad = (pl, pr, pt, pb)
            else:
                ceil = bool(pb or pr)
            self.out_shape = (c, -(-h // size), -(-w // size))
        else:
            self.out_shape = (c, (h - size) // size + 1, (w - size) // size + 1)
        self.pool = nn.MaxPool2d(size, stride=size, ceil_mode=ceil)

    def forward(self, x):
        if self.pad is not None:
            x = F.pad(x, self.pad, value=float("-inf"))
        return self.pool(x)


class Output:
    """A model's output: classifier logits, or an autoencoder's pre-activation output with its
    activation, code, and (VAE) mean and log-variance."""

    def __init__(self, logits=None, pre=None, activation=None, latent=None, mean=None, log_var=None):
        self.logits, self.pre, self.activation = logits, pre, activation
        self.latent, self.mean, self.log_var = latent, mean, log_var


# --------------------------------------------------------------------------------------------
# Models (crates/models/src/*.rs), defaults as in the Rust configs.
# --------------------------------------------------------------------------------------------

class SoftmaxRegression(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = keras_init(nn.Linear(PIXELS, NUM_CLASSES))

    def forward(self, x):
        return Output(logits=self.dense(x.flatten(1)))


class Mlp(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        act = cfg.get("activation", "relu")
        drop = float(cfg.get("dropout", 0.0))
        specs = [{"units": u, "activation": act, "dropout": drop} for u in cfg.get("hidden", [64, 64])]
        self.hidden, d = dense_stack(PIXELS, specs)
        self.output = keras_init(nn.Linear(d, NUM_CLASSES))

    def forward(self, x):
        return Output(logits=self.output(self.hidden(x.flatten(1))))


def chain(block, shape, specs):
    """`block(shape, layer)` for each layer spec in turn, each taking the previous one's output
    shape: returns the blocks as one `nn.Sequential` and the last output shape."""
    blocks = []
    for spec in specs:
        blocks.append(block(shape, conv_layer(spec)))
        shape = blocks[-1].out_shape
    return nn.Sequential(*blocks), shape


class Cnn(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        default_conv = [{"filters": 32, "padding": "valid"}, {"filters": 64, "padding": "valid"}]
        self.conv, shape = chain(ConvBlock, IMAGE_SHAPE, cfg.get("conv", default_conv))
        pool_size = int(cfg.get("pool_size", 3))
        self.pool = None
        if pool_size > 1:
            self.pool = MaxPool(shape, pool_size, cfg.get("pool_padding", "valid"))
            shape = self.pool.out_shape
        dropout = float(cfg.get("dropout", 0.4))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None
        act = cfg.get("activation", "relu")
        specs = [{"units": u, "activation": act} for u in cfg.get("dense", [64])]
        self.dense, d = dense_stack(math.prod(shape), specs)
        self.output = keras_init(nn.Linear(d, NUM_CLASSES))

    def forward(self, x):
        x = self.conv(x)
        if self.pool is not None:
            x = self.pool(x)
        if self.dropout is not None:
            x = self.dropout(x)
        return Output(logits=self.output(self.dense(x.flatten(1))))


class DenseAutoencoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        encoder = cfg["encoder"]
        decoder = cfg.get("decoder", [])
        if cfg.get("mirror", False):
            decoder = list(reversed(encoder[:-1]))
        self.encoder, latent = dense_stack(PIXELS, encoder)
        self.decoder, d = dense_stack(latent, decoder)
        self.output = keras_init(nn.Linear(d, PIXELS))
        self.output_activation = cfg.get("output_activation", "sigmoid")

    def forward(self, x):
        latent = self.encoder(x.flatten(1))
        pre = self.output(self.decoder(latent)).reshape(-1, *IMAGE_SHAPE)
        return Output(pre=pre, activation=self.output_activation, latent=latent)


class ConvAutoencoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        pool_size = int(cfg.get("pool_size", 2))
        pool_padding = cfg.get("pool_padding", "same")
        shape = IMAGE_SHAPE
        enc = []
        for spec in cfg["encoder"]:
            conv = ConvBlock(shape, conv_layer(spec))
            pool = MaxPool(conv.out_shape, pool_size, pool_padding)
            enc += [conv, pool]
            shape = pool.out_shape
        self.encoder = nn.Sequential(*enc)
        dec = []
        for spec in cfg["decoder"]:
            conv = ConvBlock(shape, conv_layer(spec))
            dec += [conv, nn.Upsample(scale_factor=pool_size, mode="nearest")]
            c, h, w = conv.out_shape
            shape = (c, h * pool_size, w * pool_size)
        self.decoder = nn.Sequential(*dec)
        if shape[1:] != IMAGE_SHAPE[1:]:
            raise ValueError(f"the decoder ends at {shape}, not 28×28")
        self.output_activation = cfg.get("output_activation", "sigmoid")
        out_spec = {"filters": 1, "kernel_size": int(cfg.get("output_kernel_size", 3)), "stride": 1,
                    "padding": "same", "activation": self.output_activation}
        self.output = ConvBlock(shape, out_spec)

    def forward(self, x):
        code = self.encoder(x)
        pre = self.output.forward_linear(self.decoder(code))
        return Output(pre=pre, activation=self.output_activation, latent=code.flatten(1))


class ConvEncoder(nn.Module):
    def __init__(self, specs):
        super().__init__()
        self.conv, self.out_shape = chain(ConvBlock, IMAGE_SHAPE, specs)

    def forward(self, x):
        return self.conv(x).flatten(1)


class TransposedDecoder(nn.Module):
    """Dense(code → c·h·w) → reshape → transposed convolutions → 1-channel transposed conv."""

    def __init__(self, latent_dim, feature_shape, specs, dense_activation, output_kernel_size, output_activation):
        super().__init__()
        self.feature_shape = feature_shape
        self.dense = DenseBlock(latent_dim, math.prod(feature_shape), dense_activation)
        self.conv, shape = chain(ConvTransposeBlock, feature_shape, specs)
        self.output_activation = output_activation
        self.output = ConvTransposeBlock(shape, {"filters": 1, "kernel_size": output_kernel_size, "stride": 1,
                                                 "padding": "same", "activation": output_activation})
        if self.output.out_shape != IMAGE_SHAPE:
            raise ValueError(f"the decoder ends at {self.output.out_shape}, not {IMAGE_SHAPE}")

    def forward_linear(self, z):
        x = self.dense(z).reshape(-1, *self.feature_shape)
        return self.output.forward_linear(self.conv(x))


class StridedConvAutoencoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.encoder = ConvEncoder(cfg["encoder"])
        latent_dim = int(cfg["latent_dim"])
        self.latent = DenseBlock(math.prod(self.encoder.out_shape), latent_dim, cfg.get("latent_activation", "linear"))
        self.decoder = TransposedDecoder(latent_dim, self.encoder.out_shape, cfg["decoder"],
                                         cfg.get("dense_activation", "relu"), int(cfg.get("output_kernel_size", 3)),
                                         cfg.get("output_activation", "sigmoid"))

    def forward(self, x):
        latent = self.latent(self.encoder(x))
        pre = self.decoder.forward_linear(latent)
        return Output(pre=pre, activation=self.decoder.output_activation, latent=latent)


def reparameterize(mean, log_var):
    """z = mean + exp(log_var / 2) · ε, ε ~ N(0, I) (no gradient through ε)."""
    return mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)


class Vae(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        latent_dim = int(cfg.get("latent_dim", 2))
        default = [{"units": 512, "activation": "relu"}]
        self.encoder, d = dense_stack(PIXELS, cfg.get("encoder", default))
        self.mean = keras_init(nn.Linear(d, latent_dim))
        self.log_var = keras_init(nn.Linear(d, latent_dim))
        self.decoder, d = dense_stack(latent_dim, cfg.get("decoder", default))
        self.output = keras_init(nn.Linear(d, PIXELS))
        self.output_activation = cfg.get("output_activation", "sigmoid")

    def forward(self, x):
        h = self.encoder(x.flatten(1))
        mean, log_var = self.mean(h), self.log_var(h)
        z = reparameterize(mean, log_var)
        pre = self.output(self.decoder(z)).reshape(-1, *IMAGE_SHAPE)
        return Output(pre=pre, activation=self.output_activation, latent=z, mean=mean, log_var=log_var)


class ConvVae(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        strided = [{"filters": 32, "stride": 2}, {"filters": 64, "stride": 2}]
        self.encoder = ConvEncoder(cfg.get("encoder", strided))
        self.hidden, d = dense_stack(math.prod(self.encoder.out_shape),
                                     cfg.get("hidden", [{"units": 16, "activation": "relu"}]))
        latent_dim = int(cfg.get("latent_dim", 2))
        self.mean = keras_init(nn.Linear(d, latent_dim))
        self.log_var = keras_init(nn.Linear(d, latent_dim))
        self.decoder = TransposedDecoder(latent_dim, self.encoder.out_shape,
                                         cfg.get("decoder", [{"filters": 64, "stride": 2}, {"filters": 32, "stride": 2}]),
                                         cfg.get("dense_activation", "relu"), int(cfg.get("output_kernel_size", 3)),
                                         cfg.get("output_activation", "sigmoid"))

    def forward(self, x):
        h = self.hidden(self.encoder(x))
        mean, log_var = self.mean(h), self.log_var(h)
        z = reparameterize(mean, log_var)
        pre = self.decoder.forward_linear(z)
        return Output(pre=pre, activation=self.decoder.output_activation, latent=z, mean=mean, log_var=log_var)


MODELS = {
    "softmax_regression": SoftmaxRegression,
    "mlp": Mlp,
    "cnn": Cnn,
    "dense_autoencoder": DenseAutoencoder,
    "conv_autoencoder": ConvAutoencoder,
    "strided_conv_autoencoder": StridedConvAutoencoder,
    "vae": Vae,
    "conv_vae": ConvVae,
}


def build_model(config):
    cfg = {k: v for k, v in config["model"].items() if k != "kind"}
    kind = config["model"]["kind"]
    if kind not in MODELS:
        raise ValueError(f"model kind {kind!r} has no PyTorch mirror (known: {', '.join(MODELS)})")
    return kind, MODELS[kind](cfg)


def kernels(model):
    """Every dense and convolution kernel (biases excluded): what Keras' L2 regularizer sums."""
    return [m.weight for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]


# --------------------------------------------------------------------------------------------
# Loss (crates/models/src/loss.rs) and optimizer (crates/trainer/src/optimizer.rs).
# --------------------------------------------------------------------------------------------

def make_objective(model, training):
    loss_kind = training.get("loss", "cross_entropy")
    beta = float(training.get("beta", 1.0))
    l2 = float(training.get("l2", 0.0))
    l1 = float(training.get("l1", 0.0))
    l2_kernels = kernels(model) if l2 > 0 else []

    def reconstruction_errors(out, target):
        """Per-element error [batch, 1, 28, 28]."""
        if loss_kind == "mse":
            return (ACTIVATIONS[out.activation](out.pre) - target).square()
        if out.activation == "sigmoid":  # BCE from the logits
            return F.binary_cross_entropy_with_logits(out.pre, target, reduction="none")
        p = ACTIVATIONS[out.activation](out.pre).clamp(1e-7, 1 - 1e-7)  # Keras' clipped BCE
        return -(target * p.log() + (1 - target) * (1 - p).log())

    def objective(out, target, labels):
        if out.logits is not None:
            total = F.cross_entropy(out.logits, labels)
        else:
            errors = reconstruction_errors(out, target)
            batch = errors.shape[0]
            if out.mean is not None:  # VAE: summed over the pixels, batch mean, plus beta · KL
                kl = -0.5 * (1 + out.log_var - out.mean.square() - out.log_var.exp()).sum() / batch
                total = errors.sum() / batch + beta * kl
            else:
                total = errors.mean()
            if l1 > 0:
                total = total + l1 * out.latent.abs().sum() / batch
        if l2 > 0:
            total = total + l2 * sum(w.square().sum() for w in l2_kernels)
        return total

    return objective


def make_optimizer(params, training):
    opt = dict(training.get("optimizer", {"kind": "sgd"}))
    kind = opt.pop("kind")
    lr = float(training["learning_rate"])
    eps = float(opt.get("epsilon", 1e-7))  # Keras' default, as in our configs
    betas = (float(opt.get("beta_1", 0.9)), float(opt.get("beta_2", 0.999)))
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=float(opt.get("momentum", 0.0)), dampening=0.0,
                               nesterov=bool(opt.get("nesterov", False)),
                               weight_decay=float(opt.get("weight_decay", 0.0)))
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps)
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=betas, eps=eps, weight_decay=float(opt.get("weight_decay", 0.004)))
    if kind == "nadam":
        # PyTorch's NAdam is Keras 2's (Dozat's) formulation: u_t = β1(1 - 0.5·0.96^(t·0.004)).
        return torch.optim.NAdam(params, lr=lr, betas=betas, eps=eps, momentum_decay=0.004)
    if kind == "adadelta":
        # Same update as crates/trainer/src/optim/adadelta.rs (Zeiler's rule, eps inside both roots).
        return torch.optim.Adadelta(params, lr=lr, rho=float(opt.get("rho", 0.95)), eps=eps)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=float(opt.get("rho", 0.9)), eps=eps,
                                   momentum=float(opt.get("momentum", 0.0)), centered=bool(opt.get("centered", False)))
    if kind == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, eps=eps)
    raise ValueError(f"optimizer {kind!r} has no PyTorch mirror")


# --------------------------------------------------------------------------------------------
# Benchmark.
# --------------------------------------------------------------------------------------------

def peak_rss_mb():
    """Peak resident memory of this process in MiB: VmHWM, else getrusage's ru_maxrss (KiB)."""
    hwm = _vm("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_config(configs, name):
    path = configs / f"{name}.toml"
    if not path.is_file():
        sys.exit(f"bench_pytorch.py: no config {path} (expected one of the names of the *.toml files in {configs})")
    with open(path, "rb") as f:
        return tomllib.load(f)


def data_dir_of(config, override):
    if override is not None:
        return override
    d = config.get("data", {})
    return Path(d["dir"]) if "dir" in d else Path("data") / d.get("set", "mnist")


def on_device(split, device):
    """The whole split on the device, as in our trainer: a step only gathers rows."""
    return Split(split.clean.to(device), None if split.noisy is None else split.noisy.to(device), split.labels.to(device))


def set_up(name, args):
    """What bench_one and train_one start from: the config's training table and seed, its splits
    (the training one on --device, the test one on the host), the device, the model on it, its
    objective and its optimizer."""
    config = load_config(args.configs, name)
    training = config["training"]
    seed = int(config["experiment"]["seed"])
    torch.manual_seed(seed)
    train, test, _train_u8 = prepare_data(config, data_dir_of(config, args.data))
    device = torch.device(args.device)
    kind, model = build_model(config)
    model.to(device)
    return training, seed, on_device(train, device), test, device, kind, model, make_objective(model, training), \
        make_optimizer(model.parameters(), training)


def bench_one(name, args):
    training, seed, train, _test, device, kind, model, objective, optim = set_up(name, args)
    model.train()
    batch_size = max(1, int(training["batch_size"]))
    inputs = train.noisy if train.noisy is not None else train.clean
    g = torch.Generator().manual_seed(seed)
    n = len(train)
    state = {"order": torch.randperm(n, generator=g).to(device), "start": 0}

    def next_batch():
        # An epoch is a seeded permutation; a batch is a gather of its rows (last one smaller).
        if state["start"] >= n:
            state["order"], state["start"] = torch.randperm(n, generator=g).to(device), 0
        idx = state["order"][state["start"]: state["start"] + batch_size]
        state["start"] += idx.shape[0]
        target = train.clean.index_select(0, idx)
        x = inputs.index_select(0, idx) if train.noisy is not None else target
        return x, target, train.labels.index_select(0, idx)

    def step():
        x, target, labels = next_batch()
        loss = objective(model(x), target, labels)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        return loss, labels.shape[0]

    loss = None
    for _ in range(args.warmup):
        loss, _ = step()
    if loss is not None:
        loss.item()
    start = time.perf_counter()
    samples = 0
    for _ in range(args.steps):
        loss, k = step()
        samples += k
    if loss is not None:
        loss.item()
    seconds = max(time.perf_counter() - start, 1e-9)
    return {
        "model": name,
        "kind": kind,
        "device": f"pytorch-{device.type}",
        "adapter": torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU({torch.backends.cpu.get_cpu_capability()})",
        "batch_size": batch_size,
        "steps": args.steps,
        "samples_per_s": samples / seconds,
        "ms_per_step": seconds * 1000.0 / max(args.steps, 1),
        "peak_rss_mb": peak_rss_mb(),
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "torch_import_rss_mb": IMPORT_RSS_MB,
    }


def train_one(name, args):
    """The config's whole recipe (epochs over the training split, its batch size, optimizer and
    objective) on --device, then the test split: the PyTorch side of gpu-check's end-to-end
    trainings. The wall time runs from this process's start (torch's import and CUDA's start-up
    included, as `train`'s includes its own) to the test metric."""
    training, seed, train, test, device, kind, model, objective, optim = set_up(name, args)
    test = on_device(test, device)
    batch_size = max(1, int(training["batch_size"]))
    epochs = int(training.get("epochs", 1))
    g = torch.Generator().manual_seed(seed)
    n = len(train)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(n, generator=g).to(device)
        for start in range(0, n, batch_size):
            idx = order[start: start + batch_size]
            target = train.clean.index_select(0, idx)
            x = train.noisy.index_select(0, idx) if train.noisy is not None else target
            loss = objective(model(x), target, train.labels.index_select(0, idx))
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for start in range(0, len(test), 1000):
            target = test.clean[start: start + 1000]
            x = test.noisy[start: start + 1000] if test.noisy is not None else target
            labels = test.labels[start: start + 1000]
            out = model(x)
            k = labels.shape[0]
            total += float(objective(out, target, labels)) * k
            if out.logits is not None:
                correct += int((out.logits.argmax(1) == labels).sum())
            count += k
    result = {"model": name, "kind": kind, "device": f"pytorch-{device.type}", "epochs": epochs,
              "test_loss": total / max(count, 1), "wall_s": round(time.time() - PROCESS_START, 2)}
    if kind in ("mlp", "cnn", "softmax_regression"):
        result["test_accuracy"] = correct / max(count, 1)
    return result


def default_threads():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def seed_models(configs):
    return sorted(p.stem for p in configs.glob("*.toml") if p.stem != "smoke")


def main():
    parser = argparse.ArgumentParser(description="Training throughput of the seed models in PyTorch (CPU), one JSON line per model.")
    parser.add_argument("--model", help="only this model: a config name in --configs (e.g. mlp, cnn, vae)")
    parser.add_argument("--steps", type=int, default=50, help="timed steps per model (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed warm-up steps per model (default 5)")
    parser.add_argument("--threads", type=int, default=default_threads(),
                        help="torch.set_num_threads (default: the number of CPU cores available)")
    parser.add_argument("--configs", type=Path, default=Path("configs"), help="folder of configs (default configs)")
    parser.add_argument("--data", type=Path, help="MNIST folder (default: the config's data.dir, else data/mnist)")
    parser.add_argument("--params", action="store_true", help="print each model's parameter count and exit")
    parser.add_argument("--device", default="cpu", help="torch device: cpu (default) or cuda")
    parser.add_argument("--names", help="comma-separated config names to run (default: every config but smoke)")
    parser.add_argument("--train", action="store_true",
                        help="train --model's whole recipe and print its test metric and wall time instead")
    args = parser.parse_args()
    torch.set_num_threads(max(1, args.threads))

    if args.params:
        for name in [args.model] if args.model else seed_models(args.configs):
            config = load_config(args.configs, name)
            torch.manual_seed(0)
            kind, model = build_model(config)
            print(json.dumps({"model": name, "kind": kind, "params": sum(p.numel() for p in model.parameters())}), flush=True)
        return 0

    if args.train:
        if not args.model:
            parser.error("--train needs --model")
        print(json.dumps(train_one(args.model, args)), flush=True)
        return 0

    if args.model:
        print(json.dumps(bench_one(args.model, args)), flush=True)
        return 0

    names = args.names.split(",") if args.names else seed_models(args.configs)
    failed = 0
    if args.device != "cpu":
        # On a GPU the peak RSS says little and each child would pay torch's import and CUDA's
        # start again (several seconds): one process runs every model, a failure is one JSON line.
        for name in names:
            try:
                print(json.dumps(bench_one(name, args)), flush=True)
            except Exception as e:  # noqa: BLE001 - recorded, and the next model runs
                print(json.dumps({"model": name, "device": f"pytorch-{args.device}", "error": repr(e)}), flush=True)
                failed += 1
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        return 1 if failed else 0

    # A child per model: its peak RSS is that model's alone.
    for name in names:
        cmd = [sys.executable, __file__, "--model", name, "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--threads", str(args.threads), "--configs", str(args.configs), "--device", args.device]
        if args.data is not None:
            cmd += ["--data", str(args.data)]
        if subprocess.run(cmd).returncode != 0:
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
