#!/usr/bin/env python3
"""Side-by-side: `dojo bench nn` and the same five workloads in PyTorch (CPU), same thread count, same run.

Each iteration: zero gradients, forward, MSE loss against a fixed random target, backward, Adam step (lr 1e-4).
The input needs no gradient on either side. Timing: warm-up, then the median of 5 repeats of enough iterations to
last --seconds. Both processes are pinned to the same core when --cpu is given (default: the last core).

Usage: .venv-anchors/bin/python bench/nn_vs_torch.py [--threads 1] [--seconds 0.3] [--dojo .build/release/dojo]
(see README "Benchmarks" for the venv.)
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

WORKLOADS = ["mlp-small", "mlp-medium", "lstm-small", "attention", "lstm-large"]


def mlp(sizes, batch):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    net = nn.Sequential(*layers)
    x, target = torch.randn(batch, sizes[0]), torch.randn(batch, sizes[-1])
    return net, lambda: F.mse_loss(net(x), target)


def lstm(inp, hidden, batch, steps):
    net = nn.LSTM(inp, hidden, batch_first=True)
    x, target = torch.randn(batch, steps, inp), torch.randn(batch, steps, hidden)
    return net, lambda: F.mse_loss(net(x)[0], target)


def attention(embed, heads, batch, tokens):
    net = nn.MultiheadAttention(embed, heads, batch_first=True)
    x, target = torch.randn(batch, tokens, embed), torch.randn(batch, tokens, embed)
    mask = torch.zeros(batch, tokens, dtype=torch.bool)
    for b in range(batch):
        pad = b % 4
        if pad:
            mask[b, tokens - pad:] = True
    # need_weights=True (the default): Dojo also returns the head-averaged attention weights.
    return net, lambda: F.mse_loss(net(x, x, x, key_padding_mask=mask)[0], target)


def build(name):
    return {
        "mlp-small": lambda: mlp([4, 64, 64, 2], 64),
        "mlp-medium": lambda: mlp([128, 256, 256, 5], 256),
        "lstm-small": lambda: lstm(64, 128, 16, 32),
        "attention": lambda: attention(64, 4, 64, 16),
        "lstm-large": lambda: lstm(256, 512, 64, 64),
    }[name]()


def measure_torch(name, seconds, repeats=5):
    net, loss_fn = build(name)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)

    def iterate():
        opt.zero_grad()
        loss_fn().backward()
        opt.step()

    iterations = 1
    while True:
        start = time.perf_counter()
        for _ in range(iterations):
            iterate()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 4 or iterations >= 1 << 20:
            iterations = max(1, int(iterations * seconds / max(elapsed, 1e-9)))
            break
        iterations *= 4
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iterations):
            iterate()
        times.append((time.perf_counter() - start) / iterations)
    return sorted(times)[repeats // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=0.3)
    parser.add_argument("--dojo", default=".build/release/dojo")
    parser.add_argument("--cpu", type=int, default=os.cpu_count() - 1, help="core to pin both sides to (-1: none)")
    parser.add_argument("--only", default=",".join(WORKLOADS))
    parser.add_argument("--native-blas", action="store_true",
                        help="run dojo without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE, letting OpenBLAS pick the CPU's own "
                             "kernel (some machines force an older kernel through them; PyTorch ignores both)")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]

    if not os.path.exists(args.dojo):
        print("building dojo (release)...", file=sys.stderr)
        subprocess.run(["swift", "build", "-c", "release", "--product", "dojo"], check=True)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
    if args.native_blas:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    command = [args.dojo, "bench", "nn", "--json", "--threads", str(args.threads), "--seconds", str(args.seconds),
               "--only", ",".join(names)]
    if args.cpu >= 0 and args.threads == 1 and shutil.which("taskset"):
        command = ["taskset", "-c", str(args.cpu)] + command
        os.sched_setaffinity(0, {args.cpu})
    dojo = json.loads(subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout)

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    ceiling = dojo["sgemmCeilingGFLOPS"]
    print(f"Neural benchmark, {args.threads} thread(s), torch {torch.__version__}, OpenBLAS core {dojo['core']}, "
          f"sgemm ceiling {ceiling:.1f} GFLOP/s (measured by dojo in this run)")
    header = f"{'workload':<12}{'dojo ms':>10}{'torch ms':>10}{'speed-up':>10}{'dojo GF/s':>11}{'torch GF/s':>11}" \
             f"{'dojo %ceil':>11}{'torch %ceil':>12}"
    print(header)
    print("-" * len(header))
    for result in dojo["workloads"]:
        name = result["name"]
        torch_seconds = measure_torch(name, args.seconds)
        dojo_ms = result["millisecondsPerIteration"]
        flops = result["flopsPerIteration"]
        torch_gf = flops / torch_seconds / 1e9
        print(f"{name:<12}{dojo_ms:>10.4f}{torch_seconds * 1e3:>10.4f}{torch_seconds * 1e3 / dojo_ms:>9.2f}x"
              f"{result['gflops']:>11.1f}{torch_gf:>11.1f}{100 * result['gflops'] / ceiling:>10.0f}%"
              f"{100 * torch_gf / ceiling:>11.0f}%")
    print("speed-up = torch time / dojo time (higher is better for Dojo); GF/s counts matrix-product work only.")


if __name__ == "__main__":
    main()
