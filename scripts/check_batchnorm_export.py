#!/usr/bin/env python3
"""Loads an exported model with batch normalization into PyTorch (strict) and compares its
eval-mode outputs with Burn's.

Reads DIR/model.safetensors (written by `export`), DIR/model.json (its sidecar: the config) and
DIR/check.json ({"shape": [n, c, h, w], "inputs": [...], "logits": [...]}: inputs already
normalized and Burn's eval-mode logits, written by the inference test
`batch_norm_export_matches_burn` when MNIST_BURN_KEEP_EXPORT=DIR). Builds the same network from
torch.nn modules under the exported names (`hidden.0.linear`, `hidden.0.bn`, `conv.0.conv`,
`conv.0.bn`, `dense.0.linear`, `output`), loads the state dict with strict=True and checks the
largest absolute difference of the logits. Exit status 0 when it is below 1e-4.

Usage: python3 scripts/check_batchnorm_export.py DIR
"""
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "I64": torch.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(body[start:end]), dtype=DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"]).clone()
    return out


def act(name):
    return {"relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "linear": lambda x: x}[name]


class Block(nn.Module):
    """Linear or Conv2d, optional BatchNorm, activation, optional max pooling."""

    def __init__(self, layer, bn, activation, pool=1, padding=None):
        super().__init__()
        if isinstance(layer, nn.Linear):
            self.linear = layer
        else:
            self.conv = layer
        if bn is not None:
            self.bn = bn
        self.activation = activation
        self.pool = pool
        self.padding = padding

    def forward(self, x):
        if hasattr(self, "linear"):
            x = self.linear(x)
        else:
            x = self.conv(x)
        if hasattr(self, "bn"):
            x = self.bn(x)
        x = act(self.activation)(x)
        if self.pool > 1:
            x = F.max_pool2d(x, self.pool)
        return x


class Mlp(nn.Module):
    def __init__(self, m, d_in):
        super().__init__()
        blocks = []
        for units in m["hidden"]:
            bn = nn.BatchNorm1d(units) if m.get("batch_norm") else None
            blocks.append(Block(nn.Linear(d_in, units), bn, m.get("activation", "relu")))
            d_in = units
        self.hidden = nn.ModuleList(blocks)
        self.output = nn.Linear(d_in, 10)

    def forward(self, x):
        x = x.flatten(1)
        for b in self.hidden:
            x = b(x)
        return self.output(x)


class Cnn(nn.Module):
    def __init__(self, m, shape):
        super().__init__()
        c, h, w = shape
        blocks = []
        for layer in m["conv"]:
            k, s = layer.get("kernel_size", 3), layer.get("stride", 1)
            same = layer.get("padding", "same") == "same"
            if same and s != 1:
                raise SystemExit("check_batchnorm_export.py: strided 'same' convolutions are not mirrored")
            conv = nn.Conv2d(c, layer["filters"], k, stride=s, padding="same" if same else 0)
            bn = nn.BatchNorm2d(layer["filters"]) if layer.get("batch_norm") else None
            pool = layer.get("pool", 1)
            blocks.append(Block(conv, bn, layer.get("activation", "relu"), pool))
            c = layer["filters"]
            h = (h if same else (h - k) // s + 1) // pool
            w = (w if same else (w - k) // s + 1) // pool
        self.conv = nn.ModuleList(blocks)
        self.pool_size = m.get("pool_size", 3)
        if self.pool_size > 1:
            if m.get("pool_padding", "valid") != "valid":
                raise SystemExit("check_batchnorm_export.py: 'same' final pooling is not mirrored")
            h, w = h // self.pool_size, w // self.pool_size
        d_in = c * h * w
        dense = []
        for units in m.get("dense", [64]):
            bn = nn.BatchNorm1d(units) if m.get("dense_batch_norm") else None
            dense.append(Block(nn.Linear(d_in, units), bn, m.get("activation", "relu")))
            d_in = units
        self.dense = nn.ModuleList(dense)
        self.output = nn.Linear(d_in, 10)

    def forward(self, x):
        for b in self.conv:
            x = b(x)
        if self.pool_size > 1:
            x = F.max_pool2d(x, self.pool_size)
        x = x.flatten(1)
        for b in self.dense:
            x = b(x)
        return self.output(x)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    d = sys.argv[1]
    sidecar = json.load(open(os.path.join(d, "model.json")))
    check = json.load(open(os.path.join(d, "check.json")))
    m = sidecar["config"]["model"]
    shape = sidecar["input_shape"]
    if m["kind"] == "mlp":
        net = Mlp(m, shape[0] * shape[1] * shape[2])
    elif m["kind"] == "cnn":
        net = Cnn(m, shape)
    else:
        raise SystemExit(f"check_batchnorm_export.py: model kind {m['kind']} is not mirrored")
    state = read_safetensors(os.path.join(d, "model.safetensors"))
    net.load_state_dict(state, strict=True)
    net.eval()
    x = torch.tensor(check["inputs"], dtype=torch.float32).reshape(check["shape"])
    expected = torch.tensor(check["logits"], dtype=torch.float32).reshape(x.shape[0], 10)
    with torch.no_grad():
        got = net(x)
    diff = (got - expected).abs().max().item()
    bns = sorted(k for k in state if k.endswith("num_batches_tracked"))
    print(json.dumps({"kind": m["kind"], "tensors": len(state), "batch_norms": len(bns),
                      "num_batches_tracked": [int(state[k]) for k in bns], "max_abs_diff": diff}))
    if diff > 1e-4:
        raise SystemExit(f"outputs differ by {diff}")


if __name__ == "__main__":
    main()
