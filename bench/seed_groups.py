#!/usr/bin/env python3
"""Wall-clock of `dojo train --seeds` against the same runs one after the other (standard library only).

Trains seeds 0..N-1 of a preset twice: as N sequential `dojo train --seed S` processes, then as one
`dojo train --seeds 0-(N-1)` group (one process per seed, --jobs at a time, one thread each). Prints both times and
their ratio, and checks that every seed's final evaluation is the same both ways (the runs are bitwise the same).

Usage: python3 bench/seed_groups.py [--preset cartpole-dqn] [--seeds 4] [--steps N] [--dojo .build/release/dojo]
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time


def final_evaluation(run):
    rows = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl")) if line.strip()]
    return [row for row in rows if "eval_return_mean" in row][-1]["eval_return_mean"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cartpole-dqn")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--dojo", default=".build/release/dojo")
    args = parser.parse_args()
    budget = ["--steps", str(args.steps)] if args.steps else []
    folder = tempfile.mkdtemp(prefix="dojo-seed-groups-")
    try:
        start = time.perf_counter()
        for seed in range(args.seeds):
            subprocess.run([args.dojo, "train", "--preset", args.preset, *budget, "--seed", str(seed), "--threads", "1",
                            "--out", os.path.join(folder, f"alone{seed}")], check=True, stdout=subprocess.DEVNULL)
        sequential = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run([args.dojo, "train", "--preset", args.preset, *budget, "--seeds", f"0-{args.seeds - 1}",
                        "--jobs", str(args.jobs), "--out", os.path.join(folder, "group")], check=True, stdout=subprocess.DEVNULL)
        grouped = time.perf_counter() - start
        same = all(final_evaluation(os.path.join(folder, f"alone{seed}")) == final_evaluation(os.path.join(folder, "group", f"seed{seed}"))
                   for seed in range(args.seeds))
        print(f"| {args.preset} | {args.seeds} seeds | sequential {sequential:.1f} s | --seeds --jobs {args.jobs} {grouped:.1f} s "
              f"| {sequential / grouped:.2f}x | final evaluations equal: {same} |")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
