#!/usr/bin/env python3
"""The speedrun recipe of configs/speedrun.toml in PyTorch, on CPU, for scripts/speedrun.sh.

conv F 5x5 (valid, F = --filters, 16 as in the config) → ReLU → max pool 2 → conv 32 3x3 (valid) → ReLU → max pool 2 → dense 256 →
ReLU → dense 10; Keras-like init (Glorot-uniform kernels, zero biases); Adam (eps 1e-8) with
OneCycleLR (max_lr 0.01, pct_start 0.25, cos), label smoothing 0.1, batch 128, one epoch over the first 98 % of the
training set shuffled (the Rust run holds out 2 % for validation and evaluates it), data
standardized in memory with the training split's mean and std. Prints one JSON line:
{"seed", "accuracy", "seconds"}, seconds from process start to the test metric.

Usage: python3 scripts/speedrun_pytorch.py --seed 0 [--threads 2] [--data data/mnist]
"""
import time

START = time.perf_counter()

import argparse
import gzip
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims :]), dtype=torch.uint8).reshape(shape)


class Net(nn.Module):
    def __init__(self, filters):
        super().__init__()
        self.conv1 = nn.Conv2d(1, filters, 5)
        self.conv2 = nn.Conv2d(filters, 32, 3)
        self.fc1 = nn.Linear(32 * 5 * 5, 256)
        self.fc2 = nn.Linear(256, 10)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "data", "mnist"))
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--filters", type=int, default=16, help="filters of the first convolution (configs/speedrun.toml: 16)")
    p.add_argument("--batch", type=int, default=128)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    x = read_idx(os.path.join(a.data, "train-images-idx3-ubyte.gz")).float().div_(255.0).unsqueeze(1)
    y = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz")).long()
    xt = read_idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz")).float().div_(255.0).unsqueeze(1)
    yt = read_idx(os.path.join(a.data, "t10k-labels-idx1-ubyte.gz")).long()
    perm = torch.randperm(len(x))
    n_train = len(x) - int(round(0.02 * len(x)))
    train_idx, val_idx = perm[:n_train], perm[n_train:]
    x_train, y_train = x[train_idx], y[train_idx]
    mean, std = x_train.mean(), x_train.std()
    x_train = (x_train - mean) / std
    x_val, y_val = (x[val_idx] - mean) / std, y[val_idx]
    xt = (xt - mean) / std

    model = Net(a.filters)
    steps = (len(x_train) + a.batch - 1) // a.batch
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, eps=1e-8)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps, pct_start=0.25)
    order = torch.randperm(len(x_train))
    model.train()
    for i in range(steps):
        idx = order[i * a.batch : (i + 1) * a.batch]
        loss = F.cross_entropy(model(x_train[idx]), y_train[idx], label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()

    model.eval()
    with torch.no_grad():
        def accuracy(xs, ys):
            correct = 0
            for i in range(0, len(xs), 500):
                correct += (model(xs[i : i + 500]).argmax(1) == ys[i : i + 500]).sum().item()
            return correct / len(xs)
        accuracy(x_val, y_val)
        acc = accuracy(xt, yt)
    print(json.dumps({"seed": a.seed, "accuracy": acc, "seconds": time.perf_counter() - START}))


if __name__ == "__main__":
    main()
